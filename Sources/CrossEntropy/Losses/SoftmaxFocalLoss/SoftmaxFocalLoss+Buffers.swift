// MARK: - Caller-owned memory

extension SoftmaxFocalLoss {
  /// Writes the focal loss of logits against class-index labels into a caller buffer, without
  /// copying: per row `-alpha[y] (1 - p_y)^gamma log p_y` with `p = softmax(x)`, reduced as
  /// ``reduction`` says.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row in the row-major order of `shape` without the class
  ///     axis.
  ///   - alpha: Optional per-class weights, one per class.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError`` for buffers whose sizes do not match `shape` (naming both sizes),
  ///   labels out of range, a bad class axis, an empty class dimension, a wrong `alpha` count,
  ///   or a negative `gamma`.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for fp32 with classes on
  ///   the last axis (other element types and layouts take the reference kernel on copies).
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    alpha: UnsafeBufferPointer<Scalar>? = nil, into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, shape: shape, labels: labels, alpha: alpha, loss: loss, gradient: nil)
  }

  /// Writes the focal loss and its gradient with respect to the logits into caller buffers:
  /// per row `alpha[y] f'(u) (onehot(y) - softmax(x))` with `f(u) = -(1 - e^u)^gamma u` at
  /// `u = log p_y`, times `1 / kept rows` for `.mean`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - alpha: Optional per-class weights, one per class.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient (of the sum for `.none`), as many elements as
  ///     `logits`. It may be the same memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:labels:alpha:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:alpha:into:)``, and for a gradient
  ///   buffer of the wrong size.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for fp32 with classes on
  ///   the last axis.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    alpha: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, shape: shape, labels: labels, alpha: alpha, loss: loss, gradient: gradient)
  }

  /// Computes the focal loss and overwrites the logits with its gradient: no memory besides
  /// O(N + C) scratch.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, the gradient with respect to them.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - alpha: Optional per-class weights, one per class.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:alpha:into:)``; the logits are
  ///   unchanged when it throws.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for fp32 with classes on
  ///   the last axis.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, alpha: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: UnsafeBufferPointer(logits), shape: shape, labels: labels, alpha: alpha,
      loss: loss, gradient: logits)
  }

  /// Validates the buffers and options, then runs the fused kernel (fp32, classes last) or the
  /// reference on copies.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    alpha: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    try checkFocusing(gamma)
    let layout = try ClassLayout(shape: shape, classAxis: classAxis)
    try checkCount(logits.count, shape: shape, name: "logits")
    try layout.checkLabelCount(labels.count)
    if let alpha, alpha.count != layout.classes {
      throw .shapeMismatch(
        "focal alpha has \(alpha.count) elements but logits have \(layout.classes) classes"
          + " on axis \(layout.axis)")
    }
    try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    try checkLossCount(loss.count, reduction: reduction, rows: layout.rows)
    if let gradient { try layout.checkGradientCount(gradient.count) }
    let weights = alpha.map { buffer in buffer.map { Double($0) } }
    if Scalar.self == Float.self, layout.inner == 1, layout.rows > 0 {
      (weights ?? []).withUnsafeBufferPointer { w in
        FusedSoftmaxFocal.run(
          logits: UnsafeRawPointer(logits.baseAddress!).assumingMemoryBound(to: Float.self),
          labels: labels, alpha: weights == nil ? nil : w, classes: layout.classes,
          ignoreIndex: ignoreIndex, gamma: gamma, reduction: reduction,
          loss: UnsafeMutableRawPointer(loss.baseAddress!).assumingMemoryBound(to: Float.self),
          gradient: gradient.map {
            UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: Float.self)
          })
      }
      return
    }
    let result = Reference.softmaxFocal(
      logits: Array(logits), labels: Array(labels), alpha: weights, layout: layout,
      ignoreIndex: ignoreIndex, gamma: gamma, reduction: reduction,
      wantsGradient: gradient != nil)
    copy(result.loss.scalars, into: loss)
    if let gradient, let values = result.gradient { copy(values.scalars, into: gradient) }
  }
}
