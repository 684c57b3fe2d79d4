// MARK: - Caller-owned memory

extension SigmoidFocalLoss {
  /// Writes the focal loss of logits against binary targets into a caller buffer, without
  /// copying the inputs.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1] (usually 0 or 1), laid out like `logits`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError`` when a count does not match `shape`, the loss buffer has the wrong
  ///   size for the reduction, `gamma` is negative or not finite, or `alpha` is above 1 or NaN.
  /// - Complexity: O(n) in the number of elements; O(n / 2048) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try checkBuffers(
      logits: logits.count, shape: shape, targets: targets.count, gradient: nil, loss: loss.count)
    compute(
      logits: startAddress(logits.baseAddress), targets: startAddress(targets.baseAddress),
      count: logits.count, loss: loss, gradient: nil)
  }

  /// Writes the focal loss and its gradient with respect to the logits into caller buffers.
  ///
  /// The gradient is that of ``lossAndGradient(logits:targets:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  ///   - gradient: Receives the gradient, as many elements as `logits`. It may be the same
  ///     memory as `logits`; see also ``lossAndGradient(overwriting:shape:targets:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:into:)``, and when `gradient` does
  ///   not hold as many elements as `logits`.
  /// - Complexity: O(n) in the number of elements; O(n / 2048) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try checkBuffers(
      logits: logits.count, shape: shape, targets: targets.count, gradient: gradient.count,
      loss: loss.count)
    compute(
      logits: startAddress(logits.baseAddress), targets: startAddress(targets.baseAddress),
      count: logits.count, loss: loss, gradient: gradient.baseAddress)
  }

  /// Computes the focal loss and overwrites the logits with its gradient.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:into:)``; the logits are unchanged
  ///   when it throws.
  /// - Complexity: O(n) in the number of elements; O(n / 2048) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try checkBuffers(
      logits: logits.count, shape: shape, targets: targets.count, gradient: nil, loss: loss.count)
    compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)),
      targets: startAddress(targets.baseAddress), count: logits.count, loss: loss,
      gradient: logits.baseAddress)
  }

  /// Checks the options and the counts of caller buffers against `shape`.
  private func checkBuffers(
    logits: Int, shape: [Int], targets: Int, gradient: Int?, loss: Int
  ) throws(LossError) {
    try checkFocusing(gamma)
    try checkBalance(alpha)
    try checkCount(logits, shape: shape, name: "logits")
    guard targets == logits else {
      throw .shapeMismatch(
        "targets hold \(targets) elements but logits shape \(describe(shape: shape)) holds"
          + " \(logits); expected the same shape")
    }
    if let gradient, gradient != logits {
      throw .shapeMismatch(
        "gradient holds \(gradient) elements but logits shape \(describe(shape: shape)) holds"
          + " \(logits)")
    }
    try checkLossCount(loss, reduction: reduction, rows: logits)
  }

  /// Runs the fused kernel where it applies, else the reference, on checked arguments; writes
  /// every element of `loss` and of `gradient` (which may be `logits`).
  func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, count: Int,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    if Kernels.sigmoidFocal(
      logits: logits, targets: targets, count: count, alpha: alpha, gamma: gamma,
      reduction: reduction, loss: loss, gradient: gradient)
    {
      return
    }
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / Double(count) : 1
    let gradientScale = elementwise ? 1 : scale
    var total = 0.0
    for i in 0..<count {
      let (value, derivative) = Reference.sigmoidFocal(
        Double(logits[i]), Double(targets[i]), alpha: alpha, gamma: gamma)
      if elementwise { loss[i] = Scalar(value) } else { total += value }
      gradient?[i] = Scalar(derivative * gradientScale)
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }
}
