// MARK: - Renamed caller-buffer forms (`shape:` follows the first input)

extension MeanSquaredError {
  /// Writes the squared error into a caller buffer.
  ///
  /// - Parameters:
  ///   - predictions: The predictions in row-major order.
  ///   - targets: The targets, laid out like `predictions`.
  ///   - shape: The shape of both.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``loss(predictions:shape:targets:into:)``.
  @available(*, deprecated, renamed: "loss(predictions:shape:targets:into:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    predictions: UnsafeBufferPointer<Scalar>, targets: UnsafeBufferPointer<Scalar>,
    shape: [Int], into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try self.loss(predictions: predictions, shape: shape, targets: targets, into: loss)
  }

  /// Writes the squared error and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - predictions: The predictions in row-major order.
  ///   - targets: The targets, laid out like `predictions`.
  ///   - shape: The shape of both.
  ///   - loss: Receives the loss.
  ///   - gradient: Receives the gradient.
  /// - Throws: ``LossError``, as ``lossAndGradient(predictions:shape:targets:upstreamGradient:loss:gradient:)``.
  @available(*, deprecated, renamed: "lossAndGradient(predictions:shape:targets:loss:gradient:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    predictions: UnsafeBufferPointer<Scalar>, targets: UnsafeBufferPointer<Scalar>,
    shape: [Int], loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      predictions: predictions, shape: shape, targets: targets, loss: loss, gradient: gradient)
  }

  /// Computes the squared error and overwrites the input with its gradient.
  ///
  /// - Parameters:
  ///   - predictions: The predictions in row-major order; on return, the gradient.
  ///   - targets: The targets, laid out like `predictions`.
  ///   - shape: The shape of both.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``lossAndGradient(overwriting:shape:targets:upstreamGradient:loss:)``.
  @available(*, deprecated, renamed: "lossAndGradient(overwriting:shape:targets:loss:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting predictions: UnsafeMutableBufferPointer<Scalar>,
    targets: UnsafeBufferPointer<Scalar>, shape: [Int], loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(overwriting: predictions, shape: shape, targets: targets, loss: loss)
  }
}
