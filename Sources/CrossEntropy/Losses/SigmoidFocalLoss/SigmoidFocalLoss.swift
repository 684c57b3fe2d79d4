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
/// none = l, sum = sum(l), mean = sum(l) / numel      (sum(l) / normalizer when set)
/// ```
///
/// Per-sample weights `s` (`sampleWeights:`, one per leading row: `[N]` for logits of shape
/// `[N, ...]`) multiply the loss and gradient of every element of their row, and the mean
/// still divides by the number of elements, as
/// `(sigmoid_focal_loss(x, y, reduction="none") * s.view(-1, 1, ...)).mean()` (and mmdetection's
/// weighted focal loss) computes it. ``normalizer`` replaces the element count, as mmdetection's
/// `avg_factor` (`loss.sum() / avg_factor`, the number of positive anchors, say). An upstream gradient (`upstreamGradient:`, shaped like the
/// loss: like the logits for `.none`, 0-dimensional for `.mean` and `.sum`) gives the
/// vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`.
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
  /// The denominator of `.mean`, or `nil` (the default) for the number of elements: mmdetection's
  /// `avg_factor`, or a global count when a batch is split across micro-batches or processes.
  /// It must be finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates a sigmoid focal-loss criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-element losses are combined. Default `.mean`.
  ///   - alpha: The positive-class weight; negative disables it. Default 0.25.
  ///   - gamma: The focusing exponent, at least 0. Default 2.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the number of
  ///     elements, the default).
  public init(
    reduction: Reduction = .mean, alpha: Double = 0.25, gamma: Double = 2,
    normalizer: Double? = nil
  ) {
    self.reduction = reduction
    self.alpha = alpha
    self.gamma = gamma
    self.normalizer = normalizer
  }

  /// The focal loss of logits against binary targets.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any shape.
  ///   - targets: Targets in [0, 1] (usually 0 or 1), the same shape.
  ///   - sampleWeights: Optional per-sample weights, shape `[N]` for logits of shape
  ///     `[N, ...]` (`[]` for 0-dimensional logits): each multiplies the loss of every element
  ///     of its row; `.mean` still divides by the number of elements. Any value is used as
  ///     given.
  /// - Returns: A 0-dimensional array, or one loss per element for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, or a negative or non-finite `gamma`, an
  ///   `alpha` above 1 or NaN, or a ``normalizer`` that is not finite and > 0.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, targets, sampleWeights: sampleWeights, upstreamGradient: nil, wantsGradient: false
    ).loss
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
  ///   - sampleWeights: Optional per-sample weights, one per leading row; see
  ///     ``loss(logits:targets:sampleWeights:)``. They multiply the gradient too.
  ///   - upstreamGradient: Optional gradient of a later computation with respect to the loss,
  ///     shaped like the loss (like `logits` for `.none`, 0-dimensional for `.mean` and
  ///     `.sum`): each element's gradient is multiplied by its value (by the one value for a
  ///     reduced loss), as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss (the upstream gradient does not change it) and a gradient shaped like
  ///   `logits` (for `.none`, of the sum, or of the sum weighted by `upstreamGradient`).
  /// - Throws: ``LossError``, as ``loss(logits:targets:sampleWeights:)``, and for an upstream
  ///   gradient not shaped like the loss.
  /// - Complexity: O(n) in the number of elements (O(n) extra memory with an upstream
  ///   gradient).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, targets, sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  /// The shape of the sample weights of logits of `shape`: one per leading row.
  static func sampleWeightShape(_ shape: [Int]) -> [Int] { shape.isEmpty ? [] : [shape[0]] }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    try checkOptions()
    try checkSameShape(
      logits.shape, targets.shape, name: "logits", otherName: "targets",
      loss: "sigmoid focal loss")
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: Self.sampleWeightShape(logits.shape),
      rowName: "logits rows")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: logits.shape)
    return try Kernels.outputs(
      lossShape: reduction == .none ? logits.shape : [],
      gradientShape: wantsGradient ? logits.shape : nil
    ) { loss, gradient throws(LossError) in
      try logits.withUnsafeBufferPointer { x throws(LossError) in
        try targets.withUnsafeBufferPointer { y throws(LossError) in
          try withOptionalBuffer(sampleWeights?.scalars) { s throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { u throws(LossError) in
              try compute(
                logits: x, shape: logits.shape, targets: y, sampleWeights: s,
                upstreamGradient: u, loss: loss, gradient: gradient)
            }
          }
        }
      }
    }
  }
}
