// MARK: - Renamed: `alpha:` is `classWeights:`

extension SoftmaxFocalLoss {
  /// The focal loss of logits against class-index labels.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - alpha: Per-class weights, one per class, or nil.
  /// - Returns: The loss, as ``loss(logits:labels:classWeights:sampleWeights:)``.
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:sampleWeights:)``.
  @available(*, deprecated, renamed: "loss(logits:labels:classWeights:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, alpha: [Scalar]?
  ) throws(LossError) -> ShapedArray<Scalar> {
    try loss(logits: logits, labels: labels, classWeights: alpha)
  }

  /// The focal loss and its gradient with respect to the logits.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - alpha: Per-class weights, one per class, or nil.
  /// - Returns: The loss and gradient, as ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:sampleWeights:)``.
  @available(*, deprecated, renamed: "lossAndGradient(logits:labels:classWeights:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, alpha: [Scalar]?
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    try lossAndGradient(logits: logits, labels: labels, classWeights: alpha)
  }

  /// Writes the focal loss into a caller buffer.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`.
  ///   - labels: Class indices, one per row.
  ///   - alpha: Per-class weights, one per class, or nil.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``.
  @available(*, deprecated, renamed: "loss(logits:shape:labels:classWeights:into:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    alpha: UnsafeBufferPointer<Scalar>?, into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try self.loss(logits: logits, shape: shape, labels: labels, classWeights: alpha, into: loss)
  }

  /// Writes the focal loss and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`.
  ///   - labels: Class indices, one per row.
  ///   - alpha: Per-class weights, one per class, or nil.
  ///   - loss: Receives the loss.
  ///   - gradient: Receives the gradient.
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(logits:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:gradient:)``.
  @available(
    *, deprecated, renamed: "lossAndGradient(logits:shape:labels:classWeights:loss:gradient:)"
  )
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    alpha: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      logits: logits, shape: shape, labels: labels, classWeights: alpha, loss: loss,
      gradient: gradient)
  }

  /// Computes the focal loss and overwrites the logits with its gradient.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, the gradient.
  ///   - shape: The shape of `logits`.
  ///   - labels: Class indices, one per row.
  ///   - alpha: Per-class weights, one per class, or nil.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``lossAndGradient(overwriting:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:)``.
  @available(*, deprecated, renamed: "lossAndGradient(overwriting:shape:labels:classWeights:loss:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, alpha: UnsafeBufferPointer<Scalar>?,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      overwriting: logits, shape: shape, labels: labels, classWeights: alpha, loss: loss)
  }
}
