/// Binary cross-entropy, from logits or from probabilities, with PyTorch's semantics.
///
/// From logits `x` (PyTorch's `F.binary_cross_entropy_with_logits`), stable for any `|x|`:
///
/// ```
/// log_weight = (pos_weight - 1) * y + 1
/// l = weight * ((1 - y) * x - log_weight * log_sigmoid(x))
/// log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))
/// ```
///
/// From probabilities `p` (PyTorch's `F.binary_cross_entropy`), with PyTorch's clamp of each
/// log at -100:
///
/// ```
/// l = -weight * (y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))
/// gradient = weight * (p - y) / max((1 - p) * p, 1e-12)
/// ```
///
/// `.mean` is the plain mean over all elements (weights do not normalise it), or the sum divided
/// by ``normalizer`` when it is set. `weight` and
/// `positiveWeight` broadcast against the target with NumPy's right-aligned rules: for a
/// `[B, C, H, W]` target a per-channel weight has shape `[C, 1, 1]`, while a length-`C` vector
/// broadcasts along the last axis. Targets may be soft, in [0, 1].
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
/// the loss: one value per element for `.none`, 0-dimensional for `.mean` and `.sum`): the
/// gradient is then PyTorch's `loss.backward(gradient: g)`, each element's derivative times its
/// `g` as the fused kernel stores it (NaN in `g` gives NaN there).
///
/// ```swift
/// let logits = try ShapedArray<Float>(shape: [3], scalars: [2.5, -1, 0])
/// let targets = try ShapedArray<Float>(shape: [3], scalars: [1, 0, 0.5])
/// let (loss, gradient) = try BinaryCrossEntropy().lossAndGradient(logits: logits, targets: targets)
/// ```
public struct BinaryCrossEntropy: Sendable, Hashable {
  /// How per-element losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// The denominator of `.mean`, or `nil` (the default) for the number of elements. Set it to
  /// the global count when a batch is split into micro-batches or across processes. It must be
  /// finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates a binary cross-entropy criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-element losses are combined. Default `.mean`.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the number of
  ///     elements, the default).
  public init(reduction: Reduction = .mean, normalizer: Double? = nil) {
    self.reduction = reduction
    self.normalizer = normalizer
  }

  /// The loss of logits against binary (or soft) targets.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any shape.
  ///   - targets: Targets in [0, 1], shaped like `logits`.
  ///   - weight: Optional weights, broadcast against `targets`.
  ///   - positiveWeight: Optional weights of the positive class (PyTorch's `pos_weight`),
  ///     broadcast against `targets`.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; for `.none`, shaped like `targets`.
  /// - Throws: ``LossError`` when the shapes disagree, a weight does not broadcast, or
  ///   ``normalizer`` is not finite and > 0.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>? = nil,
    positiveWeight: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      .logits, logits, targets, weight, positiveWeight: positiveWeight, upstreamGradient: nil,
      wantsGradient: false
    ).loss
  }

  /// The loss of logits against binary targets, and its gradient with respect to the logits:
  /// `weight * ((pos_weight * y + 1 - y) * sigmoid(x) - pos_weight * y)`, divided by the element
  /// count for `.mean`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any shape.
  ///   - targets: Targets in [0, 1], shaped like `logits`.
  ///   - weight: Optional weights, broadcast against `targets`.
  ///   - positiveWeight: Optional positive-class weights, broadcast against `targets`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (like
  ///     the input for `.none`, 0-dimensional for `.mean` and `.sum`): the gradient returned is
  ///     the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil
  ///     (ones).
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:targets:weight:positiveWeight:)``, and for an
  ///   upstream gradient not shaped like the loss.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>? = nil,
    positiveWeight: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      .logits, logits, targets, weight, positiveWeight: positiveWeight,
      upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  /// The loss of probabilities against binary (or soft) targets.
  ///
  /// - Parameters:
  ///   - probabilities: Predicted probabilities in [0, 1], any shape.
  ///   - targets: Targets in [0, 1], shaped like `probabilities`.
  ///   - weight: Optional weights, broadcast against `targets`.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; for `.none`, shaped like `targets`.
  /// - Throws: ``LossError`` when the shapes disagree, a weight does not broadcast, or a
  ///   probability or target lies outside [0, 1] (NaN included), as PyTorch raises, or
  ///   ``normalizer`` is not finite and > 0.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    weight: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      .probabilities, probabilities, targets, weight, positiveWeight: nil, upstreamGradient: nil,
      wantsGradient: false
    ).loss
  }

  /// The loss of probabilities against binary targets, and its gradient with respect to the
  /// probabilities: `weight * (p - y) / max((1 - p) * p, 1e-12)`, divided by the element count for
  /// `.mean`.
  ///
  /// - Parameters:
  ///   - probabilities: Predicted probabilities in [0, 1], any shape.
  ///   - targets: Targets in [0, 1], shaped like `probabilities`.
  ///   - weight: Optional weights, broadcast against `targets`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (like
  ///     the input for `.none`, 0-dimensional for `.mean` and `.sum`): the gradient returned is
  ///     the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil
  ///     (ones).
  /// - Returns: The loss and a gradient shaped like `probabilities`.
  /// - Throws: ``LossError``, as ``loss(probabilities:targets:weight:)``, and for an upstream
  ///   gradient not shaped like the loss.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    weight: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      .probabilities, probabilities, targets, weight, positiveWeight: nil,
      upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ kind: BinaryInputKind, _ input: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>,
    _ weight: ShapedArray<Scalar>?, positiveWeight: ShapedArray<Scalar>?,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    guard input.shape == targets.shape else {
      throw .shapeMismatch(
        "targets shape \(describe(shape: targets.shape)) does not match \(kind.name) shape"
          + " \(describe(shape: input.shape))")
    }
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: input.shape)
    return try Kernels.outputs(
      lossShape: reduction == .none ? input.shape : [],
      gradientShape: wantsGradient ? input.shape : nil
    ) { loss, gradient throws(LossError) in
      try input.withUnsafeBufferPointer { x throws(LossError) in
        try targets.withUnsafeBufferPointer { y throws(LossError) in
          try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
            try compute(
              kind, input: x, shape: input.shape, targets: y, weight: weight,
              positiveWeight: positiveWeight, upstreamGradient: g, loss: loss,
              gradient: gradient)
          }
        }
      }
    }
  }
}

/// Whether a binary cross-entropy input holds logits or probabilities.
enum BinaryInputKind: Sendable {
  case logits
  case probabilities

  /// What error messages call the input.
  var name: String { self == .logits ? "logits" : "probabilities" }
}

// MARK: - Caller-owned memory

extension BinaryCrossEntropy {
  /// Writes the loss of logits against binary (or soft) targets into a caller buffer, without
  /// copying the inputs.
  ///
  /// Per element, as PyTorch's `binary_cross_entropy_with_logits`:
  /// `weight * ((1 - y) * x + (1 + (pos_weight - 1) * y) * (log1p(exp(-|x|)) + max(-x, 0)))`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - weight: Optional weights, broadcast right-aligned against `shape`.
  ///   - positiveWeight: Optional positive-class weights (PyTorch's `pos_weight`), broadcast
  ///     right-aligned against `shape`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError`` when a count does not match `shape`, the loss buffer has the wrong
  ///   size for the reduction, or a weight does not broadcast.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory for no weights, a scalar,
  ///   full-shape or last-axis weights (O(weight) for a short repeating weight); other
  ///   broadcasts take the reference path, which allocates O(n).
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    weight: ShapedArray<Scalar>? = nil, positiveWeight: ShapedArray<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      .logits, input: logits, shape: shape, targets: targets, weight: weight,
      positiveWeight: positiveWeight, upstreamGradient: nil, loss: loss, gradient: nil)
  }

  /// Writes the loss and its gradient with respect to the logits into caller buffers.
  ///
  /// The gradient is `weight * ((pos_weight * y + 1 - y) * sigmoid(x) - pos_weight * y)`,
  /// divided by the element count for `.mean`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - weight: Optional weights, broadcast right-aligned against `shape`.
  ///   - positiveWeight: Optional positive-class weights, broadcast right-aligned against
  ///     `shape`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per element for `.none`, 1 for `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  ///   - gradient: Receives the gradient, as many elements as `logits`. It may be the same
  ///     memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:targets:weight:positiveWeight:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:weight:positiveWeight:into:)``, and
  ///   when `gradient` does not hold as many elements as `logits` or the upstream gradient
  ///   does not hold as many as the loss.
  /// - Complexity: O(n) in the number of elements; extra memory as
  ///   ``loss(logits:shape:targets:weight:positiveWeight:into:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    weight: ShapedArray<Scalar>? = nil, positiveWeight: ShapedArray<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      .logits, input: logits, shape: shape, targets: targets, weight: weight,
      positiveWeight: positiveWeight, upstreamGradient: upstreamGradient, loss: loss,
      gradient: gradient)
  }

  /// Computes the loss and overwrites the logits with the gradient: no memory besides the
  /// loss.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `logits`.
  ///   - weight: Optional weights, broadcast right-aligned against `shape`.
  ///   - positiveWeight: Optional positive-class weights, broadcast right-aligned against
  ///     `shape`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per element for `.none`, 1 for `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:weight:positiveWeight:into:)``; the
  ///   logits are unchanged when it throws.
  /// - Complexity: O(n) in the number of elements; extra memory as
  ///   ``loss(logits:shape:targets:weight:positiveWeight:into:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, weight: ShapedArray<Scalar>? = nil,
    positiveWeight: ShapedArray<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      .logits, input: UnsafeBufferPointer(logits), shape: shape, targets: targets,
      weight: weight, positiveWeight: positiveWeight, upstreamGradient: upstreamGradient,
      loss: loss, gradient: logits)
  }

  /// Writes the loss of probabilities against binary (or soft) targets into a caller buffer,
  /// without copying the inputs.
  ///
  /// Per element, as PyTorch's `binary_cross_entropy`:
  /// `-weight * (y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))`.
  ///
  /// - Parameters:
  ///   - probabilities: Predicted probabilities in [0, 1], in row-major order.
  ///   - shape: The shape of `probabilities` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `probabilities`.
  ///   - weight: Optional weights, broadcast right-aligned against `shape`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError`` when a count does not match `shape`, the loss buffer has the wrong
  ///   size for the reduction, the weight does not broadcast, or a probability or target lies
  ///   outside [0, 1] (NaN included).
  /// - Complexity: O(n) in the number of elements; O(n) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    probabilities: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, weight: ShapedArray<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      .probabilities, input: probabilities, shape: shape, targets: targets, weight: weight,
      positiveWeight: nil, upstreamGradient: nil, loss: loss, gradient: nil)
  }

  /// Writes the loss of probabilities and its gradient with respect to them into caller
  /// buffers: `weight * (p - y) / max((1 - p) * p, 1e-12)`, divided by the element count for
  /// `.mean`.
  ///
  /// - Parameters:
  ///   - probabilities: Predicted probabilities in [0, 1], in row-major order.
  ///   - shape: The shape of `probabilities` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `probabilities`.
  ///   - weight: Optional weights, broadcast right-aligned against `shape`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per element for `.none`, 1 for `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  ///   - gradient: Receives the gradient, as many elements as `probabilities`. It may be the
  ///     same memory as `probabilities`; see also
  ///     ``lossAndGradient(overwritingProbabilities:shape:targets:weight:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(probabilities:shape:targets:weight:into:)``, and when
  ///   `gradient` does not hold as many elements as `probabilities`.
  /// - Complexity: O(n) in the number of elements; O(n) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    probabilities: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, weight: ShapedArray<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      .probabilities, input: probabilities, shape: shape, targets: targets, weight: weight,
      positiveWeight: nil, upstreamGradient: upstreamGradient, loss: loss, gradient: gradient)
  }

  /// Computes the loss of probabilities and overwrites them with its gradient.
  ///
  /// The label differs from the logits' `overwriting:` so that a call says which input the
  /// buffer holds (the two gradients differ).
  ///
  /// - Parameters:
  ///   - probabilities: Predicted probabilities in [0, 1], in row-major order; on return,
  ///     d(loss)/d(probabilities).
  ///   - shape: The shape of `probabilities` and of `targets`.
  ///   - targets: Targets in [0, 1], laid out like `probabilities`.
  ///   - weight: Optional weights, broadcast right-aligned against `shape`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per element for `.none`, 1 for `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per element for `.none`.
  /// - Throws: ``LossError``, as ``loss(probabilities:shape:targets:weight:into:)``; the
  ///   probabilities are unchanged when it throws.
  /// - Complexity: O(n) in the number of elements; O(n) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwritingProbabilities probabilities: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, weight: ShapedArray<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      .probabilities, input: UnsafeBufferPointer(probabilities), shape: shape, targets: targets,
      weight: weight, positiveWeight: nil, upstreamGradient: upstreamGradient, loss: loss,
      gradient: probabilities)
  }
}

// MARK: - Validation and the kernel call

extension BinaryCrossEntropy {
  /// Validates the buffers, the weights' shapes and (for probabilities) the values, then runs
  /// the kernel. Nothing is written when it throws.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    _ kind: BinaryInputKind, input: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, weight: ShapedArray<Scalar>?,
    positiveWeight: ShapedArray<Scalar>?, upstreamGradient: UnsafeBufferPointer<Scalar>?,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    try checkNormalizer(normalizer)
    let count = input.count
    try checkCount(count, shape: shape, name: kind.name)
    try checkSameCount(
      targets.count, name: "targets", input: kind.name, shape: shape, expected: count)
    if let gradient { try checkGradientCount(gradient.count, shape: shape, name: kind.name) }
    try checkLossCount(loss.count, reduction: reduction, rows: count)
    try checkUpstreamGradient(count: upstreamGradient?.count, reduction: reduction, rows: count)
    let weightIndex = try weight.map { w throws(LossError) in
      try BroadcastIndex(source: w.shape, target: shape, name: "weight")
    }
    let positiveIndex = try positiveWeight.map { w throws(LossError) in
      try BroadcastIndex(source: w.shape, target: shape, name: "positive weight")
    }
    if kind == .probabilities {
      try checkUnitInterval(input, shape: shape, name: "probability")
      try checkUnitInterval(targets, shape: shape, name: "target")
    }
    func withArgument(
      _ w: ShapedArray<Scalar>?, _ index: BroadcastIndex?,
      _ body: (BinaryWeightArgument<Scalar>?) -> Void
    ) {
      guard let w, let index else { return body(nil) }
      w.withUnsafeBufferPointer {
        body(BinaryWeightArgument(values: $0, shape: w.shape, index: index))
      }
    }
    withArgument(weight, weightIndex) { w in
      withArgument(positiveWeight, positiveIndex) { p in
        Kernels.binaryCrossEntropy(
          kind, input: startAddress(input.baseAddress),
          targets: startAddress(targets.baseAddress), shape: shape, count: count, weight: w,
          positiveWeight: p, reduction: reduction, normalizer: normalizer,
          upstream: gradient == nil ? nil : upstreamGradient.map { startAddress($0.baseAddress) },
          loss: loss, gradient: gradient?.baseAddress)
      }
    }
  }
}
