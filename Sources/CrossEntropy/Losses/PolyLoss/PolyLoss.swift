/// Poly-1 cross-entropy (Leng et al., 2022), with optax's `poly_loss_cross_entropy`
/// semantics: cross-entropy plus `epsilon` times the first polynomial term `1 - p_t`.
///
/// For each row `n` with target distribution `t` (one-hot for class-index labels) and
/// `p = softmax(x_n)`:
///
/// ```
/// p_t  = sum_c t_c * p_c
/// l_n  = -sum_c t_c * log p_c + epsilon * sum_c t_c * (1 - p_c)    (0 where y == ignoreIndex)
/// none = l_n, sum = sum(l_n), mean = sum(l_n) / (number of non-ignored rows)
/// dl_n/dx_c = p_c * sum(t) - t_c - epsilon * p_c * (t_c - p_t)
/// ```
///
/// The polynomial term is written as optax 0.2.8 computes it, `sum_c t_c * (1 - p_c)`, which is
/// `1 - p_t` for targets that sum to 1. optax returns the per-row losses (our `.none`); its default `epsilon` is 2, kept here
/// (the paper's ImageNet setting is 1). `epsilon = 0` gives ``SoftmaxCrossEntropy``; a
/// negative `epsilon` (down to -1) is allowed, as in the paper.
///
/// Per-sample weights `s` (`sampleWeights:`) multiply each row's loss and gradient, and `.mean`
/// divides by `sum_n s_n` over the non-ignored rows. An upstream gradient (`upstreamGradient:`)
/// gives the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`.
///
/// ```swift
/// let poly = PolyLoss(epsilon: 1)
/// let (loss, gradient) = try poly.lossAndGradient(logits: logits, labels: labels)
/// ```
public struct PolyLoss: Sendable, Hashable {
  /// The coefficient of `1 - p_t`. Default 2, as optax.
  public var epsilon: Double
  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// The axis of the logits that holds the classes; negative counts from the end. Default -1.
  public var classAxis: Int
  /// The label value whose rows contribute nothing (class-index labels only). Default -100.
  public var ignoreIndex: Int
  /// The denominator of `.mean`, or `nil` (the default) for the batch's own count of
  /// non-ignored rows (or sum of their sample weights). Set it to the global count when a batch
  /// is split into micro-batches or across processes. It must be finite and > 0.
  public var normalizer: Double?
  /// What `.mean` gives when no row takes part: `.nan` (the default, as PyTorch) or `.zero`.
  public var allIgnored: AllIgnoredMean

  /// Creates a Poly-1 criterion.
  ///
  /// - Parameters:
  ///   - epsilon: The coefficient of `1 - p_t`, finite. Default 2.
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the logits. Default -1.
  ///   - ignoreIndex: The label value to skip. Default -100.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the batch's own,
  ///     the default).
  ///   - allIgnored: What `.mean` gives when no row takes part. Default `.nan`.
  public init(
    epsilon: Double = 2, reduction: Reduction = .mean, classAxis: Int = -1,
    ignoreIndex: Int = -100, normalizer: Double? = nil, allIgnored: AllIgnoredMean = .nan
  ) {
    self.epsilon = epsilon
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
    self.normalizer = normalizer
    self.allIgnored = allIgnored
  }

  /// How `.mean` finds its denominator.
  var meanRule: MeanRule { MeanRule(normalizer: normalizer, allIgnored: allIgnored) }

  /// The Poly-1 loss of logits against class-index labels.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  /// - Returns: A 0-dimensional array, or one loss per label for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis, an
  ///   empty class dimension, or a non-finite `epsilon`.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, labels: labels, sampleWeights: sampleWeights, upstreamGradient: nil,
      wantsGradient: false
    ).loss
  }

  /// The Poly-1 loss against class-index labels and its gradient with respect to the logits.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss and a gradient shaped like `logits` (for `.none`, of the sum).
  /// - Throws: ``LossError``, as ``loss(logits:labels:sampleWeights:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, labels: labels, sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  /// The Poly-1 loss of logits against probability targets (optax's `labels` argument).
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - targets: Target distributions, shaped like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `logits` without
  ///     the class axis): each multiplies its row's loss and gradient, and `.mean` divides by
  ///     their sum (in place of the row count).
  /// - Returns: A 0-dimensional array (the mean divides by the number of rows), or one loss per
  ///   row for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, a bad class axis, an empty class dimension,
  ///   or a non-finite `epsilon`.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, targets: targets, sampleWeights: sampleWeights, upstreamGradient: nil,
      wantsGradient: false
    ).loss
  }

  /// The Poly-1 loss against probability targets and its gradient with respect to the logits.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - targets: Target distributions, shaped like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `logits` without
  ///     the class axis): each multiplies its row's loss and gradient, and `.mean` divides by
  ///     their sum (in place of the row count).
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss and a gradient shaped like `logits` (for `.none`, of the sum).
  /// - Throws: ``LossError``, as ``loss(logits:targets:sampleWeights:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, targets: targets, sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, sampleWeights: ShapedArray<Scalar>?,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let problem = try makeProblem(shape: logits.shape)
    try problem.layout.checkLabels(shape: labels.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: problem.layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: problem.layout.labelShape)
    return try labels.withUnsafeBufferPointer { l throws(LossError) in
      try run(
        logits, target: .labels(l), sampleWeights: sampleWeights,
        upstreamGradient: upstreamGradient, problem: problem, wantsGradient: wantsGradient)
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let problem = try makeProblem(shape: logits.shape)
    try checkTargetShape(targets.shape, logitsShape: logits.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: problem.layout.labelShape, rowName: "logits rows")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: problem.layout.labelShape)
    return try targets.withUnsafeBufferPointer { t throws(LossError) in
      try run(
        logits, target: .probabilities(t), sampleWeights: sampleWeights,
        upstreamGradient: upstreamGradient, problem: problem, wantsGradient: wantsGradient)
    }
  }

  /// The array forms' outputs, filled by the buffer core.
  private func run<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, target: SoftmaxTarget<Scalar>,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    problem: PolyProblem, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    try Kernels.outputs(
      lossShape: reduction == .none ? problem.layout.labelShape : [],
      gradientShape: wantsGradient ? logits.shape : nil
    ) { loss, gradient throws(LossError) in
      try logits.withUnsafeBufferPointer { x throws(LossError) in
        try withOptionalBuffer(sampleWeights?.scalars) { s throws(LossError) in
          try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
            try compute(
              logits: x, target: target, sampleWeights: s, upstreamGradient: g,
              problem: problem, loss: loss, gradient: gradient)
          }
        }
      }
    }
  }
}

// MARK: - Caller-owned memory

extension PolyLoss {
  /// Writes the Poly-1 loss of logits against class-index labels into a caller buffer, without
  /// copying: per row `-log p_y + epsilon (1 - p_y)` with `p = softmax(x)`, reduced as
  /// ``reduction`` says.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row in the row-major order of `shape` without the class
  ///     axis.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError`` for buffers whose sizes do not match `shape` (naming both sizes),
  ///   labels out of range, a bad class axis, an empty class dimension, or a non-finite
  ///   `epsilon`.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, target: .labels(labels), sampleWeights: sampleWeights,
      problem: makeProblem(shape: shape), loss: loss, gradient: nil)
  }

  /// Writes the Poly-1 loss against class-index labels and its gradient with respect to the
  /// logits into caller buffers: per row `p - onehot(y) - epsilon p (onehot(y) - p_y)`, times
  /// `1 / kept rows` for `.mean`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient (of the sum for `.none`), as many elements as
  ///     `logits`. It may be the same memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:labels:sampleWeights:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:sampleWeights:into:)``, and for a gradient buffer
  ///   of the wrong size.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, target: .labels(labels), sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, problem: makeProblem(shape: shape), loss: loss,
      gradient: gradient)
  }

  /// Computes the Poly-1 loss against class-index labels and overwrites the logits with its
  /// gradient: no memory besides O(C) scratch.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, the gradient with respect to them.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by their sum over the
  ///     non-ignored rows (in place of the row count). Values are used as given (NaN
  ///     propagates); ignored rows do not read theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:sampleWeights:into:)``; the logits are unchanged
  ///   when it throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: UnsafeBufferPointer(logits), target: .labels(labels),
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      problem: makeProblem(shape: shape), loss: loss, gradient: logits)
  }

  /// Writes the Poly-1 loss of logits against probability targets into a caller buffer.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `logits` without
  ///     the class axis): each multiplies its row's loss and gradient, and `.mean` divides by
  ///     their sum (in place of the row count).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:sampleWeights:into:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, target: .probabilities(targets), sampleWeights: sampleWeights,
      problem: makeProblem(shape: shape), loss: loss, gradient: nil)
  }

  /// Writes the Poly-1 loss against probability targets and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `logits` without
  ///     the class axis): each multiplies its row's loss and gradient, and `.mean` divides by
  ///     their sum (in place of the row count).
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient (of the sum for `.none`), as many elements as
  ///     `logits`. It may be the same memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:targets:sampleWeights:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``lossAndGradient(logits:shape:labels:sampleWeights:upstreamGradient:loss:gradient:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, target: .probabilities(targets), sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, problem: makeProblem(shape: shape), loss: loss,
      gradient: gradient)
  }

  /// Computes the Poly-1 loss against probability targets and overwrites the logits with its
  /// gradient: no memory besides O(C) scratch.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, the gradient with respect to them.
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits`.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `logits` without
  ///     the class axis): each multiplies its row's loss and gradient, and `.mean` divides by
  ///     their sum (in place of the row count).
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:targets:sampleWeights:into:)``; the logits are unchanged
  ///   when it throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: UnsafeBufferPointer(logits), target: .probabilities(targets),
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      problem: makeProblem(shape: shape), loss: loss, gradient: logits)
  }
}

// MARK: - Validation and the kernel call

extension PolyLoss {
  /// Checks `epsilon` and resolves the class axis of `shape`.
  private func makeProblem(shape: [Int]) throws(LossError) -> PolyProblem {
    try checkPolyEpsilon(epsilon)
    try checkNormalizer(normalizer)
    return PolyProblem(
      criterion: self, layout: try ClassLayout(shape: shape, classAxis: classAxis))
  }

  /// Validates the buffers and the labels, then runs the kernel. Nothing is written when it
  /// throws.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, target: SoftmaxTarget<Scalar>,
    sampleWeights: UnsafeBufferPointer<Scalar>?,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    problem: PolyProblem, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let layout = problem.layout
    try checkCount(logits.count, shape: layout.shape, name: "logits")
    switch target {
    case .labels(let labels):
      try layout.checkLabelCount(labels.count)
      try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    case .probabilities(let targets):
      try checkSameCount(
        targets.count, name: "targets", input: "logits", shape: layout.shape,
        expected: layout.count)
    }
    try checkLossCount(loss.count, reduction: reduction, rows: layout.rows)
    if let gradient { try layout.checkGradientCount(gradient.count) }
    var rowName = "labels"
    if case .probabilities = target { rowName = "logits rows" }
    try checkSampleWeights(
      count: sampleWeights?.count, rowShape: layout.labelShape, rowName: rowName)
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: layout.rows)
    RowScales.with(
      sampleWeights: sampleWeights, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      rows: layout.rows
    ) { rowScales in
      var problem = problem
      problem.rowScales = rowScales
      Reference.polyLoss(
        logits: startAddress(logits.baseAddress), target: target, problem: problem, loss: loss,
        gradient: gradient?.baseAddress)
    }
  }
}
