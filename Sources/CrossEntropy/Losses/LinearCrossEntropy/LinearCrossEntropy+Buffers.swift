/// The forms over caller-owned memory: the hidden states, the classifier, its bias, the labels
/// and every output are the caller's buffers, read and written without copying. Pass `nil` for
/// a gradient you do not need (a frozen classifier, say): its matrix product is skipped. With
/// ``accumulatesGradients``, the weight and bias gradients are added to, for micro-batches.
///
/// ```swift
/// var head = LinearCrossEntropy(normalizer: 4096, accumulatesGradients: true)
/// // for each micro-batch, with dW and db zeroed once before the first:
/// try head.lossAndGradient(
///   hidden: h, shape: [n, d], weight: w, weightShape: [v, d], labels: y, loss: loss,
///   hiddenGradient: dh, weightGradient: dw, biasGradient: nil)
/// ```
extension LinearCrossEntropy {
  /// Writes the loss of a linear layer's output against class-index labels into a caller
  /// buffer, and optionally each row's log-sum-exp.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states in row-major order.
  ///   - shape: The shape of `hidden`, `[..., D]` (rank >= 1).
  ///   - weight: The classifier in row-major order, `V` rows of `D` (`nn.Linear`'s weight).
  ///   - weightShape: The shape of `weight`, `[V, D]`.
  ///   - bias: The classifier's bias, `V` elements, or `nil`.
  ///   - labels: Class indices, one per row of `hidden`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per label (see
  ///     ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp of its (soft-capped) logits, one
  ///     per label (0 for rows labelled ``ignoreIndex``).
  /// - Throws: ``LossError`` for wrong counts or shapes (a hidden size that differs between
  ///   `shape` and `weightShape`, a bias of the wrong length), labels out of range, or invalid
  ///   options; nothing is written when it throws.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread.
  public func loss<Scalar: BinaryFloatingPoint>(
    hidden: UnsafeBufferPointer<Scalar>, shape: [Int], weight: UnsafeBufferPointer<Scalar>,
    weightShape: [Int], bias: UnsafeBufferPointer<Scalar>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>,
    logSumExp: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) {
    try compute(
      hidden: hidden, shape: shape, weight: weight, weightShape: weightShape, bias: bias,
      labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: nil, loss: loss, hiddenGradient: nil,
      weightGradient: nil, biasGradient: nil, logSumExp: logSumExp)
  }

  /// Writes the loss and its gradients with respect to the hidden states, the classifier and
  /// its bias into caller buffers.
  ///
  /// For `.none` the gradients are those of the sum of the per-label losses, or of their sum
  /// weighted by `upstreamGradient`.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states in row-major order.
  ///   - shape: The shape of `hidden`, `[..., D]` (rank >= 1).
  ///   - weight: The classifier in row-major order, `V` rows of `D` (`nn.Linear`'s weight).
  ///   - weightShape: The shape of `weight`, `[V, D]`.
  ///   - bias: The classifier's bias, `V` elements, or `nil`.
  ///   - labels: Class indices, one per row of `hidden`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per label (see
  ///     ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``).
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss` (see
  ///     ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  ///   - hiddenGradient: Receives d(loss)/d(hidden), as many elements as `hidden` (not the same
  ///     memory), or `nil` to skip it.
  ///   - weightGradient: Receives (or, with ``accumulatesGradients``, is added) d(loss)/d(weight),
  ///     as many elements as `weight` (not the same memory), or `nil` to skip it.
  ///   - biasGradient: Receives (or is added) d(loss)/d(bias), `V` elements, or `nil`. It is the
  ///     column sums of the logits' gradient, defined with or without a `bias`.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp, as in
  ///     ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``.
  /// - Throws: ``LossError``, as
  ///   ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``, or
  ///   for a gradient buffer of the wrong count; nothing is written when it throws.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    hidden: UnsafeBufferPointer<Scalar>, shape: [Int], weight: UnsafeBufferPointer<Scalar>,
    weightShape: [Int], bias: UnsafeBufferPointer<Scalar>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>,
    hiddenGradient: UnsafeMutableBufferPointer<Scalar>?,
    weightGradient: UnsafeMutableBufferPointer<Scalar>?,
    biasGradient: UnsafeMutableBufferPointer<Scalar>? = nil,
    logSumExp: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) {
    try compute(
      hidden: hidden, shape: shape, weight: weight, weightShape: weightShape, bias: bias,
      labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, hiddenGradient: hiddenGradient,
      weightGradient: weightGradient, biasGradient: biasGradient, logSumExp: logSumExp)
  }
}
