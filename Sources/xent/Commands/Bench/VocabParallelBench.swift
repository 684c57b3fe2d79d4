#if MPI
  import ArgumentParser
  import CrossEntropy
  import CrossEntropyDistributed
  import Foundation

  /// `xent bench --vocab-parallel` under `mpirun -np P`: times one vocabulary-parallel step
  /// (loss and gradient) on synthetic data split over the ranks, and counts the bytes each rank
  /// hands to the collectives.
  extension Bench {
    func timeVocabParallel() throws {
      let world = try MPICommunicator.world()
      defer { MPICommunicator.finalize() }
      let counted = CountingCommunicator(world)
      let (rows, classes) = (rowCount, classCount)
      let partition = VocabularyPartition(classes: classes, ranks: world.size)
      let slice = partition.range(of: world.rank)
      var generator = SplitMix(state: 42)
      let labels = (0..<rows).map { _ in Int(generator.next() % UInt64(classes)) }
      var local = SplitMix(state: 1000 + UInt64(world.rank))
      let criterion = VocabParallelCrossEntropy(
        labelSmoothing: labelSmoothing, zLossScale: zLossScale, logitSoftCap: logitSoftCap)
      let seconds: Double
      let scalarBytes: Int
      var what = "cross-entropy"
      switch (loss, dtype) {
      case (.crossEntropy, .float32), (.crossEntropy, .float64):
        func step<Scalar: DistributedScalar>(_: Scalar.Type) throws -> Double {
          let logits = try ShapedArray(
            shape: [rows, slice.count],
            scalars: (0..<(rows * slice.count)).map { _ in Scalar(local.unit() * 8 - 4) })
          let labelArray = ShapedArray(labels)
          counted.reset()
          _ = try criterion.lossAndGradient(
            logits: logits, labels: labelArray, classes: classes, vocabulary: counted)
          return try Timing.median(options) {
            _ = try criterion.lossAndGradient(
              logits: logits, labels: labelArray, classes: classes, vocabulary: world)
          }
        }
        seconds = dtype == .float32 ? try step(Float.self) : try step(Double.self)
        scalarBytes = dtype == .float32 ? 4 : 8
      case (.linearCrossEntropy, .float32):
        what = "linear-cross-entropy"
        let size = hidden ?? 1024
        let hiddenStates = try ShapedArray(
          shape: [rows, size],
          scalars: (0..<(rows * size)).map { _ in Float(generator.unit() - 0.5) })
        let weight = try ShapedArray(
          shape: [slice.count, size],
          scalars: (0..<(slice.count * size)).map { _ in Float(local.unit() - 0.5) * 0.1 })
        var head = VocabParallelLinearCrossEntropy()
        head.criterion = criterion
        counted.reset()
        _ = try head.lossAndGradient(
          hidden: hiddenStates, weight: weight, labels: ShapedArray(labels), classes: classes,
          vocabulary: counted)
        seconds = try Timing.median(options) {
          _ = try head.lossAndGradient(
            hidden: hiddenStates, weight: weight, labels: ShapedArray(labels), classes: classes,
            vocabulary: world)
        }
        scalarBytes = 4
      default:
        throw ValidationError(
          "--vocab-parallel times --loss cross-entropy (float32, float64) or"
            + " linear-cross-entropy (float32), not \(loss.rawValue) in \(dtype.rawValue)")
      }
      var slowest = [seconds]
      try slowest.withUnsafeMutableBufferPointer { try world.allReduce($0, .max) }
      guard world.rank == 0 else { return }
      let logitsBytes = rows * classes * scalarBytes
      if options.json {
        print(
          "{\"loss\": \"\(what)\", \"vocab_parallel\": true, \"ranks\": \(world.size),"
            + " \"rows\": \(rows), \"classes\": \(classes), \"dtype\": \"\(dtype.rawValue)\","
            + " \"seconds_per_step\": \(slowest[0]), \"collectives_per_step\": \(counted.collectives),"
            + " \"bytes_per_step_per_rank\": \(counted.bytes), \"logits_bytes\": \(logitsBytes)}")
      } else {
        print(
          "\(what) --vocab-parallel, \(world.size) ranks, \(rows) rows x \(classes) classes"
            + " (\(slice.count) on rank 0), \(dtype.rawValue)")
        print(
          "time per step   \(String(format: "%.3f", slowest[0] * 1000)) ms (slowest rank's median of"
            + " \(options.repeats))")
        print(
          "communicated    \(counted.bytes) bytes per rank per step in \(counted.collectives)"
            + " collectives (the all-reduce buffers)")
        print("logits          \(logitsBytes) bytes, never moved")
      }
    }
  }

  /// SplitMix64 for the synthetic data.
  private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
  }
#endif
