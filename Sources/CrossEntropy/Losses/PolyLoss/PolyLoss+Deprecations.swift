// MARK: - Renamed: probability targets are `targets:`

extension PolyLoss {
  /// The Poly-1 loss of logits against probability targets.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, classes on ``classAxis``.
  ///   - probabilities: Target distributions, shaped like `logits`.
  /// - Returns: The loss, as ``loss(logits:targets:sampleWeights:)``.
  /// - Throws: ``LossError``, as ``loss(logits:targets:sampleWeights:)``.
  @available(*, deprecated, renamed: "loss(logits:targets:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, probabilities: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try loss(logits: logits, targets: probabilities)
  }

  /// The Poly-1 loss against probability targets and its gradient.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, classes on ``classAxis``.
  ///   - probabilities: Target distributions, shaped like `logits`.
  /// - Returns: The loss and gradient, as ``lossAndGradient(logits:targets:sampleWeights:upstreamGradient:)``.
  /// - Throws: ``LossError``, as ``loss(logits:targets:sampleWeights:)``.
  @available(*, deprecated, renamed: "lossAndGradient(logits:targets:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, probabilities: ShapedArray<Scalar>
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    try lossAndGradient(logits: logits, targets: probabilities)
  }

  /// Writes the Poly-1 loss against probability targets into a caller buffer.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `probabilities`.
  ///   - probabilities: Target distributions laid out like `logits`.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:sampleWeights:into:)``.
  @available(*, deprecated, renamed: "loss(logits:shape:targets:into:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int],
    probabilities: UnsafeBufferPointer<Scalar>, into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try self.loss(logits: logits, shape: shape, targets: probabilities, into: loss)
  }

  /// Writes the Poly-1 loss against probability targets and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `probabilities`.
  ///   - probabilities: Target distributions laid out like `logits`.
  ///   - loss: Receives the loss.
  ///   - gradient: Receives the gradient.
  /// - Throws: ``LossError``, as ``lossAndGradient(logits:shape:targets:sampleWeights:upstreamGradient:loss:gradient:)``.
  @available(*, deprecated, renamed: "lossAndGradient(logits:shape:targets:loss:gradient:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int],
    probabilities: UnsafeBufferPointer<Scalar>, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      logits: logits, shape: shape, targets: probabilities, loss: loss, gradient: gradient)
  }
}
