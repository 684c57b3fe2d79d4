// MARK: - Renamed caller-buffer forms (`shape:` follows the first input)

extension DistillationLoss {
  /// Writes the distillation loss into a caller buffer.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores in row-major order.
  ///   - teacherLogits: The teacher's raw scores, laid out like `studentLogits`.
  ///   - shape: The shape of both.
  ///   - labels: Class indices, one per row, or nil.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as ``loss(studentLogits:shape:teacherLogits:labels:into:)``.
  @available(*, deprecated, renamed: "loss(studentLogits:shape:teacherLogits:labels:into:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    studentLogits: UnsafeBufferPointer<Scalar>, teacherLogits: UnsafeBufferPointer<Scalar>,
    shape: [Int], labels: UnsafeBufferPointer<Int>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try self.loss(
      studentLogits: studentLogits, shape: shape, teacherLogits: teacherLogits, labels: labels,
      into: loss)
  }

  /// Writes the distillation loss and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores in row-major order.
  ///   - teacherLogits: The teacher's raw scores, laid out like `studentLogits`.
  ///   - shape: The shape of both.
  ///   - labels: Class indices, one per row, or nil.
  ///   - loss: Receives the loss.
  ///   - gradient: Receives the gradient.
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(studentLogits:shape:teacherLogits:labels:upstreamGradient:loss:gradient:)``.
  @available(
    *, deprecated,
    renamed: "lossAndGradient(studentLogits:shape:teacherLogits:labels:loss:gradient:)"
  )
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    studentLogits: UnsafeBufferPointer<Scalar>, teacherLogits: UnsafeBufferPointer<Scalar>,
    shape: [Int], labels: UnsafeBufferPointer<Int>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      studentLogits: studentLogits, shape: shape, teacherLogits: teacherLogits, labels: labels,
      loss: loss, gradient: gradient)
  }

  /// Computes the distillation loss and overwrites the student's logits with the gradient.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores; on return, the gradient.
  ///   - teacherLogits: The teacher's raw scores, laid out like `studentLogits`.
  ///   - shape: The shape of both.
  ///   - labels: Class indices, one per row, or nil.
  ///   - loss: Receives the loss.
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(overwriting:shape:teacherLogits:labels:upstreamGradient:loss:)``.
  @available(
    *, deprecated, renamed: "lossAndGradient(overwriting:shape:teacherLogits:labels:loss:)"
  )
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting studentLogits: UnsafeMutableBufferPointer<Scalar>,
    teacherLogits: UnsafeBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>? = nil, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try lossAndGradient(
      overwriting: studentLogits, shape: shape, teacherLogits: teacherLogits, labels: labels,
      loss: loss)
  }
}
