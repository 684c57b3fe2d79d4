/// Names that ``SoftmaxCrossEntropy`` used before probability targets took the `targets:` label
/// (`probabilities:` now means probability inputs only). Each forwards to its new name.
extension SoftmaxCrossEntropy {
  /// The loss of logits against probability targets; renamed
  /// ``loss(logits:targets:classWeights:sampleWeights:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - probabilities: Target distributions, shaped like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  /// - Returns: As ``loss(logits:targets:classWeights:sampleWeights:)``.
  /// - Throws: As ``loss(logits:targets:classWeights:sampleWeights:)``.
  @available(*, deprecated, renamed: "loss(logits:targets:classWeights:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, probabilities: ShapedArray<Scalar>, classWeights: [Scalar]? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try loss(logits: logits, targets: probabilities, classWeights: classWeights)
  }

  /// The loss against probability targets and its gradient; renamed
  /// ``lossAndGradient(logits:targets:classWeights:sampleWeights:upstreamGradient:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - probabilities: Target distributions, shaped like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  /// - Returns: As ``lossAndGradient(logits:targets:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Throws: As ``lossAndGradient(logits:targets:classWeights:sampleWeights:upstreamGradient:)``.
  @available(*, deprecated, renamed: "lossAndGradient(logits:targets:classWeights:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, probabilities: ShapedArray<Scalar>, classWeights: [Scalar]? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    try lossAndGradient(logits: logits, targets: probabilities, classWeights: classWeights)
  }

  /// Writes the loss against probability targets into a caller buffer; renamed
  /// ``loss(logits:shape:targets:classWeights:sampleWeights:into:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `probabilities`, classes on ``classAxis``.
  ///   - probabilities: Target distributions laid out like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: As ``loss(logits:shape:targets:classWeights:sampleWeights:into:)``.
  @available(*, deprecated, renamed: "loss(logits:shape:targets:classWeights:into:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int],
    probabilities: UnsafeBufferPointer<Scalar>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try self.loss(
      logits: logits, shape: shape, targets: probabilities, classWeights: classWeights,
      into: loss)
  }

  /// Writes the loss against probability targets and its gradient into caller buffers; renamed
  /// ``lossAndGradient(logits:shape:targets:classWeights:sampleWeights:upstreamGradient:loss:gradient:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `probabilities`, classes on ``classAxis``.
  ///   - probabilities: Target distributions laid out like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient; it may be the same memory as `logits`.
  /// - Throws: As ``lossAndGradient(logits:shape:targets:classWeights:sampleWeights:upstreamGradient:loss:gradient:)``.
  @available(
    *, deprecated, renamed: "lossAndGradient(logits:shape:targets:classWeights:loss:gradient:)"
  )
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int],
    probabilities: UnsafeBufferPointer<Scalar>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      logits: logits, shape: shape, targets: probabilities, classWeights: classWeights,
      loss: loss, gradient: gradient)
  }
}
