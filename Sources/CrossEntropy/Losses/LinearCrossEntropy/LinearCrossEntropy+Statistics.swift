/// The statistics of the language-model head's softmax rows (log-sum-exp, predicted token,
/// probability of the target token, entropy, token accuracy), gathered from the same pass as
/// the loss, without holding the `N x V` logits: the chunked schedule's fused row kernel
/// computes them in its passes over each chunk, and the vocabulary-block schedule accumulates
/// them over its blocks in Double.
///
/// ```swift
/// let head = LinearCrossEntropy()
/// let (loss, statistics) = try head.lossAndStatistics(
///   hidden: hidden, weight: weight, labels: labels)
/// print(loss.scalars[0], statistics.accuracy)  // token accuracy
/// ```
extension LinearCrossEntropy {
  /// The loss of a linear layer's output against class-index labels, and the statistics of
  /// each row's softmax over the logits `hidden · weightᵀ + bias`, from the same pass.
  ///
  /// The statistics are ``SoftmaxCrossEntropy``'s on those logits (see ``SoftmaxStatistics``,
  /// soft-capped logits if ``logitSoftCap`` is set): ignored rows get their log-sum-exp,
  /// predicted class and entropy, a NaN target probability, and do not count towards the
  /// accuracy. They do not depend on the class weights, sample weights, label smoothing,
  /// z-loss or reduction.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
  ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
  ///   - bias: The classifier's bias, shape `[V]`, or `nil`.
  ///   - labels: Class indices, shaped like `hidden` without its last axis.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`; see
  ///     ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``.
  /// - Returns: The loss, the same bits as
  ///   ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``, and the statistics,
  ///   shaped like `labels`.
  /// - Throws: ``LossError``, as ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and O(N) for the statistics.
  public func lossAndStatistics<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, statistics: SoftmaxStatistics<Scalar>) {
    var rows = [RowStatistics](repeating: .zero, count: labels.scalars.count)
    let result = try rows.withUnsafeMutableBufferPointer { rows throws(LossError) in
      try evaluate(
        hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: nil, wantsGradient: false,
        statistics: rows.baseAddress)
    }
    return (
      result.loss, SoftmaxStatistics(rows: rows, labels: labels, ignoreIndex: ignoreIndex)
    )
  }

  /// The loss of a linear layer's output against class-index labels, its gradients with
  /// respect to the hidden states, the classifier and its bias, and the statistics of each
  /// row's softmax, from the same pass: a training step that reports its token accuracy.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
  ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
  ///   - bias: The classifier's bias, shape `[V]`, or `nil`.
  ///   - labels: Class indices, shaped like `hidden` without its last axis.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
  ///   - upstreamGradient: Optional upstream gradient shaped like the loss; see
  ///     ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Returns: The loss and gradients, the same bits as
  ///   ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``,
  ///   and the statistics (see ``lossAndStatistics(hidden:weight:bias:labels:classWeights:sampleWeights:)``).
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread, the gradients and O(N) for the statistics.
  public func lossGradientAndStatistics<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, hiddenGradient: ShapedArray<Scalar>,
    weightGradient: ShapedArray<Scalar>, biasGradient: ShapedArray<Scalar>?,
    statistics: SoftmaxStatistics<Scalar>
  ) {
    var rows = [RowStatistics](repeating: .zero, count: labels.scalars.count)
    let result = try rows.withUnsafeMutableBufferPointer { rows throws(LossError) in
      try evaluate(
        hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, wantsGradient: true,
        statistics: rows.baseAddress)
    }
    return (
      result.loss, result.hidden!, result.weight!, result.bias,
      SoftmaxStatistics(rows: rows, labels: labels, ignoreIndex: ignoreIndex)
    )
  }
}
