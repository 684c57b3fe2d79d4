/// The multi-class hinge (margin) loss, with the semantics of PyTorch's `multi_margin_loss`
/// kernel.
///
/// For a sample `x` of `C` scores with label `y` and optional per-class weights `w`:
///
/// ```
/// l = sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C      (p in {1, 2})
/// none = l per sample, sum = sum(l), mean = sum(l) / N
/// ```
///
/// The weight is that of the *target* class, applied to every term, and the sum is divided by
/// `C` (not `C - 1`), which is what PyTorch computes (its docstring's formula differs).
/// The input is `(N, C)`, `(C)` (one sample) or 0-dimensional (one sample of one class,
/// whose loss is 0); labels are `(N)`, or 0-dimensional or `(1)` for one sample. With `.none`,
/// a 0-dimensional label array gives a 0-dimensional loss, as in PyTorch.
///
/// ```swift
/// let hinge = MultiMarginLoss(p: 2, margin: 0.5)
/// let (loss, gradient) = try hinge.lossAndGradient(logits: scores, labels: labels)
/// ```
///
/// PyTorch equivalent: `torch.nn.functional.multi_margin_loss`.
public struct MultiMarginLoss: Sendable, Hashable {
  /// How per-sample losses are combined. Default `.mean` (over samples).
  public var reduction: Reduction
  /// The exponent applied to each hinge term: 1 or 2. Default 1.
  public var p: Int
  /// The margin by which the target score should exceed the others. Default 1.
  public var margin: Double

  /// Creates a multi-margin criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-sample losses are combined. Default `.mean`.
  ///   - p: The exponent, 1 or 2. Default 1.
  ///   - margin: The margin. Default 1.
  public init(reduction: Reduction = .mean, p: Int = 1, margin: Double = 1) {
    self.reduction = reduction
    self.p = p
    self.margin = margin
  }

  /// The hinge loss of scores against class-index labels.
  ///
  /// - Parameters:
  ///   - logits: Scores, shaped `(N, C)`, `(C)` or `()`.
  ///   - labels: Class indices, `(N)`, or `()` / `(1)` for a single sample.
  ///   - classWeights: Optional per-class weights, `C` of them.
  /// - Returns: A 0-dimensional array, or for `.none` one loss per sample (`(N)`, or `()` when
  ///   `labels` is 0-dimensional).
  /// - Throws: ``LossError`` for a `p` other than 1 or 2, an input of rank above 2 or with no
  ///   classes, a label count that is not `N`, a label outside `0..<C`, or a weight count that
  ///   is not `C`.
  /// - Complexity: O(N * C).
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(logits, labels, classWeights, wantsGradient: false).loss
  }

  /// The hinge loss and its gradient with respect to the scores.
  ///
  /// Each violated term contributes `g = w[y] / C` (p = 1) or `2 * z * w[y] / C` (p = 2, with
  /// `z` the term's margin violation) to `x[i]` and its negative to `x[y]`; `.mean` further
  /// divides by `N`.
  ///
  /// - Parameters:
  ///   - logits: Scores, shaped `(N, C)`, `(C)` or `()`.
  ///   - labels: Class indices, `(N)`, or `()` / `(1)` for a single sample.
  ///   - classWeights: Optional per-class weights, `C` of them.
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:)``.
  /// - Complexity: O(N * C).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(logits, labels, classWeights, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, _ labels: ShapedArray<Int>, _ classWeights: [Scalar]?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    guard p == 1 || p == 2 else {
      throw .invalidOption("multi-margin p \(p) is not supported; expected 1 or 2")
    }
    guard logits.rank <= 2 else {
      throw .shapeMismatch(
        "multi-margin logits shape \(describe(shape: logits.shape)) has rank \(logits.rank);"
          + " expected (N, C), (C) or ()")
    }
    let samples = logits.rank == 2 ? logits.shape[0] : 1
    let classes = logits.rank == 0 ? 1 : logits.shape[logits.rank - 1]
    guard classes > 0 else {
      throw LossError(
        .emptyClassDimension,
        "multi-margin logits shape \(describe(shape: logits.shape)) has no classes;"
          + " expected at least 1")
    }
    guard labels.rank <= 1 && labels.scalars.count == samples else {
      throw .shapeMismatch(
        "labels shape \(describe(shape: labels.shape)) does not match multi-margin logits"
          + " shape \(describe(shape: logits.shape)); expected \(samples) label(s) in"
          + " shape [\(samples)]" + (samples == 1 ? " or []" : ""))
    }
    for (n, label) in labels.scalars.enumerated() where label < 0 || label >= classes {
      throw LossError(
        .labelOutOfRange,
        "label \(label) at position \(describe(shape: labels.rank == 0 ? [] : [n]))"
          + " is outside 0..<\(classes)")
    }
    if let classWeights, classWeights.count != classes {
      throw .shapeMismatch(
        "class weights have \(classWeights.count) elements but multi-margin logits have"
          + " \(classes) classes")
    }
    let elementwise = reduction == .none
    var losses = [Scalar](repeating: 0, count: elementwise ? samples : 1)
    var gradient: [Scalar]? = nil
    if wantsGradient { gradient = [Scalar](repeating: 0, count: logits.scalars.count) }
    let scale = reduction == .mean ? 1 / Double(samples) : 1
    var total = 0.0
    for n in 0..<samples {
      let value = Reference.multiMargin(
        row: logits.scalars, offset: n * classes, classes: classes, label: labels.scalars[n],
        weight: classWeights.map { Double($0[labels.scalars[n]]) } ?? 1, p: p, margin: margin,
        gradientScale: scale, gradient: &gradient)
      if elementwise { losses[n] = Scalar(value) } else { total += value }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    let lossShape = elementwise && labels.rank > 0 ? [samples] : []
    return (
      ShapedArray(uncheckedShape: lossShape, scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: logits.shape, scalars: $0) }
    )
  }
}
