/// Softmax cross-entropy from raw logits, with PyTorch's `F.cross_entropy` semantics.
///
/// For each row `n` (every position except the class axis) with class-index label `y`:
///
/// ```
/// l_n  = -w[y] * log_softmax(x_n)[y]                     (0 where y == ignoreIndex)
/// s_n  = -sum_c w[c] * log_softmax(x_n)[c]               (label smoothing only)
/// loss = (1 - e) * reduce(l) + (e / C) * reduce(s)
/// mean = sum / (sum of w[y] over non-ignored rows)       (a weighted mean, as PyTorch)
/// ```
///
/// With probability targets `t`, `l_n = -sum_c w[c] * t'[c] * log_softmax(x_n)[c]` where
/// `t' = (1 - e) * t + e / C`, and the mean divides by the number of rows.
///
/// The log-softmax is evaluated in the log-sum-exp form, never as `log(softmax(x))`.
/// A `.mean` over a batch whose labels are all ignored is `0 / 0 = NaN`, as in PyTorch;
/// its gradient is 0. Set ``allIgnored`` to `.zero` for 0 instead.
///
/// Per-sample weights `s` (one per row, `sampleWeights:`) multiply each row's loss and
/// gradient; `.mean` then divides by `sum_n s_n * w[y_n]` over the non-ignored rows (`sum_n s_n`
/// for probability targets), PyTorch's weighted mean extended, unless ``normalizer`` is set.
/// An upstream gradient `g` (`upstreamGradient:`) gives the vector-Jacobian product
/// `sum_n g_n * d(l_n)/d(x)` for `.none` (`g` shaped like the per-row loss) and `g * d(loss)/d(x)`
/// for `.mean` and `.sum` (`g` 0-dimensional), as PyTorch's `loss.backward(gradient: g)`.
///
/// ```swift
/// let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)
/// let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [2, 1, 0, 0, 1, 2])
/// let labels = try ShapedArray<Int>(shape: [2], scalars: [0, 2])
/// let (loss, gradient) = try criterion.lossAndGradient(logits: logits, labels: labels)
/// ```
///
/// PyTorch equivalent: `torch.nn.functional.cross_entropy`.
public struct SoftmaxCrossEntropy: Sendable, Hashable {
  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// The axis of the logits that holds the classes; negative values count from the end.
  /// Default `-1` (last). PyTorch's layout for `(N, C, d1, ...)` inputs is axis `1`.
  public var classAxis: Int
  /// A label value whose rows contribute nothing, to the loss or the mean's denominator.
  /// Default `-100`, as PyTorch. It may lie outside `0..<C`.
  public var ignoreIndex: Int
  /// The amount `e` in [0, 1] of uniform distribution mixed into the target. Default 0.
  public var labelSmoothing: Double
  /// The z-loss scale `s >= 0` (PaLM; Liger-Kernel's `lse_square_scale`): adds
  /// `s * logsumexp(x_n)^2` for every non-ignored row. Default 0 (off). See
  /// ``zLoss(logits:labels:)`` for its semantics and for reporting it on its own.
  public var zLossScale: Double
  /// The logit soft cap `c > 0` (Gemma 2): logits become `c * tanh(x / c)` before the softmax,
  /// and the gradient is chained through it. Default `nil` (off).
  public var logitSoftCap: Double?
  /// The denominator of `.mean`, or `nil` (the default) for the batch's own: the sum of the
  /// class weights of the non-ignored labels (their count without weights), or the row count
  /// for probability targets. Set it when a batch is split into micro-batches or across
  /// processes: with the global denominator, the micro-batches' losses and gradients add up to
  /// the whole batch's. It divides the z-loss term too. It must be finite and > 0; `.sum` and
  /// `.none` do not use it.
  public var normalizer: Double?
  /// What `.mean` gives when no row takes part (every label ignored, or weights that add up
  /// to 0): `.nan` (the default, PyTorch's `0 / 0`) or `.zero`. Both give a zero gradient.
  public var allIgnored: AllIgnoredMean

  /// Creates a softmax cross-entropy criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the logits; negative counts from the end. Default `-1`.
  ///   - ignoreIndex: The label value to skip. Default `-100`.
  ///   - labelSmoothing: The smoothing amount, in [0, 1]. Default 0.
  ///   - zLossScale: The z-loss scale, finite and >= 0. Default 0 (off).
  ///   - logitSoftCap: The soft cap, finite and > 0, or `nil` (off, the default).
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the batch's own,
  ///     the default).
  ///   - allIgnored: What `.mean` gives when no row takes part. Default `.nan`.
  public init(
    reduction: Reduction = .mean, classAxis: Int = -1, ignoreIndex: Int = -100,
    labelSmoothing: Double = 0, zLossScale: Double = 0, logitSoftCap: Double? = nil,
    normalizer: Double? = nil, allIgnored: AllIgnoredMean = .nan
  ) {
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossScale = zLossScale
    self.logitSoftCap = logitSoftCap
    self.normalizer = normalizer
    self.allIgnored = allIgnored
  }

  /// How `.mean` finds its denominator.
  var meanRule: MeanRule { MeanRule(normalizer: normalizer, allIgnored: allIgnored) }
}

// MARK: - Arrays

extension SoftmaxCrossEntropy {
  /// The loss of logits against class-index labels.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`: each multiplies its
  ///     row's loss, and `.mean` divides by `sum s * w[y]` over the non-ignored rows. Any value
  ///     is used as given (a negative weight flips the row's sign, NaN propagates); ignored
  ///     rows do not read theirs.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; for `.none`, one loss per label,
  ///   shaped like `labels`.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis, an
  ///   empty class dimension, or label smoothing outside [0, 1].
  /// - Complexity: O(n) in the number of logits; O(C) extra memory (O(N) with sample
  ///   weights).
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The loss of logits against class-index labels, and its gradient with respect to the logits.
  ///
  /// For `.none` the gradient is that of the sum of the per-label losses, or with an upstream
  /// gradient `g`, the vector-Jacobian product `sum_n g_n * d(l_n)/d(logits)`:
  ///
  /// ```swift
  /// let criterion = SoftmaxCrossEntropy(reduction: .none)
  /// let g = try ShapedArray<Float>(shape: [2], scalars: [0.5, -1])
  /// let (loss, gradient) = try criterion.lossAndGradient(
  ///   logits: logits, labels: labels, upstreamGradient: g)
  /// ```
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`; see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``. They multiply each row's
  ///     gradient too.
  ///   - upstreamGradient: Optional gradient of a later computation with respect to the loss,
  ///     shaped like the loss (like `labels` for `.none`, 0-dimensional for `.mean` and
  ///     `.sum`): each row's gradient is multiplied by its value (the reduced loss's gradient
  ///     by the one value), as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss (as ``loss(logits:labels:classWeights:sampleWeights:)``; the upstream
  ///   gradient does not change it) and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:sampleWeights:)``, and for
  ///   an upstream gradient not shaped like the loss.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient (O(N)
  ///   with sample weights or an upstream gradient).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  /// The loss of logits against probability (soft) targets.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - targets: Target distributions, shaped like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, shaped like `logits` without the class
  ///     axis: each multiplies its row's loss, and `.mean` divides by their sum.
  /// - Returns: A 0-dimensional array for `.mean` (which divides by the number of rows) and
  ///   `.sum`; for `.none`, one loss per row, shaped like `logits` without the class axis.
  /// - Throws: ``LossError`` for mismatched shapes, a bad class axis, an empty class dimension,
  ///   label smoothing outside [0, 1], or a non-negative ``ignoreIndex`` (which PyTorch rejects
  ///   for probability targets).
  /// - Complexity: O(n) in the number of logits; O(C) extra memory (O(N) with sample
  ///   weights).
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, targets: targets, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The loss of logits against probability targets, and its gradient with respect to the logits.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - targets: Target distributions, shaped like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, shaped like `logits` without the class
  ///     axis; see ``loss(logits:targets:classWeights:sampleWeights:)``.
  ///   - upstreamGradient: Optional upstream gradient shaped like the loss; see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:targets:classWeights:sampleWeights:)``, and for
  ///   an upstream gradient not shaped like the loss.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient (O(N)
  ///   with sample weights or an upstream gradient).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, targets: targets, classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]?,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let layout = try ClassLayout(shape: logits.shape, classAxis: classAxis)
    try layout.checkLabels(shape: labels.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: layout.labelShape)
    return try labels.withUnsafeBufferPointer { labelBuffer throws(LossError) in
      try run(
        logits, layout: layout, target: .labels(labelBuffer), classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
        wantsGradient: wantsGradient)
    }
  }

  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]?,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let layout = try ClassLayout(shape: logits.shape, classAxis: classAxis)
    try checkTargetShape(targets.shape, logitsShape: layout.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: layout.labelShape, rowName: "logits rows")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: layout.labelShape)
    return try targets.withUnsafeBufferPointer { targetBuffer throws(LossError) in
      try run(
        logits, layout: layout, target: .probabilities(targetBuffer), classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
        wantsGradient: wantsGradient)
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func run<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, layout: ClassLayout, target: SoftmaxTarget<Scalar>,
    classWeights: [Scalar]?, sampleWeights: ShapedArray<Scalar>?,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let lossShape = reduction == .none ? layout.labelShape : []
    var loss = [Scalar](repeating: 0, count: reduction == .none ? layout.rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: layout.count) : nil
    try withOptionalBuffer(classWeights) { weights throws(LossError) in
      try withOptionalBuffer(sampleWeights?.scalars) { samples throws(LossError) in
        try withOptionalBuffer(upstreamGradient?.scalars) { upstream throws(LossError) in
          try logits.withUnsafeBufferPointer { logitBuffer throws(LossError) in
            try loss.withUnsafeMutableBufferPointer { lossBuffer throws(LossError) in
              try withOptionalMutableBuffer(&gradient) { gradientBuffer throws(LossError) in
                try compute(
                  logits: startAddress(logitBuffer.baseAddress), layout: layout, target: target,
                  classWeights: weights, sampleWeights: samples, upstreamGradient: upstream,
                  loss: lossBuffer, gradient: gradientBuffer?.baseAddress)
              }
            }
          }
        }
      }
    }
    return (
      ShapedArray(uncheckedShape: lossShape, scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: layout.shape, scalars: $0) }
    )
  }
}

// MARK: - Validation and the kernel call

extension SoftmaxCrossEntropy {
  func bufferLayout(count: Int, shape: [Int]) throws(LossError) -> ClassLayout {
    let layout = try ClassLayout(shape: shape, classAxis: classAxis)
    try checkCount(count, shape: shape, name: "logits")
    return layout
  }

  /// Validates the options and the data, then runs the kernel.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, layout: ClassLayout, target: SoftmaxTarget<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>?, sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) throws(LossError) {
    try checkLabelSmoothing(labelSmoothing)
    try checkLogitOptions(zLossScale: zLossScale, logitSoftCap: logitSoftCap)
    try checkNormalizer(normalizer)
    try layout.checkClassWeights(count: classWeights?.count)
    try checkLossCount(loss.count, reduction: reduction, rows: layout.rows)
    var rowName = "labels"
    if case .probabilities = target { rowName = "logits rows" }
    try checkSampleWeights(
      count: sampleWeights?.count, rowShape: layout.labelShape, rowName: rowName)
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: layout.rows)
    switch target {
    case .labels(let labels):
      try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    case .probabilities:
      guard ignoreIndex < 0 else {
        throw .invalidOption(
          "ignore index \(ignoreIndex) is not supported with probability targets;"
            + " expected a negative value such as the default -100")
      }
    }
    RowScales.with(
      sampleWeights: sampleWeights, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      rows: layout.rows
    ) { rowScales in
      let problem = SoftmaxProblem(
        layout: layout, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
        reduction: reduction, zLossScale: zLossScale, logitSoftCap: logitSoftCap,
        denominators: normalizer.map(MeanDenominators.init(normalizer:)),
        rowScales: rowScales, allIgnored: allIgnored)
      if let statistics, case .labels(let labels) = target {
        Kernels.softmaxCrossEntropy(
          logits: logits, labels: labels, classWeights: classWeights, problem: problem,
          loss: loss, gradient: gradient, statistics: statistics)
      } else {
        Kernels.softmaxCrossEntropy(
          logits: logits, target: target, classWeights: classWeights, problem: problem,
          loss: loss, gradient: gradient)
      }
    }
  }
}
