import RealModule

/// The multi-class (softmax) focal loss: cross-entropy down-weighted on well-classified rows.
///
/// Per row with class-index label `y`, `p_y = softmax(x)[y]` and optional per-class weights
/// `alpha` (the `classWeights` argument):
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
/// Per-sample weights `s` (`sampleWeights:`) multiply each row's loss and gradient, and `.mean`
/// divides by `sum_n s_n` over the non-ignored rows. An upstream gradient (`upstreamGradient:`)
/// gives the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`.
///
/// ```swift
/// let focal = SoftmaxFocalLoss(gamma: 2)
/// let loss = try focal.loss(logits: logits, labels: labels, classWeights: [0.25, 0.75])
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
  /// The denominator of `.mean`, or `nil` (the default) for the batch's own count of
  /// non-ignored rows (or sum of their sample weights). Set it to the global count when a batch
  /// is split into micro-batches or across processes. It must be finite and > 0.
  public var normalizer: Double?
  /// What `.mean` gives when no row takes part: `.nan` (the default, as PyTorch) or `.zero`.
  public var allIgnored: AllIgnoredMean

  /// Creates a softmax focal-loss criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the logits. Default -1.
  ///   - ignoreIndex: The label value to skip. Default -100.
  ///   - gamma: The focusing exponent, at least 0. Default 2.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the batch's own,
  ///     the default).
  ///   - allIgnored: What `.mean` gives when no row takes part. Default `.nan`.
  public init(
    reduction: Reduction = .mean, classAxis: Int = -1, ignoreIndex: Int = -100,
    gamma: Double = 2, normalizer: Double? = nil, allIgnored: AllIgnoredMean = .nan
  ) {
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
    self.gamma = gamma
    self.normalizer = normalizer
    self.allIgnored = allIgnored
  }

  /// How `.mean` finds its denominator.
  var meanRule: MeanRule { MeanRule(normalizer: normalizer, allIgnored: allIgnored) }

  /// The focal loss of logits against class-index labels.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - classWeights: Optional per-class weights `alpha`, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  /// - Returns: A 0-dimensional array, or one loss per label for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis, an
  ///   empty class dimension, a wrong `classWeights` count, or a negative `gamma`.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, labels, classWeights, sampleWeights, upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The focal loss and its gradient with respect to the logits.
  ///
  /// With `f(u) = -(1 - e^u)^gamma * u` at `u = log p_y`, the gradient of a row is
  /// `alpha[y] * f'(u) * (onehot(y) - softmax(x))`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - classWeights: Optional per-class weights `alpha`, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:sampleWeights:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, labels, classWeights, sampleWeights, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, _ labels: ShapedArray<Int>, _ classWeights: [Scalar]?,
    _ sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let problem = try makeProblem(shape: logits.shape)
    try problem.layout.checkLabels(shape: labels.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: problem.layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: problem.layout.labelShape)
    return try Kernels.outputs(
      lossShape: reduction == .none ? problem.layout.labelShape : [],
      gradientShape: wantsGradient ? logits.shape : nil
    ) { loss, gradient throws(LossError) in
      try logits.withUnsafeBufferPointer { x throws(LossError) in
        try labels.withUnsafeBufferPointer { l throws(LossError) in
          try withOptionalBuffer(classWeights) { w throws(LossError) in
            try withOptionalBuffer(sampleWeights?.scalars) { s throws(LossError) in
              try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
                try compute(
                  logits: x, labels: l, classWeights: w, sampleWeights: s, upstreamGradient: g,
                  problem: problem, loss: loss, gradient: gradient)
              }
            }
          }
        }
      }
    }
  }
}
