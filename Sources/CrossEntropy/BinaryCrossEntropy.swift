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
/// `.mean` is the plain mean over all elements (weights do not normalise it). `weight` and
/// `positiveWeight` broadcast against the target with NumPy's right-aligned rules: for a
/// `[B, C, H, W]` target a per-channel weight has shape `[C, 1, 1]`, while a length-`C` vector
/// broadcasts along the last axis. Targets may be soft, in [0, 1].
///
/// ```swift
/// let logits = try ShapedArray<Float>(shape: [3], scalars: [2.5, -1, 0])
/// let targets = try ShapedArray<Float>(shape: [3], scalars: [1, 0, 0.5])
/// let (loss, gradient) = try BinaryCrossEntropy().lossAndGradient(logits: logits, targets: targets)
/// ```
public struct BinaryCrossEntropy: Sendable, Hashable {
  /// How per-element losses are combined. Default `.mean`.
  public var reduction: Reduction

  /// Creates a binary cross-entropy criterion.
  ///
  /// - Parameter reduction: How per-element losses are combined. Default `.mean`.
  public init(reduction: Reduction = .mean) {
    self.reduction = reduction
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
  /// - Throws: ``LossError`` when the shapes disagree or a weight does not broadcast.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>? = nil,
    positiveWeight: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      .logits, logits, targets, weight, positiveWeight: positiveWeight, wantsGradient: false
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
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:targets:weight:positiveWeight:)``.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>? = nil,
    positiveWeight: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      .logits, logits, targets, weight, positiveWeight: positiveWeight, wantsGradient: true)
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
  ///   probability or target lies outside [0, 1] (NaN included), as PyTorch raises.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    weight: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      .probabilities, probabilities, targets, weight, positiveWeight: nil, wantsGradient: false
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
  /// - Returns: The loss and a gradient shaped like `probabilities`.
  /// - Throws: ``LossError``, as ``loss(probabilities:targets:weight:)``.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    weight: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      .probabilities, probabilities, targets, weight, positiveWeight: nil, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ kind: BinaryInputKind, _ input: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>,
    _ weight: ShapedArray<Scalar>?, positiveWeight: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let inputName = kind == .logits ? "logits" : "probabilities"
    guard input.shape == targets.shape else {
      throw .shapeMismatch(
        "targets shape \(describe(shape: targets.shape)) does not match \(inputName) shape"
          + " \(describe(shape: input.shape))")
    }
    let weightIndex = try weight.map { w throws(LossError) in
      try BroadcastIndex(source: w.shape, target: targets.shape, name: "weight")
    }
    let positiveIndex = try positiveWeight.map { w throws(LossError) in
      try BroadcastIndex(source: w.shape, target: targets.shape, name: "positive weight")
    }
    if kind == .probabilities {
      try checkUnitInterval(input.scalars, shape: input.shape, name: "probability")
      try checkUnitInterval(targets.scalars, shape: targets.shape, name: "target")
    }
    let count = input.scalars.count
    var loss = [Scalar](repeating: 0, count: reduction == .none ? count : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: count) : nil
    loss.withUnsafeMutableBufferPointer { lossBuffer in
      withOptionalMutableBuffer(&gradient) { gradientBuffer in
        Reference.binaryCrossEntropy(
          kind, input: input.scalars, targets: targets.scalars,
          weight: weight.map { ($0.scalars, weightIndex!) },
          positiveWeight: positiveWeight.map { ($0.scalars, positiveIndex!) },
          shape: input.shape, reduction: reduction, loss: lossBuffer, gradient: gradientBuffer)
      }
    }
    return (
      ShapedArray(uncheckedShape: reduction == .none ? input.shape : [], scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: input.shape, scalars: $0) }
    )
  }

  private func checkUnitInterval<Scalar: BinaryFloatingPoint>(
    _ values: [Scalar], shape: [Int], name: String
  ) throws(LossError) {
    if let index = values.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
      throw .valueOutOfRange(
        "\(name) \(Double(values[index])) at position"
          + " \(describe(shape: position(ofFlatIndex: index, in: shape))) is outside [0, 1]")
    }
  }
}

/// Whether a binary cross-entropy input holds logits or probabilities.
enum BinaryInputKind: Sendable {
  case logits
  case probabilities
}
