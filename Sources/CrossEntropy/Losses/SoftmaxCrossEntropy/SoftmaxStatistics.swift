/// What the softmax of each row says besides the loss, from the same read of the logits:
/// the log-sum-exp, the predicted class, the probability of the target, the entropy, and the
/// accuracy over the batch.
///
/// For row `n` with logits `x` (classes `c`, after the soft cap if the criterion has one) and
/// label `y`, with `p = softmax(x)`:
///
/// ```
/// logSumExp[n]         = log sum_c exp(x_c)
/// predictedClass[n]    = argmax_c x_c            (the lowest index among equal maxima)
/// targetProbability[n] = p_y = exp(x_y - lse)    (NaN where y is the ignore index)
/// entropy[n]           = -sum_c p_c log p_c = lse - sum_c p_c x_c
/// accuracy             = correctCount / labeledCount   (NaN when labeledCount is 0)
/// ```
///
/// Ignored rows (label equal to ``SoftmaxCrossEntropy/ignoreIndex``) still get their
/// log-sum-exp, predicted class and entropy; their target probability is NaN and they do not
/// count towards the accuracy. A row holding a NaN logit has NaN statistics and predicts its
/// first NaN, as `torch.argmax`; a row with a +inf logit has a NaN log-sum-exp (as the loss).
///
/// The statistics do not depend on the class weights, sample weights, label smoothing or
/// reduction, and they do not change the loss or the gradient. To accumulate the accuracy over
/// many batches, add up ``correctCount`` and ``labeledCount``.
public struct SoftmaxStatistics<Scalar: BinaryFloatingPoint>: Hashable {
  /// The log-sum-exp of each row, shaped like the labels.
  public var logSumExp: ShapedArray<Scalar>
  /// The class with the largest logit in each row (the lowest index among equal maxima),
  /// shaped like the labels.
  public var predictedClass: ShapedArray<Int>
  /// The softmax probability of each row's label (NaN for ignored rows), shaped like the
  /// labels.
  public var targetProbability: ShapedArray<Scalar>
  /// The entropy of each row's softmax in nats, shaped like the labels.
  public var entropy: ShapedArray<Scalar>
  /// The number of non-ignored rows whose predicted class is their label.
  public var correctCount: Int
  /// The number of non-ignored rows.
  public var labeledCount: Int

  /// The share of non-ignored rows whose predicted class is their label: `correctCount /
  /// labeledCount`, NaN when every row is ignored.
  public var accuracy: Double {
    labeledCount == 0 ? .nan : Double(correctCount) / Double(labeledCount)
  }

  /// The statistics of rows computed by a kernel, shaped like `labels`.
  init(rows: [RowStatistics], labels: ShapedArray<Int>, ignoreIndex: Int) {
    let shape = labels.shape
    logSumExp = ShapedArray(uncheckedShape: shape, scalars: rows.map { Scalar($0.logSumExp) })
    predictedClass = ShapedArray(uncheckedShape: shape, scalars: rows.map(\.predictedClass))
    targetProbability = ShapedArray(
      uncheckedShape: shape, scalars: rows.map { Scalar($0.targetProbability) })
    entropy = ShapedArray(uncheckedShape: shape, scalars: rows.map { Scalar($0.entropy) })
    (correctCount, labeledCount) = rows.withUnsafeBufferPointer { rows in
      labels.withUnsafeBufferPointer { labels in
        RowStatistics.accuracyCounts(rows, labels: labels, ignoreIndex: ignoreIndex)
      }
    }
  }
}

extension RowStatistics {
  /// The number of non-ignored rows whose predicted class is their label, and the number of
  /// non-ignored rows.
  static func accuracyCounts(
    _ rows: UnsafeBufferPointer<RowStatistics>, labels: UnsafeBufferPointer<Int>,
    ignoreIndex: Int
  ) -> (correctCount: Int, labeledCount: Int) {
    var correct = 0
    var labeled = 0
    for (row, label) in zip(rows, labels) where label != ignoreIndex {
      labeled += 1
      if row.predictedClass == label { correct += 1 }
    }
    return (correct, labeled)
  }
}

/// The caller buffers of a statistics buffer form, each optional (nil: not written), each of
/// one element per row: checked together before anything is written, written together after
/// the kernel.
struct StatisticsBuffers<Scalar: BinaryFloatingPoint> {
  var logSumExp: UnsafeMutableBufferPointer<Scalar>?
  var predictedClass: UnsafeMutableBufferPointer<Int>?
  var targetProbability: UnsafeMutableBufferPointer<Scalar>?
  var entropy: UnsafeMutableBufferPointer<Scalar>?

  /// Checks that every buffer given holds `rows` elements, one per label.
  func check(rows: Int) throws(LossError) {
    let counts = [
      ("log-sum-exp buffer", logSumExp?.count), ("predicted class buffer", predictedClass?.count),
      ("target probability buffer", targetProbability?.count), ("entropy buffer", entropy?.count),
    ]
    for case (let name, let count?) in counts where count != rows {
      throw .shapeMismatch(
        "\(name) holds \(describe(elementCount: count)) but the labels need \(rows), one per"
          + " row")
    }
  }

  /// Runs `body` with room for the statistics of `rows` rows, then writes them into the
  /// buffers and returns the accuracy's counts. Nothing is written if `body` throws.
  func gather(
    rows: Int, labels: UnsafeBufferPointer<Int>, ignoreIndex: Int,
    _ body: (UnsafeMutablePointer<RowStatistics>?) throws(LossError) -> Void
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    var statistics = [RowStatistics](repeating: .zero, count: rows)
    try statistics.withUnsafeMutableBufferPointer { buffer throws(LossError) in
      try body(buffer.baseAddress)
    }
    for (r, row) in statistics.enumerated() {
      logSumExp?[r] = Scalar(row.logSumExp)
      predictedClass?[r] = row.predictedClass
      targetProbability?[r] = Scalar(row.targetProbability)
      entropy?[r] = Scalar(row.entropy)
    }
    return statistics.withUnsafeBufferPointer { rows in
      RowStatistics.accuracyCounts(rows, labels: labels, ignoreIndex: ignoreIndex)
    }
  }
}

extension SoftmaxStatistics: Sendable where Scalar: Sendable {}

extension SoftmaxCrossEntropy {
  /// The loss of logits against class-index labels, and the statistics of each row's softmax
  /// (log-sum-exp, predicted class, target probability, entropy, accuracy) from the same pass.
  ///
  /// An evaluation loop:
  ///
  /// ```swift
  /// let (loss, statistics) = try criterion.lossAndStatistics(logits: logits, labels: labels)
  /// print(loss.scalars[0], statistics.accuracy, statistics.predictedClass.scalars)
  /// ```
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`; see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``.
  /// - Returns: The loss, the same bits as ``loss(logits:labels:classWeights:sampleWeights:)``,
  ///   and the statistics (see ``SoftmaxStatistics``).
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:sampleWeights:)``.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory for the statistics.
  public func lossAndStatistics<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, statistics: SoftmaxStatistics<Scalar>) {
    let result = try evaluateWithStatistics(
      logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: nil, wantsGradient: false)
    return (result.loss, result.statistics)
  }

  /// The loss of logits against class-index labels, its gradient with respect to the logits,
  /// and the statistics of each row's softmax, from the same pass: a training step that
  /// reports its accuracy.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
  ///   - upstreamGradient: Optional upstream gradient shaped like the loss; see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Returns: The loss and gradient, the same bits as
  ///   ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``, and
  ///   the statistics (see ``SoftmaxStatistics``).
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory besides the gradient.
  public func lossGradientAndStatistics<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>, statistics: SoftmaxStatistics<Scalar>
  ) {
    let result = try evaluateWithStatistics(
      logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!, result.statistics)
  }

  private func evaluateWithStatistics<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]?,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?,
    statistics: SoftmaxStatistics<Scalar>
  ) {
    let layout = try ClassLayout(shape: logits.shape, classAxis: classAxis)
    try layout.checkLabels(shape: labels.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: layout.labelShape)
    var rows = [RowStatistics](repeating: .zero, count: layout.rows)
    let outputs = try Kernels.outputs(
      lossShape: reduction == .none ? layout.labelShape : [],
      gradientShape: wantsGradient ? layout.shape : nil
    ) { (loss: UnsafeMutableBufferPointer<Scalar>, gradient) throws(LossError) in
      try labels.withUnsafeBufferPointer { labelBuffer throws(LossError) in
        try withOptionalBuffer(classWeights) { weights throws(LossError) in
          try withOptionalBuffer(sampleWeights?.scalars) { samples throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { upstream throws(LossError) in
              try logits.withUnsafeBufferPointer { logitBuffer throws(LossError) in
                try rows.withUnsafeMutableBufferPointer { rowBuffer throws(LossError) in
                  try compute(
                    logits: startAddress(logitBuffer.baseAddress), layout: layout,
                    target: .labels(labelBuffer), classWeights: weights, sampleWeights: samples,
                    upstreamGradient: upstream, loss: loss, gradient: gradient?.baseAddress,
                    statistics: rowBuffer.baseAddress)
                }
              }
            }
          }
        }
      }
    }
    return (
      outputs.loss, outputs.gradient,
      SoftmaxStatistics(rows: rows, labels: labels, ignoreIndex: ignoreIndex)
    )
  }
}
