import CrossEntropy

/// Linear cross-entropy (the language-model head) with the classifier's rows split across
/// ranks: each rank holds `V_r` rows of the weight (and bias) and computes its slice of the
/// logits; the per-row log-sum-exp is combined as in ``VocabParallelCrossEntropy``.
///
/// Each rank holds every hidden state of its rows (`[..., D]`, the same on every rank of the
/// vocabulary group), its rows of the classifier (`[V_r, D]`, ``VocabularyPartition``) and of
/// the bias. It returns the loss, its slice of the weight and bias gradients (`dW_r = G_rᵀ · H`,
/// `db_r` the column sums of `G_r`) and the whole hidden gradient `dH = Σ_r G_r · W_r`, summed
/// over the vocabulary group with one all-reduce of `N x D` values: the one exchange that grows
/// with the hidden size.
///
/// At most ``scratchLimit`` bytes of the slice's `N x V_r` logits are alive at once. When they
/// all fit, one pass computes them, exchanges the per-row statistics and turns them into their
/// gradient. Otherwise the logits are streamed in blocks of rows (of 16 rows and part of the
/// slice's classes when 16 full rows do not fit, as ``LinearCrossEntropy``): a first pass
/// computes each block's logits `H_b · W_rᵀ + b_r` and the per-row statistics that the ranks
/// exchange, the same O(N) all-reduces as unstreamed give every row's log-sum-exp, and a second
/// pass computes each block's logits again, turns them into their gradient and adds
/// `G_b · W_r` into `dH` and `G_bᵀ · H_b` into `dW_r`. The recomputation is one more logits
/// product: 4 products of `2 N D V_r` flops instead of 3, about a third more time.
///
/// The options and semantics are ``VocabParallelCrossEntropy``'s (and ``LinearCrossEntropy``'s),
/// including the `data` communicator for a batch split across data-parallel ranks.
///
/// ```swift
/// let head = VocabParallelLinearCrossEntropy(labelSmoothing: 0.1)
/// let result = try head.lossAndGradient(
///   hidden: hidden, weight: myRows, labels: labels, classes: 128_256, vocabulary: communicator)
/// ```
public struct VocabParallelLinearCrossEntropy: Sendable, Hashable {
  /// The options of the softmax cross-entropy of the logits.
  public var criterion: VocabParallelCrossEntropy
  /// The most bytes of this rank's logits (and of their gradient, which takes their place)
  /// alive at once, > 0. Default ``LinearCrossEntropy/defaultScratchLimit`` (64 MiB). With a
  /// logit soft cap, the logits before the cap are kept beside the capped ones, so that each
  /// holds at most half.
  public var scratchLimit: Int

  /// Creates the criterion; the options are ``VocabParallelCrossEntropy``'s.
  ///
  /// - Parameters:
  ///   - scratchLimit: The most bytes of logits alive at once on this rank, > 0. Default
  ///     64 MiB.
  public init(
    reduction: Reduction = .mean, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
    zLossScale: Double = 0, logitSoftCap: Double? = nil, normalizer: Double? = nil,
    scratchLimit: Int = LinearCrossEntropy.defaultScratchLimit, allIgnored: AllIgnoredMean = .nan
  ) {
    criterion = VocabParallelCrossEntropy(
      reduction: reduction, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
      zLossScale: zLossScale, logitSoftCap: logitSoftCap, normalizer: normalizer,
      allIgnored: allIgnored)
    self.scratchLimit = scratchLimit
  }

  /// The single-process criterion with the same options.
  public var singleProcess: LinearCrossEntropy {
    LinearCrossEntropy(
      reduction: criterion.reduction, ignoreIndex: criterion.ignoreIndex,
      labelSmoothing: criterion.labelSmoothing, zLossScale: criterion.zLossScale,
      logitSoftCap: criterion.logitSoftCap, normalizer: criterion.normalizer,
      scratchLimit: scratchLimit, allIgnored: criterion.allIgnored)
  }

  /// The loss of the whole head and the gradients of this rank's part of it.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, `[..., D]`, the same on every rank of `vocabulary`.
  ///   - weight: This rank's rows of the classifier, `[V_r, D]`.
  ///   - bias: This rank's slice of the bias (`V_r` values), or `nil`.
  ///   - labels: Global class indices, shaped like `hidden` without its last axis.
  ///   - classes: The global number of classes `V`.
  ///   - classWeights: This rank's slice of the class weights, or `nil`.
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels` (the same on every
  ///     rank of `vocabulary`): each multiplies its row's loss and its part of every gradient,
  ///     and `.mean` divides by `sum s * w[y]` over the non-ignored rows, as
  ///     ``LinearCrossEntropy``.
  ///   - upstreamGradient: Optional gradient of a later computation with respect to the loss,
  ///     shaped like the loss (like `labels` for `.none`, 0-dimensional otherwise): each row's
  ///     part of every gradient is multiplied by its value, as ``LinearCrossEntropy``'s.
  ///   - vocabulary: The ranks that share these rows, each holding a slice of the classifier.
  ///   - data: The data-parallel ranks of the same slice, or `nil`.
  /// - Returns: The loss (as ``VocabParallelCrossEntropy``), the hidden gradient (whole, the
  ///   same on every rank of `vocabulary`), and this rank's weight and bias gradients.
  /// - Throws: ``DistributedError``, on every rank alike.
  /// - Complexity: O(N·D·V_r) time (a third more when the logits are streamed); at most
  ///   ``scratchLimit`` bytes of logits besides O(N) per-row statistics and the gradients.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func lossAndGradient<Scalar: DistributedScalar>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classes: Int, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil,
    vocabulary: any Communicator, data: (any Communicator)? = nil
  ) throws(DistributedError) -> (
    loss: ShapedArray<Scalar>, hiddenGradient: ShapedArray<Scalar>,
    weightGradient: ShapedArray<Scalar>, biasGradient: ShapedArray<Scalar>
  ) {
    let reduction = criterion.reduction
    var localError: LossError? = nil
    let size = hidden.shape.last ?? 0
    let rowShape = Array(hidden.shape.dropLast())
    let rows = rowShape.reduce(1, *)
    let local = weight.shape.first ?? 0
    if hidden.shape.isEmpty {
      localError = LossError(.invalidAxis, "hidden is 0-dimensional; expected [..., D]")
    } else if weight.shape.count != 2 || weight.shape[1] != size {
      localError = LossError(
        .shapeMismatch,
        "weight shape \(weight.shape) does not match hidden size \(size); expected [V_r, \(size)]")
    } else if let bias, bias.shape != [local] {
      localError = LossError(
        .shapeMismatch, "bias shape \(bias.shape) does not match \(local) rows of the weight")
    } else if labels.shape != rowShape {
      localError = LossError(
        .shapeMismatch,
        "labels shape \(labels.shape) does not match hidden shape \(hidden.shape) without its"
          + " last axis")
    } else if let sampleWeights, sampleWeights.shape != rowShape {
      localError = LossError(
        .shapeMismatch,
        "sample weights shape \(sampleWeights.shape) does not match labels shape \(rowShape)")
    } else if let upstreamGradient,
      upstreamGradient.shape != (reduction == .none ? rowShape : [])
    {
      localError = LossError(
        .shapeMismatch,
        "upstream gradient shape \(upstreamGradient.shape) does not match the loss's,"
          + " \(reduction == .none ? rowShape : [])")
    } else if scratchLimit <= 0 {
      localError = LossError(
        .invalidOption,
        "scratch limit \(scratchLimit) is invalid; expected a positive number of bytes")
    }
    let width = localError == nil ? local : 0
    var loss = [Scalar](repeating: 0, count: reduction == .none ? rows : 1)
    var hiddenGradient = [Scalar](repeating: 0, count: localError == nil ? rows * size : 0)
    var weightGradient = [Scalar](repeating: 0, count: width * size)
    var biasGradient = [Scalar](repeating: 0, count: width)
    try labels.withUnsafeBufferPointer { y throws(DistributedError) in
      try withOptional(classWeights) { cw throws(DistributedError) in
        try withOptional(sampleWeights?.scalars) { sw throws(DistributedError) in
          try withOptional(upstreamGradient?.scalars) { ug throws(DistributedError) in
            let step = try criterion.agreedStep(
              count: rows * width, shape: [rows, width], labels: y, classes: classes,
              classWeights: cw, sampleWeights: sw, upstreamGradient: ug,
              vocabulary: vocabulary, data: data, lossCount: loss.count, gradientCount: nil,
              earlierError: localError,
              extraChecks: [Agreement.Check(name: "the hidden size", value: Double(size))])
            try hidden.withUnsafeBufferPointer { h throws(DistributedError) in
              try weight.withUnsafeBufferPointer { w throws(DistributedError) in
                try withOptional(bias?.scalars) { b throws(DistributedError) in
                  try loss.withUnsafeMutableBufferPointer { l throws(DistributedError) in
                    try hiddenGradient.withUnsafeMutableBufferPointer {
                      dh throws(DistributedError) in
                      try weightGradient.withUnsafeMutableBufferPointer {
                        dw throws(DistributedError) in
                        try biasGradient.withUnsafeMutableBufferPointer {
                          db throws(DistributedError) in
                          do throws(CommunicatorError) {
                            try VocabParallelHead(
                              step: step, size: size, hidden: h, weight: w, bias: b,
                              blocks: plan(
                                rows: rows, classes: width,
                                scalarBytes: MemoryLayout<Scalar>.stride)
                            ).run(
                              vocabulary: vocabulary, data: data, loss: l, hiddenGradient: dh,
                              weightGradient: dw, biasGradient: db)
                          } catch {
                            throw .communication(error)
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return (
      try! ShapedArray(shape: reduction == .none ? rowShape : [], scalars: loss),
      try! ShapedArray(shape: hidden.shape, scalars: hiddenGradient),
      try! ShapedArray(shape: [width, size], scalars: weightGradient),
      try! ShapedArray(shape: [width], scalars: biasGradient)
    )
  }

  /// The blocks in which this rank takes its `rows x classes` logits of `scalarBytes` bytes
  /// each: all at once when they fit in ``scratchLimit`` (half of it with a soft cap), else
  /// chunks of equal numbers of full rows when at least 16 rows (or all, if fewer) fit, else
  /// blocks of that many rows and as many classes as fit (at least one logit).
  func plan(rows: Int, classes: Int, scalarBytes: Int) -> LogitBlocks {
    let buffers = criterion.logitSoftCap == nil ? 1 : 2
    let budget = max(1, scratchLimit / (scalarBytes * buffers))
    if rows == 0 || classes == 0 {
      return LogitBlocks(rows: 1, classes: 1, streamed: false)
    }
    if rows * classes <= budget {
      return LogitBlocks(rows: rows, classes: classes, streamed: false)
    }
    let minimum = max(1, min(rows, 16))
    let fitting = budget / classes
    if fitting >= minimum {
      let chunks = (rows + fitting - 1) / fitting
      return LogitBlocks(rows: (rows + chunks - 1) / chunks, classes: classes, streamed: true)
    }
    let blockRows = max(1, min(minimum, budget))
    let perBlock = max(1, budget / blockRows)
    let blocks = (classes + perBlock - 1) / perBlock
    return LogitBlocks(
      rows: blockRows, classes: (classes + blocks - 1) / blocks, streamed: true)
  }
}

/// The block size of the head's logits: `rows x classes` of the slice at a time, and whether
/// the blocks are computed twice (streamed) or once (one block holding every logit).
struct LogitBlocks: Equatable {
  var rows: Int
  var classes: Int
  var streamed: Bool
}
