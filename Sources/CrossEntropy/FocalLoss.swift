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
    try checkFocusing(gamma)
    try checkBalance(alpha)
    try checkSameShape(
      logits.shape, targets.shape, name: "logits", otherName: "targets",
      loss: "sigmoid focal loss")
    let count = logits.scalars.count
    let lossCount = reduction == .none ? count : 1
    var gradient: [Scalar]? = nil
    // `compute` writes every element of the loss and of the gradient.
    let loss = [Scalar](unsafeUninitializedCapacity: lossCount) { lossBuffer, initialized in
      func run(_ g: UnsafeMutablePointer<Scalar>?) {
        logits.withUnsafeBufferPointer { x in
          targets.withUnsafeBufferPointer { y in
            compute(
              logits: startAddress(x.baseAddress), targets: startAddress(y.baseAddress),
              count: count, loss: lossBuffer, gradient: g)
          }
        }
      }
      if wantsGradient {
        gradient = [Scalar](unsafeUninitializedCapacity: count) { g, gradientInitialized in
          run(g.baseAddress)
          gradientInitialized = count
        }
      } else {
        run(nil)
      }
      initialized = lossCount
    }
    return (
      ShapedArray(uncheckedShape: reduction == .none ? logits.shape : [], scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: logits.shape, scalars: $0) }
    )
  }
}

/// The multi-class (softmax) focal loss: cross-entropy down-weighted on well-classified rows.
///
/// Per row with class-index label `y`, `p_y = softmax(x)[y]` and optional per-class weights
/// `alpha`:
///
/// ```
/// l    = -alpha[y] * (1 - p_y)^gamma * log(p_y)        (0 where y == ignoreIndex)
/// none = l per row, sum = sum(l), mean = sum(l) / (number of non-ignored rows)
/// ```
///
/// The mean divides by the *count* of non-ignored rows, not by the sum of their `alpha`
/// (unlike weighted cross-entropy); this is what the common PyTorch implementations do
/// (`nll_loss(weight=alpha, reduction="none")` times the focal term, then a plain mean).
/// With `gamma = 0` and no `alpha` it equals ``SoftmaxCrossEntropy``. An empty or fully
/// ignored batch gives NaN for `.mean`, with a zero gradient.
///
/// ```swift
/// let focal = SoftmaxFocalLoss(gamma: 2)
/// let loss = try focal.loss(logits: logits, labels: labels, alpha: [0.25, 0.75])
/// ```
public struct SoftmaxFocalLoss: Sendable, Hashable {
  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// The axis of the logits that holds the classes; negative counts from the end. Default -1.
  public var classAxis: Int
  /// The label value whose rows contribute nothing. Default -100.
  public var ignoreIndex: Int
  /// The focusing exponent, `gamma >= 0`. Default 2.
  public var gamma: Double

  /// Creates a softmax focal-loss criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the logits. Default -1.
  ///   - ignoreIndex: The label value to skip. Default -100.
  ///   - gamma: The focusing exponent, at least 0. Default 2.
  public init(
    reduction: Reduction = .mean, classAxis: Int = -1, ignoreIndex: Int = -100,
    gamma: Double = 2
  ) {
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
    self.gamma = gamma
  }

  /// The focal loss of logits against class-index labels.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - alpha: Optional per-class weights, one per class.
  /// - Returns: A 0-dimensional array, or one loss per label for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis, an
  ///   empty class dimension, a wrong `alpha` count, or a negative `gamma`.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, alpha: [Scalar]? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(logits, labels, alpha, wantsGradient: false).loss
  }

  /// The focal loss and its gradient with respect to the logits.
  ///
  /// With `f(u) = -(1 - e^u)^gamma * u` at `u = log p_y`, the gradient of a row is
  /// `alpha[y] * f'(u) * (onehot(y) - softmax(x))`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - alpha: Optional per-class weights, one per class.
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:labels:alpha:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, alpha: [Scalar]? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(logits, labels, alpha, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, _ labels: ShapedArray<Int>, _ alpha: [Scalar]?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    try checkFocusing(gamma)
    let layout = try ClassLayout(shape: logits.shape, classAxis: classAxis)
    try layout.checkLabels(shape: labels.shape)
    if let alpha, alpha.count != layout.classes {
      throw .shapeMismatch(
        "focal alpha has \(alpha.count) elements but logits have \(layout.classes) classes"
          + " on axis \(layout.axis)")
    }
    try labels.withUnsafeBufferPointer { buffer throws(LossError) in
      try layout.checkLabelRange(buffer, ignoreIndex: ignoreIndex)
    }
    let weights = alpha.map { $0.map(Double.init) }
    if let fast = Kernels.softmaxFocal(
      logits: logits, labels: labels, alpha: weights, layout: layout, ignoreIndex: ignoreIndex,
      gamma: gamma, reduction: reduction, wantsGradient: wantsGradient)
    {
      return fast
    }
    return Reference.softmaxFocal(
      logits: logits.scalars, labels: labels.scalars, alpha: weights, layout: layout,
      ignoreIndex: ignoreIndex, gamma: gamma, reduction: reduction, wantsGradient: wantsGradient)
  }
}

/// Checks a focal-loss exponent: finite and at least 0.
/// Checks the sigmoid focal loss's `alpha`: a weight in [0, 1], or negative to disable it.
/// torchvision (from 0.29) refuses an alpha above 1, which weights the negatives by `1 - alpha
/// < 0`; so does this package. It accepts any negative alpha as "disabled" (torchvision 0.29
/// accepts only -1; earlier versions any negative value).
func checkBalance(_ alpha: Double) throws(LossError) {
  guard alpha <= 1 else {
    throw .invalidOption(
      "focal alpha \(alpha) is invalid; expected a weight in [0, 1], or a negative value to"
        + " disable the weighting")
  }
}

func checkFocusing(_ gamma: Double) throws(LossError) {
  guard gamma >= 0 && gamma.isFinite else {
    throw .invalidOption("focal gamma \(gamma) is invalid; expected a finite value >= 0")
  }
}
