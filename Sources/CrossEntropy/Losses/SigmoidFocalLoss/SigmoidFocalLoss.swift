import RealModule

/// The sigmoid (binary) focal loss of RetinaNet, with torchvision's `sigmoid_focal_loss`
/// semantics.
///
/// Per element, with `p = sigmoid(x)` and a binary (or soft) target `y`:
///
/// ```
/// ce  = binary_cross_entropy_with_logits(x, y)
/// p_t = p * y + (1 - p) * (1 - y)
/// l   = ce * (1 - p_t)^gamma
/// l  *= alpha * y + (1 - alpha) * (1 - y)       (only when alpha >= 0)
/// none = l, sum = sum(l), mean = sum(l) / numel
/// ```
///
/// The defaults `alpha = 0.25`, `gamma = 2` are torchvision's. torchvision's default reduction is
/// `"none"`; this package uses `.mean` as the single default for every loss, so pass
/// `reduction: .none` to reproduce a bare `sigmoid_focal_loss(x, y)` call. A negative `alpha`
/// disables the class balancing, as in torchvision (optax's `sigmoid_focal_loss` default,
/// `alpha=None`, corresponds to `alpha: -1`).
///
/// ```swift
/// let focal = SigmoidFocalLoss(reduction: .sum)
/// let (loss, gradient) = try focal.lossAndGradient(logits: scores, targets: boxesMatched)
/// ```
///
/// PyTorch equivalent: `torchvision.ops.sigmoid_focal_loss`.
public struct SigmoidFocalLoss: Sendable, Hashable {
  /// How per-element losses are combined. Default `.mean` (torchvision's default is none).
  public var reduction: Reduction
  /// The weight of positive targets in [0, 1]; negative disables the weighting; above 1 (or
  /// NaN) is refused when the loss is evaluated. Default 0.25.
  public var alpha: Double
  /// The focusing exponent, `gamma >= 0`; 0 gives (alpha-weighted) binary cross-entropy.
  /// Default 2.
  public var gamma: Double

  /// Creates a sigmoid focal-loss criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-element losses are combined. Default `.mean`.
  ///   - alpha: The positive-class weight; negative disables it. Default 0.25.
  ///   - gamma: The focusing exponent, at least 0. Default 2.
  public init(reduction: Reduction = .mean, alpha: Double = 0.25, gamma: Double = 2) {
    self.reduction = reduction
    self.alpha = alpha
    self.gamma = gamma
  }

  /// The focal loss of logits against binary targets.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any shape.
  ///   - targets: Targets in [0, 1] (usually 0 or 1), the same shape.
  /// - Returns: A 0-dimensional array, or one loss per element for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, or a negative or non-finite `gamma`, or an
  ///   `alpha` above 1 or NaN.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(logits, targets, wantsGradient: false).loss
  }

  /// The focal loss and its gradient with respect to the logits.
  ///
  /// ```
  /// dl/dx = a_t * ((p - y) * (1 - p_t)^gamma
  ///                - gamma * ce * (1 - p_t)^(gamma - 1) * p * (1 - p) * (2y - 1))
  /// ```
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any shape.
  ///   - targets: Targets in [0, 1], the same shape.
  /// - Returns: The loss and a gradient shaped like `logits` (for `.none`, of the sum).
  /// - Throws: ``LossError``, as ``loss(logits:targets:)``.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(logits, targets, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    try checkOptions()
    try checkSameShape(
      logits.shape, targets.shape, name: "logits", otherName: "targets",
      loss: "sigmoid focal loss")
    return try Kernels.outputs(
      lossShape: reduction == .none ? logits.shape : [],
      gradientShape: wantsGradient ? logits.shape : nil
    ) { loss, gradient throws(LossError) in
      try logits.withUnsafeBufferPointer { x throws(LossError) in
        try targets.withUnsafeBufferPointer { y throws(LossError) in
          try compute(logits: x, shape: logits.shape, targets: y, loss: loss, gradient: gradient)
        }
      }
    }
  }
}
