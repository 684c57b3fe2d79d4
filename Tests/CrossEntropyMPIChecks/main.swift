// The distributed losses over MPI, run under `mpirun -np P` (P = 1 to 4 in CI): every rank
// builds the same seeded problems, computes the single-process reference itself, and checks its
// own slice of the vocabulary-parallel result (and of 2-D grids, and of a bad input on the last
// rank), and of the linear head, streamed and in one pass. Exits 0 on every rank when every check
// passes on every rank.
//
// `CrossEntropyMPIChecks compare ACTUAL.npy EXPECTED.npy TOLERANCE` (any build, no MPI): exits 0
// when both files have one shape and dtype and agree within TOLERANCE relative plus TOLERANCE
// times the largest magnitude of EXPECTED, for .ci/run's checks of `xent evaluate
// --vocab-parallel` against the golden files.
import Foundation
import NumPyIO

if CommandLine.arguments.count == 5 && CommandLine.arguments[1] == "compare" {
  let arguments = CommandLine.arguments
  do {
    let actual = try NumPyArray(contentsOf: arguments[2])
    let expected = try NumPyArray(contentsOf: arguments[3])
    let tolerance = Double(arguments[4]) ?? 0
    let a =
      actual.dtype == .float32
      ? try actual.scalars(as: Float.self).map(Double.init) : try actual.scalars(as: Double.self)
    let e =
      expected.dtype == .float32
      ? try expected.scalars(as: Float.self).map(Double.init)
      : try expected.scalars(as: Double.self)
    let scale = e.reduce(0.0) { max($0, abs($1)) }
    let bad = zip(a, e).filter { abs($0 - $1) > tolerance * (abs($1) + scale) }
    guard actual.shape == expected.shape, actual.dtype == expected.dtype, bad.isEmpty else {
      print(
        "compare: \(arguments[2]) differs from \(arguments[3]): shapes \(actual.shape) \(expected.shape), dtypes \(actual.dtype) \(expected.dtype), \(bad.count) values apart, first \(bad.first.map { "\($0)" } ?? "-")"
      )
      exit(1)
    }
    exit(0)
  } catch {
    print("compare: \(error)")
    exit(1)
  }
}

#if MPI
  import CrossEntropy
  import CrossEntropyDistributed

  /// SplitMix64, the same stream on every rank.
  struct Generator {
    var state: UInt64
    mutating func next() -> Double {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
  }

  func close(_ a: [Double], _ b: [Double], relative: Double, absolute: Double) -> Bool {
    a.count == b.count
      && zip(a, b).allSatisfy { x, y in
        (x.isNaN && y.isNaN) || abs(x - y) <= relative * abs(y) + absolute
      }
  }

  /// One problem on a `vocabularyRanks x dataRanks` grid of `world`.
  func check<Scalar: DistributedScalar>(
    _: Scalar.Type, world: any Communicator, criterion: VocabParallelCrossEntropy, rows: Int,
    classes: Int, weighted: Bool, vocabularyRanks: Int, seed: UInt64, tolerance: Double,
    failures: inout [String]
  ) throws {
    let dataRanks = world.size / vocabularyRanks
    var generator = Generator(state: seed)
    let logits = (0..<(rows * classes)).map { _ in Scalar(6 * generator.next() - 3) }
    let labels = (0..<rows).map { n in n % 4 == 3 ? -100 : Int(generator.next() * Double(classes)) }
    let weights = weighted ? (0..<classes).map { _ in Scalar(0.2 + 1.8 * generator.next()) } : nil
    let reference = try criterion.singleProcess.lossAndGradient(
      logits: ShapedArray(shape: [rows, classes], scalars: logits), labels: ShapedArray(labels),
      classWeights: weights)
    let v = world.rank % vocabularyRanks
    let d = world.rank / vocabularyRanks
    let vocabulary = try world.split(colour: d, key: v)
    let data = try world.split(colour: v, key: d)
    let columns = VocabularyPartition(classes: classes, ranks: vocabularyRanks).range(of: v)
    let rowRange = VocabularyPartition(classes: rows, ranks: dataRanks).range(of: d)
    let local = rowRange.flatMap { n in columns.map { logits[n * classes + $0] } }
    let result = try criterion.lossAndGradient(
      logits: ShapedArray(shape: [rowRange.count, columns.count], scalars: local),
      labels: ShapedArray(Array(labels[rowRange])), classes: classes,
      classWeights: weights.map { Array($0[columns]) }, vocabulary: vocabulary,
      data: dataRanks > 1 ? data : nil)
    let expectedLoss =
      criterion.reduction == .none
      ? Array(reference.loss.scalars[rowRange]) : reference.loss.scalars
    let expectedGradient = rowRange.flatMap { n in
      columns.map { reference.gradient.scalars[n * classes + $0] }
    }
    let scale = reference.gradient.scalars.reduce(0.0) { max($0, abs(Double($1))) }
    if !close(
      result.loss.scalars.map(Double.init), expectedLoss.map(Double.init), relative: tolerance,
      absolute: tolerance)
      || !close(
        result.gradient.scalars.map(Double.init), expectedGradient.map(Double.init),
        relative: tolerance, absolute: tolerance * scale)
    {
      failures.append(
        "rank \(world.rank): \(Scalar.self) \(vocabularyRanks)x\(dataRanks) V=\(classes)"
          + " weighted=\(weighted) \(criterion)")
    }
  }

  /// The linear head on a `vocabularyRanks x dataRanks` grid of `world`, streamed when
  /// `head.scratchLimit` is small, with sample weights and an upstream gradient when `scaled`:
  /// the loss, each rank's rows of dH, and its slices of dW and db (summed over the data group)
  /// against the single-process LinearCrossEntropy.
  func checkHead<Scalar: DistributedScalar>(
    _: Scalar.Type, world: any Communicator, head: VocabParallelLinearCrossEntropy, rows: Int,
    size: Int, classes: Int, weighted: Bool, scaled: Bool, vocabularyRanks: Int, seed: UInt64,
    tolerance: Double, failures: inout [String]
  ) throws {
    let dataRanks = world.size / vocabularyRanks
    let reduction = head.criterion.reduction
    var generator = Generator(state: seed)
    func values(_ count: Int, _ scale: Double) -> [Scalar] {
      (0..<count).map { _ in Scalar(scale * (2 * generator.next() - 1)) }
    }
    let hidden = values(rows * size, 1.5)
    let weight = values(classes * size, 1)
    let bias = values(classes, 1)
    let labels = (0..<rows).map { n in n % 4 == 3 ? -100 : Int(generator.next() * Double(classes)) }
    let weights = weighted ? (0..<classes).map { _ in Scalar(0.2 + 1.8 * generator.next()) } : nil
    let samples = scaled ? (0..<rows).map { _ in Scalar(0.1 + 1.9 * generator.next()) } : nil
    let upstream = scaled ? values(reduction == .none ? rows : 1, 2) : nil
    let reference = try head.singleProcess.lossAndGradient(
      hidden: ShapedArray(shape: [rows, size], scalars: hidden),
      weight: ShapedArray(shape: [classes, size], scalars: weight),
      bias: ShapedArray(shape: [classes], scalars: bias), labels: ShapedArray(labels),
      classWeights: weights, sampleWeights: samples.map { ShapedArray($0) },
      upstreamGradient: try upstream.map {
        try ShapedArray(shape: reduction == .none ? [rows] : [], scalars: $0)
      })
    let v = world.rank % vocabularyRanks
    let d = world.rank / vocabularyRanks
    let vocabulary = try world.split(colour: d, key: v)
    let data = try world.split(colour: v, key: d)
    let slice = VocabularyPartition(classes: classes, ranks: vocabularyRanks).range(of: v)
    let rowRange = VocabularyPartition(classes: rows, ranks: dataRanks).range(of: d)
    let result = try head.lossAndGradient(
      hidden: ShapedArray(
        shape: [rowRange.count, size],
        scalars: Array(hidden[(rowRange.lowerBound * size)..<(rowRange.upperBound * size)])),
      weight: ShapedArray(
        shape: [slice.count, size],
        scalars: Array(weight[(slice.lowerBound * size)..<(slice.upperBound * size)])),
      bias: ShapedArray(shape: [slice.count], scalars: Array(bias[slice])),
      labels: ShapedArray(Array(labels[rowRange])), classes: classes,
      classWeights: weights.map { Array($0[slice]) },
      sampleWeights: samples.map { ShapedArray(Array($0[rowRange])) },
      upstreamGradient: try upstream.map {
        try ShapedArray(
          shape: reduction == .none ? [rowRange.count] : [],
          scalars: reduction == .none ? Array($0[rowRange]) : $0)
      },
      vocabulary: vocabulary, data: dataRanks > 1 ? data : nil)
    // dW and db of the whole batch: summed over the data group.
    var weightGradient = result.weightGradient.scalars
    var biasGradient = result.biasGradient.scalars
    if dataRanks > 1 {
      try weightGradient.withUnsafeMutableBufferPointer { try data.allReduce($0, .sum) }
      try biasGradient.withUnsafeMutableBufferPointer { try data.allReduce($0, .sum) }
    }
    let r = reference
    let scale = { (x: [Scalar]) in max(1, x.reduce(0.0) { max($0, abs(Double($1))) }) }
    let checks: [([Scalar], [Scalar], Double)] = [
      (
        result.loss.scalars, reduction == .none ? Array(r.loss.scalars[rowRange]) : r.loss.scalars,
        1
      ),
      (
        result.hiddenGradient.scalars,
        Array(
          r.hiddenGradient.scalars[(rowRange.lowerBound * size)..<(rowRange.upperBound * size)]),
        scale(r.hiddenGradient.scalars)
      ),
      (
        weightGradient,
        Array(r.weightGradient.scalars[(slice.lowerBound * size)..<(slice.upperBound * size)]),
        scale(r.weightGradient.scalars)
      ),
      (biasGradient, Array(r.biasGradient!.scalars[slice]), scale(r.biasGradient!.scalars)),
    ]
    for (actual, expected, magnitude) in checks
    where !close(
      actual.map(Double.init), expected.map(Double.init), relative: tolerance,
      absolute: tolerance * magnitude)
    {
      failures.append(
        "rank \(world.rank): head \(Scalar.self) \(vocabularyRanks)x\(dataRanks) V=\(classes)"
          + " weighted=\(weighted) scaled=\(scaled) \(head)")
      break
    }
  }

  do {
    var failures: [String] = []
    let world = try MPICommunicator.world()
    var criteria: [VocabParallelCrossEntropy] = []
    for reduction in Reduction.allCases {
      for (smoothing, zLoss, cap) in [(0.0, 0.0, nil), (0.2, 0.01, 4.0), (0.1, 0, nil)]
        as [(Double, Double, Double?)]
      {
        criteria.append(
          VocabParallelCrossEntropy(
            reduction: reduction, labelSmoothing: smoothing, zLossScale: zLoss, logitSoftCap: cap))
      }
    }
    criteria.append(VocabParallelCrossEntropy(labelSmoothing: 0.1, normalizer: 7.5))
    let grids =
      [world.size] + (world.size % 2 == 0 && world.size > 2 ? [world.size / 2] : [])
      + (world.size > 1 ? [1] : [])
    for vocabularyRanks in grids {
      for criterion in criteria {
        for weighted in [false, true] {
          for classes in [11, 3] {
            try check(
              Double.self, world: world, criterion: criterion, rows: 10, classes: classes,
              weighted: weighted, vocabularyRanks: vocabularyRanks, seed: 7, tolerance: 1e-12,
              failures: &failures)
            try check(
              Float.self, world: world, criterion: criterion, rows: 10, classes: classes,
              weighted: weighted, vocabularyRanks: vocabularyRanks, seed: 8, tolerance: 2e-5,
              failures: &failures)
          }
        }
      }
    }
    // The linear head, streamed (blocks of 16 rows and a class, chunks of 13 rows) and in one
    // pass, with every option and with sample weights and upstream gradients.
    var heads: [VocabParallelLinearCrossEntropy] = []
    for reduction in Reduction.allCases {
      heads.append(
        VocabParallelLinearCrossEntropy(
          reduction: reduction, labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 4))
      heads.append(VocabParallelLinearCrossEntropy(reduction: reduction))
    }
    heads.append(VocabParallelLinearCrossEntropy(labelSmoothing: 0.2, normalizer: 7.5))
    for vocabularyRanks in grids {
      for var head in heads {
        for (elements, weighted, scaled) in [
          (20, true, true), (16 * 11, false, true), (0, true, false),
        ] {
          for classes in [11, 3] {
            head.scratchLimit =
              elements == 0 ? LinearCrossEntropy.defaultScratchLimit : elements * 8
            try checkHead(
              Double.self, world: world, head: head, rows: 37, size: 4, classes: classes,
              weighted: weighted, scaled: scaled, vocabularyRanks: vocabularyRanks, seed: 9,
              tolerance: 1e-11, failures: &failures)
            head.scratchLimit =
              elements == 0 ? LinearCrossEntropy.defaultScratchLimit : elements * 4
            try checkHead(
              Float.self, world: world, head: head, rows: 37, size: 4, classes: classes,
              weighted: weighted, scaled: scaled, vocabularyRanks: vocabularyRanks, seed: 10,
              tolerance: 1e-4, failures: &failures)
          }
        }
      }
    }
    // A label out of range on the last rank: every rank throws that rank's error.
    let partition = VocabularyPartition(classes: 5, ranks: world.size)
    let width = partition.range(of: world.rank).count
    do {
      _ = try VocabParallelCrossEntropy().loss(
        logits: ShapedArray(
          shape: [2, width], scalars: Array(repeating: Float(0), count: 2 * width)),
        labels: ShapedArray(world.rank == world.size - 1 ? [0, 5] : [0, 1]), classes: 5,
        vocabulary: world)
      failures.append("rank \(world.rank): a bad label on another rank did not throw")
    } catch let error as DistributedError {
      let expected = "rank \(world.size - 1) of \(world.size): label 5 at row 1"
      if !error.description.hasPrefix(expected) {
        failures.append("rank \(world.rank): unexpected error \(error)")
      }
    }
    var failed = [Double(failures.count)]
    try failed.withUnsafeMutableBufferPointer { try world.allReduce($0, .sum) }
    for failure in failures.prefix(5) { print("FAIL \(failure)") }
    if world.rank == 0 {
      print(
        failed[0] == 0
          ? "MPI checks passed on \(world.size) ranks" : "MPI checks: \(Int(failed[0])) failures")
    }
    MPICommunicator.finalize()
    exit(failed[0] == 0 ? 0 : 1)
  } catch {
    print("MPI checks: \(error)")
    exit(1)
  }
#else
  print("built without the package trait MPI; build with --traits MPI")
#endif
