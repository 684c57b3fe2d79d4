// MARK: - Caller-owned memory

extension SigmoidFocalLoss {
  /// Writes the focal loss of logits against binary targets into a caller buffer, without
  /// copying the inputs.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1] (usually 0 or 1), laid out like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per leading row of `shape` (see
  ///     ``loss(logits:targets:sampleWeights:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError`` when a count does not match `shape`, the loss buffer has the wrong
  ///   size for the reduction, `gamma` is negative or not finite, `alpha` is above 1 or NaN,
  ///   or ``normalizer`` is not finite and > 0.
  /// - Complexity: O(n) in the number of elements; O(n / 2048) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try checkOptions()
    try compute(
      logits: logits, shape: shape, targets: targets, sampleWeights: sampleWeights,
      upstreamGradient: nil, loss: loss, gradient: nil)
  }

  /// Writes the focal loss and its gradient with respect to the logits into caller buffers.
  ///
  /// The gradient is that of ``lossAndGradient(logits:targets:sampleWeights:upstreamGradient:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per leading row of `shape`.
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  ///   - gradient: Receives the gradient, as many elements as `logits`. It may be the same
  ///     memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:targets:sampleWeights:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:sampleWeights:into:)``, and when
  ///   `gradient` does not hold as many elements as `logits`.
  /// - Complexity: O(n) in the number of elements; O(n / 2048) extra memory (O(n) with an
  ///   upstream gradient).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try checkOptions()
    try compute(
      logits: logits, shape: shape, targets: targets, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: gradient)
  }

  /// Computes the focal loss and overwrites the logits with its gradient.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per leading row of `shape`.
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:sampleWeights:into:)``; the logits
  ///   are unchanged when it throws.
  /// - Complexity: O(n) in the number of elements; O(n / 2048) extra memory (O(n) with an
  ///   upstream gradient).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try checkOptions()
    try compute(
      logits: UnsafeBufferPointer(logits), shape: shape, targets: targets,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, loss: loss,
      gradient: logits)
  }

  /// Checks `gamma`, `alpha` and the normaliser.
  func checkOptions() throws(LossError) {
    try checkFocusing(gamma)
    try checkBalance(alpha)
    try checkNormalizer(normalizer)
  }

  /// Validates the buffers (the options are checked), then runs the kernel. Nothing is written
  /// when it throws.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    sampleWeights: UnsafeBufferPointer<Scalar>?, upstreamGradient: UnsafeBufferPointer<Scalar>?,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let count = logits.count
    try checkCount(count, shape: shape, name: "logits")
    try checkSameCount(
      targets.count, name: "targets", input: "logits", shape: shape, expected: count)
    if let gradient { try checkGradientCount(gradient.count, shape: shape, name: "logits") }
    try checkLossCount(loss.count, reduction: reduction, rows: count)
    let rowShape = Self.sampleWeightShape(shape)
    try checkSampleWeights(
      count: sampleWeights?.count, rowShape: rowShape, rowName: "logits rows")
    try checkUpstreamGradient(count: upstreamGradient?.count, reduction: reduction, rows: count)
    ElementScales.with(
      sampleWeights: sampleWeights, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      count: count, rows: rowShape.reduce(1, *)
    ) { scales in
      Kernels.sigmoidFocal(
        logits: startAddress(logits.baseAddress), targets: startAddress(targets.baseAddress),
        count: count, criterion: self, scales: scales, loss: loss,
        gradient: gradient?.baseAddress)
    }
  }
}
