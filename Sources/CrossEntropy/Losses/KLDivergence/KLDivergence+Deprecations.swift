// MARK: - Renamed caller-buffer forms (`shape:` follows the first input)

extension KLDivergence {
  /// Writes the divergence into a caller buffer.
  ///
  /// - Parameters:
  ///   - logProbabilities: The log-probabilities in row-major order.
  ///   - targets: The targets, laid out like `logProbabilities`.
  ///   - shape: The shape of both.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:shape:targets:into:)``.
  @available(*, deprecated, renamed: "loss(logProbabilities:shape:targets:into:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, targets: UnsafeBufferPointer<Scalar>,
    shape: [Int], into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try self.loss(logProbabilities: logProbabilities, shape: shape, targets: targets, into: loss)
  }

  /// Writes the divergence and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - logProbabilities: The log-probabilities in row-major order.
  ///   - targets: The targets, laid out like `logProbabilities`.
  ///   - shape: The shape of both.
  ///   - loss: Receives the loss.
  ///   - gradient: Receives the gradient.
  /// - Throws: ``LossError``, as ``lossAndGradient(logProbabilities:shape:targets:upstreamGradient:loss:gradient:)``.
  @available(
    *, deprecated, renamed: "lossAndGradient(logProbabilities:shape:targets:loss:gradient:)"
  )
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, targets: UnsafeBufferPointer<Scalar>,
    shape: [Int], loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      logProbabilities: logProbabilities, shape: shape, targets: targets, loss: loss,
      gradient: gradient)
  }

  /// Computes the divergence and overwrites the input with its gradient.
  ///
  /// - Parameters:
  ///   - logProbabilities: The log-probabilities in row-major order; on return, the gradient.
  ///   - targets: The targets, laid out like `logProbabilities`.
  ///   - shape: The shape of both.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``lossAndGradient(overwriting:shape:targets:upstreamGradient:loss:)``.
  @available(*, deprecated, renamed: "lossAndGradient(overwriting:shape:targets:loss:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logProbabilities: UnsafeMutableBufferPointer<Scalar>,
    targets: UnsafeBufferPointer<Scalar>, shape: [Int], loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(overwriting: logProbabilities, shape: shape, targets: targets, loss: loss)
  }
}
