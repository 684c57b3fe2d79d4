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
  ///   - classWeights: Optional per-class weights `alpha`, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError`` for buffers whose sizes do not match `shape` (naming both sizes),
  ///   labels out of range, a bad class axis, an empty class dimension, a wrong `classWeights` count,
  ///   or a negative `gamma`.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for fp32 with classes on
  ///   the last axis, O(C) otherwise.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      problem: makeProblem(shape: shape), loss: loss, gradient: nil)
  }

  /// Writes the focal loss and its gradient with respect to the logits into caller buffers:
  /// per row `alpha[y] f'(u) (onehot(y) - softmax(x))` with `f(u) = -(1 - e^u)^gamma u` at
  /// `u = log p_y`, times `1 / kept rows` for `.mean`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights `alpha`, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient (of the sum for `.none`), as many elements as
  ///     `logits`. It may be the same memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``, and for a gradient
  ///   buffer of the wrong size.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for fp32 with classes on
  ///   the last axis.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, problem: makeProblem(shape: shape), loss: loss,
      gradient: gradient)
  }

  /// Computes the focal loss and overwrites the logits with its gradient: no memory besides
  /// O(N + C) scratch.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, the gradient with respect to them.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights `alpha`, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``; the logits are
  ///   unchanged when it throws.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for fp32 with classes on
  ///   the last axis.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: UnsafeBufferPointer(logits), labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      problem: makeProblem(shape: shape), loss: loss, gradient: logits)
  }

  /// Checks `gamma` and resolves the class axis of `shape`.
  func makeProblem(shape: [Int]) throws(LossError) -> SoftmaxFocalProblem {
    try checkFocusing(gamma)
    try checkNormalizer(normalizer)
    return SoftmaxFocalProblem(
      criterion: self, layout: try ClassLayout(shape: shape, classAxis: classAxis))
  }

  /// Validates the buffers and the labels, then runs the kernel. Nothing is written when it
  /// throws.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, problem: SoftmaxFocalProblem,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let layout = problem.layout
    try checkCount(logits.count, shape: layout.shape, name: "logits")
    try layout.checkLabelCount(labels.count)
    try layout.checkClassWeights(count: classWeights?.count)
    try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    try checkLossCount(loss.count, reduction: reduction, rows: layout.rows)
    if let gradient { try layout.checkGradientCount(gradient.count) }
    try checkSampleWeights(
      count: sampleWeights?.count, rowShape: layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: layout.rows)
    RowScales.with(
      sampleWeights: sampleWeights, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      rows: layout.rows
    ) { rowScales in
      var problem = problem
      problem.rowScales = rowScales
      Kernels.softmaxFocal(
        logits: startAddress(logits.baseAddress), labels: labels, classWeights: classWeights,
        problem: problem, loss: loss, gradient: gradient?.baseAddress)
    }
  }
}
