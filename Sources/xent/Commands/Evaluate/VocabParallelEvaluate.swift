#if MPI
  import CrossEntropy
  import CrossEntropyDistributed
  import NumPyIO

  /// `xent evaluate --vocab-parallel` under `mpirun -np P`: every rank reads the same files,
  /// keeps its contiguous slice of the classes (``VocabularyPartition``: `V / P` classes each,
  /// the first `V % P` ranks one more), and rank 0 writes the loss and the gathered gradients
  /// in the single-process format.
  extension Evaluate {
    /// The flags that `--vocab-parallel` takes besides the files.
    private static let vocabParallelOptions: Set<EvaluateOption> = [
      .reduction, .classAxis, .weight, .ignoreIndex, .labelSmoothing, .zLossScale,
      .logitSoftCap, .normalizer, .allIgnored, .sampleWeight, .upstreamGradient, .classifier, .bias,
      .classifierGradient,
      .biasGradient,
    ]

    /// Runs the vocabulary-parallel evaluation; the text for standard output on rank 0, empty
    /// on the others.
    func executeVocabParallel() throws(CLIError) -> String {
      let world: MPICommunicator
      do {
        world = try MPICommunicator.world()
      } catch {
        throw CLIError("--vocab-parallel: \(error.message)")
      }
      defer { MPICommunicator.finalize() }
      // Every rank reads the same files, so reading errors are alike; the flag agreed on
      // before any arithmetic keeps a rank that failed alone from leaving the others waiting.
      let prepared: Result<VocabParallelJob, CLIError>
      do throws(CLIError) {
        prepared = .success(try prepareVocabParallel())
      } catch {
        prepared = .failure(error)
      }
      var failed = [prepared.isFailure ? 1.0 : 0]
      do {
        try failed.withUnsafeMutableBufferPointer { b throws(CommunicatorError) in
          try world.allReduce(b, .max)
        }
      } catch {
        throw CLIError("--vocab-parallel: \(error.message)")
      }
      let job = try prepared.get()
      guard failed[0] == 0 else {
        throw CLIError("--vocab-parallel: another rank could not read its input")
      }
      let outputs: EncodedOutputs
      switch job.pieces.inputArray.dtype {
      case .float32: outputs = try job.run(as: Float.self, world: world)
      case .float64: outputs = try job.run(as: Double.self, world: world)
      default:
        throw CLIError(
          "--vocab-parallel: --input \(input) has dtype \(job.pieces.inputArray.dtype.rawValue);"
            + " expected float32 or float64")
      }
      guard world.rank == 0 else { return "" }
      var files: [(flag: String, path: String, array: NumPyArray)] = []
      if let output { files.append(("--output", output, outputs.loss)) }
      if let gradient, let array = outputs.gradient {
        files.append(("--gradient", gradient, array))
      }
      if let classifierGradient, let array = outputs.classifierGradient {
        files.append(("--classifier-gradient", classifierGradient, array))
      }
      if let biasGradient, let array = outputs.biasGradient {
        files.append(("--bias-gradient", biasGradient, array))
      }
      try writeAtomically(files)
      return outputs.summary
    }

    private func prepareVocabParallel() throws(CLIError) -> VocabParallelJob {
      guard loss == "cross-entropy" || loss == "linear-cross-entropy" else {
        throw CLIError(
          "--vocab-parallel takes --loss cross-entropy or linear-cross-entropy, not '\(loss)'")
      }
      let refused = givenOptions.filter { !Self.vocabParallelOptions.contains($0) }
      if let first = refused.first {
        throw CLIError("--vocab-parallel does not take \(first.rawValue)")
      }
      let inputArray = try read("--input", input)!.array
      let pieces = EvaluationPieces(
        lossName: loss, inputArray: inputArray, inputPath: input,
        target: try read("--target", target)!, options: try options(),
        wantsGradient: gradient != nil)
      let rank = inputArray.shape.count
      let axis = pieces.options.classAxis
      if loss == "cross-entropy" && axis != -1 && axis != rank - 1 {
        throw CLIError(
          "--vocab-parallel shards the last axis; --class-axis \(axis) is not the last of"
            + " --input's \(rank) axes")
      }
      return VocabParallelJob(pieces: pieces, linear: loss == "linear-cross-entropy")
    }
  }

  extension Result {
    fileprivate var isFailure: Bool {
      if case .failure = self { return true }
      return false
    }
  }

  /// One rank's share of a vocabulary-parallel evaluation.
  struct VocabParallelJob {
    var pieces: EvaluationPieces
    var linear: Bool

    func run<Scalar: EvaluationScalar & DistributedScalar>(
      as type: Scalar.Type, world: any Communicator
    ) throws(CLIError) -> EncodedOutputs {
      let input: ShapedArray<Scalar>
      do {
        input = try ShapedArray(
          shape: pieces.inputArray.shape, scalars: pieces.inputArray.scalars(as: Scalar.self))
      } catch {
        throw CLIError("--input \(pieces.inputPath): \(error)")
      }
      let request = EvaluationRequest(
        lossName: pieces.lossName, input: input, inputPath: pieces.inputPath,
        target: pieces.target, options: pieces.options, wantsGradient: pieces.wantsGradient)
      let options = pieces.options
      let criterion = VocabParallelCrossEntropy(
        reduction: try request.reduction(), ignoreIndex: options.ignoreIndex,
        labelSmoothing: options.labelSmoothing, zLossScale: options.zLossScale,
        logitSoftCap: options.logitSoftCap, normalizer: options.normalizer,
        allIgnored: options.allIgnored)
      let labels = try request.classLabels()
      let weights = try request.classWeights()
      let classes = linear ? (options.classifier?.array.shape.first ?? 0) : (input.shape.last ?? 0)
      if let weights, weights.count != classes {
        throw CLIError(
          "--weight \(options.weight?.path ?? ""): \(weights.count) class weights; expected \(classes)"
        )
      }
      do {
        if linear {
          return try runLinear(request, criterion, labels: labels, weights: weights, world: world)
        }
        let partition = VocabularyPartition(classes: classes, ranks: world.size)
        let slice = partition.range(of: world.rank)
        let local = try ShapedArray(
          shape: Array(input.shape.dropLast()) + [slice.count],
          scalars: columns(input.scalars, width: classes, slice))
        let result = try criterion.lossAndGradient(
          logits: local, labels: labels, classes: classes,
          classWeights: weights.map { Array($0[slice]) },
          sampleWeights: try request.sampleWeights(),
          upstreamGradient: try request.upstreamGradient(), vocabulary: world)
        let gradient =
          pieces.wantsGradient
          ? try gatherColumns(
            result.gradient.scalars, shape: input.shape, partition: partition, world: world)
          : nil
        return try encode(result.loss, gradient: gradient)
      } catch let error as DistributedError {
        throw CLIError("\(pieces.lossName): \(error.description)")
      } catch let error as CommunicatorError {
        throw CLIError("--vocab-parallel: \(error.message)")
      } catch let error as LossError {
        throw CLIError("\(pieces.lossName): \(error.message)")
      } catch {
        throw CLIError("\(pieces.lossName): \(error)")
      }
    }

    private func runLinear<Scalar: EvaluationScalar & DistributedScalar>(
      _ request: EvaluationRequest<Scalar>, _ criterion: VocabParallelCrossEntropy,
      labels: ShapedArray<Int>, weights: [Scalar]?, world: any Communicator
    ) throws -> EncodedOutputs {
      let options = request.options
      guard let classifier = options.classifier else {
        throw CLIError(
          "linear-cross-entropy needs --classifier W.npy, the classifier weight (V x D)")
      }
      let weight = try request.floats(classifier, requireSameDType: true)
      let bias = try options.bias.map { b throws(CLIError) in
        try request.floats(b, requireSameDType: true)
      }
      guard weight.shape.count == 2 else {
        throw CLIError("--classifier \(classifier.path): shape \(weight.shape); expected [V, D]")
      }
      let (classes, size) = (weight.shape[0], weight.shape[1])
      if let bias, bias.shape != [classes] {
        throw CLIError("--bias \(options.bias!.path): shape \(bias.shape); expected [\(classes)]")
      }
      let partition = VocabularyPartition(classes: classes, ranks: world.size)
      let slice = partition.range(of: world.rank)
      var head = VocabParallelLinearCrossEntropy()
      head.criterion = criterion
      let result = try head.lossAndGradient(
        hidden: request.input,
        weight: ShapedArray(
          shape: [slice.count, size],
          scalars: Array(weight.scalars[(slice.lowerBound * size)..<(slice.upperBound * size)])),
        bias: bias.map { b in
          try! ShapedArray(shape: [slice.count], scalars: Array(b.scalars[slice]))
        },
        labels: labels, classes: classes,
        classWeights: weights.map { Array($0[slice]) },
        sampleWeights: try request.sampleWeights(),
        upstreamGradient: try request.upstreamGradient(), vocabulary: world)
      var outputs = try encode(
        result.loss, gradient: pieces.wantsGradient ? result.hiddenGradient : nil)
      if options.wantsClassifierGradient {
        let all = try world.allGatherConcatenated(
          result.weightGradient.scalars, counts: partition.counts.map { $0 * size })
        outputs.classifierGradient = try NumPyArray(shape: [classes, size], scalars: all)
      }
      if options.wantsBiasGradient {
        let all = try world.allGatherConcatenated(
          result.biasGradient.scalars, counts: partition.counts)
        outputs.biasGradient = try NumPyArray(shape: [classes], scalars: all)
      }
      return outputs
    }

    private func encode<Scalar: EvaluationScalar>(
      _ loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?
    ) throws -> EncodedOutputs {
      EncodedOutputs(
        loss: try NumPyArray(shape: loss.shape, scalars: loss.scalars),
        gradient: try gradient.map { g in try NumPyArray(shape: g.shape, scalars: g.scalars) },
        summary: lossSummary(loss.scalars, shape: loss.shape))
    }
  }

  /// Columns `slice` of every row of `values`, rows of `width`.
  private func columns<Scalar>(_ values: [Scalar], width: Int, _ slice: Range<Int>) -> [Scalar] {
    guard width > 0 else { return [] }
    let rows = values.count / width
    var result: [Scalar] = []
    result.reserveCapacity(rows * slice.count)
    for n in 0..<rows {
      result += values[(n * width + slice.lowerBound)..<(n * width + slice.upperBound)]
    }
    return result
  }

  /// The whole `shape` array from every rank's columns (one all-gather).
  private func gatherColumns<Scalar: CommunicatorScalar & BinaryFloatingPoint>(
    _ local: [Scalar], shape: [Int], partition: VocabularyPartition, world: any Communicator
  ) throws -> ShapedArray<Scalar> {
    let classes = partition.classes
    let rows = classes == 0 ? 0 : shape.reduce(1, *) / classes
    let blocks = try world.allGatherConcatenated(local, counts: partition.counts.map { $0 * rows })
    var full = [Scalar](repeating: 0, count: rows * classes)
    var offset = 0
    for r in 0..<partition.ranks {
      let slice = partition.range(of: r)
      for n in 0..<rows {
        for (j, c) in slice.enumerated() {
          full[n * classes + c] = blocks[offset + n * slice.count + j]
        }
      }
      offset += rows * slice.count
    }
    return try ShapedArray(shape: shape, scalars: full)
  }

  extension Communicator {
    /// Every rank's `local` values, `counts[r]` from rank `r`, concatenated in rank order.
    fileprivate func allGatherConcatenated<Scalar: CommunicatorScalar>(
      _ local: [Scalar], counts: [Int]
    ) throws(CommunicatorError) -> [Scalar] {
      var result = [Scalar](repeating: .zero, count: counts.reduce(0, +))
      try local.withUnsafeBufferPointer { l throws(CommunicatorError) in
        try result.withUnsafeMutableBufferPointer { r throws(CommunicatorError) in
          try allGather(l, counts: counts, into: r)
        }
      }
      return result
    }
  }
#endif
