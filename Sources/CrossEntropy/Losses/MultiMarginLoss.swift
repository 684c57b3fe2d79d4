/// The multi-class hinge (margin) loss, with the semantics of PyTorch's `multi_margin_loss`
/// kernel.
///
/// For a sample `x` of `C` scores with label `y` and optional per-class weights `w`:
///
/// ```
/// l = sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C      (p in {1, 2})
/// none = l per sample, sum = sum(l), mean = sum(l) / N      (sum(l) / normalizer when set)
/// ```
///
/// The weight is that of the *target* class, applied to every term, and the sum is divided by
/// `C` (not `C - 1`), which is what PyTorch computes (its docstring's formula differs).
/// The input is `(N, C)`, `(C)` (one sample) or 0-dimensional (one sample of one class,
/// whose loss is 0); labels are `(N)`, or 0-dimensional or `(1)` for one sample. With `.none`,
/// a 0-dimensional label array gives a 0-dimensional loss, as in PyTorch. An empty batch
/// `(0, C)` gives 0 for `.sum` and NaN (0 / 0) for `.mean`; PyTorch returns uninitialised
/// memory there.
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
/// the loss): each sample's gradient row is multiplied by its `g` (one `g` for `.mean` and
/// `.sum`), every element of the row as PyTorch does, so a NaN `g` makes the whole row NaN.
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
  /// The denominator of `.mean`, or `nil` (the default) for the number of samples `N`. Set it
  /// to the global count when a batch is split into micro-batches or across processes. It must
  /// be finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates a multi-margin criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-sample losses are combined. Default `.mean`.
  ///   - p: The exponent, 1 or 2. Default 1.
  ///   - margin: The margin. Default 1.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the number of
  ///     samples, the default).
  public init(
    reduction: Reduction = .mean, p: Int = 1, margin: Double = 1, normalizer: Double? = nil
  ) {
    self.reduction = reduction
    self.p = p
    self.margin = margin
    self.normalizer = normalizer
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
  ///   classes, a label count that is not `N`, a label outside `0..<C`, a weight count that
  ///   is not `C`, or a ``normalizer`` that is not finite and > 0.
  /// - Complexity: O(N * C).
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(logits, labels, classWeights, upstreamGradient: nil, wantsGradient: false).loss
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
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (like the
  ///     labels for `.none`, 0-dimensional for `.mean` and `.sum`): the gradient returned is
  ///     the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil
  ///     (ones).
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:labels:classWeights:)``, and for an upstream
  ///   gradient not shaped like the loss.
  /// - Complexity: O(N * C).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, labels, classWeights, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ logits: ShapedArray<Scalar>, _ labels: ShapedArray<Int>, _ classWeights: [Scalar]?,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let problem = try makeProblem(shape: logits.shape)
    let samples = problem.samples
    guard labels.rank <= 1 && labels.scalars.count == samples else {
      throw .shapeMismatch(
        "labels shape \(describe(shape: labels.shape)) does not match multi-margin logits"
          + " shape \(describe(shape: logits.shape)); expected \(samples) label(s) in"
          + " shape [\(samples)]" + (samples == 1 ? " or []" : ""))
    }
    let lossShape = reduction == .none && labels.rank > 0 ? [samples] : []
    if let upstreamGradient, upstreamGradient.shape != lossShape {
      throw .shapeMismatch(
        "upstream gradient shape \(describe(shape: upstreamGradient.shape)) does not match the"
          + " loss shape \(describe(shape: lossShape)) of reduction \(reduction)")
    }
    return try Kernels.outputs(
      lossShape: lossShape,
      gradientShape: wantsGradient ? logits.shape : nil
    ) { loss, gradient throws(LossError) in
      try logits.withUnsafeBufferPointer { x throws(LossError) in
        try labels.withUnsafeBufferPointer { l throws(LossError) in
          try withOptionalBuffer(classWeights) { w throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
              try compute(
                logits: x, labels: l, classWeights: w, problem: problem,
                scalarLabels: labels.rank == 0, upstreamGradient: g, loss: loss,
                gradient: gradient)
            }
          }
        }
      }
    }
  }
}

// MARK: - Caller-owned memory

extension MultiMarginLoss {
  /// Writes the hinge loss of scores against class-index labels into a caller buffer, without
  /// copying: per sample `sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C`, reduced as
  /// ``reduction`` says.
  ///
  /// - Parameters:
  ///   - logits: Scores in row-major order.
  ///   - shape: The shape of `logits`: `(N, C)`, `(C)` or `()`.
  ///   - labels: Class indices, `N` of them (1 for a single sample).
  ///   - classWeights: Optional per-class weights, `C` of them.
  ///   - loss: Receives the loss: one element per sample for `.none`, else 1.
  /// - Throws: ``LossError`` for buffers whose sizes do not match `shape` (naming both sizes),
  ///   a `p` other than 1 or 2, a shape of rank above 2 or with no classes, a label outside
  ///   `0..<C`, or a weight count that is not `C`.
  /// - Complexity: O(N * C); O(1) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil, into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, labels: labels, classWeights: classWeights,
      problem: makeProblem(shape: shape), scalarLabels: false, upstreamGradient: nil, loss: loss,
      gradient: nil)
  }

  /// Writes the hinge loss and its gradient with respect to the scores into caller buffers:
  /// each violated term contributes `w[y] / C` (p = 1) or `2 z w[y] / C` (p = 2) to `x[i]` and
  /// its negative to `x[y]`; `.mean` further divides by `N`.
  ///
  /// - Parameters:
  ///   - logits: Scores in row-major order.
  ///   - shape: The shape of `logits`: `(N, C)`, `(C)` or `()`.
  ///   - labels: Class indices, `N` of them (1 for a single sample).
  ///   - classWeights: Optional per-class weights, `C` of them.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per sample for `.none`, 1 for `.mean` and `.sum`): the gradient written is the
  ///     vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: one element per sample for `.none`, else 1.
  ///   - gradient: Receives the gradient, as many elements as `logits`. It may be the same
  ///     memory as `logits`; see also
  ///     ``lossAndGradient(overwriting:shape:labels:classWeights:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:into:)``, and for a
  ///   gradient buffer or an upstream gradient of the wrong size.
  /// - Complexity: O(N * C); O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, labels: labels, classWeights: classWeights,
      problem: makeProblem(shape: shape), scalarLabels: false,
      upstreamGradient: upstreamGradient, loss: loss, gradient: gradient)
  }

  /// Computes the hinge loss and overwrites the scores with its gradient.
  ///
  /// - Parameters:
  ///   - logits: Scores in row-major order; on return, the gradient with respect to them.
  ///   - shape: The shape of `logits`: `(N, C)`, `(C)` or `()`.
  ///   - labels: Class indices, `N` of them (1 for a single sample).
  ///   - classWeights: Optional per-class weights, `C` of them.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per sample for `.none`, 1 for `.mean` and `.sum`): the gradient written is the
  ///     vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: one element per sample for `.none`, else 1.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:into:)``; the scores
  ///   are unchanged when it throws.
  /// - Complexity: O(N * C); O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: UnsafeBufferPointer(logits), labels: labels, classWeights: classWeights,
      problem: makeProblem(shape: shape), scalarLabels: false,
      upstreamGradient: upstreamGradient, loss: loss, gradient: logits)
  }

}

// MARK: - Validation and the kernel call

extension MultiMarginLoss {
  /// Checks `p` and the logits' shape, `(N, C)`, `(C)` or `()`.
  private func makeProblem(shape: [Int]) throws(LossError) -> MultiMarginProblem {
    try checkMultiMarginExponent(p)
    try checkNormalizer(normalizer)
    guard shape.count <= 2 else {
      throw .shapeMismatch(
        "multi-margin logits shape \(describe(shape: shape)) has rank \(shape.count);"
          + " expected (N, C), (C) or ()")
    }
    let classes = shape.isEmpty ? 1 : shape[shape.count - 1]
    guard classes > 0 else {
      throw LossError(
        .emptyClassDimension,
        "multi-margin logits shape \(describe(shape: shape)) has no classes;"
          + " expected at least 1")
    }
    return MultiMarginProblem(
      criterion: self, shape: shape, samples: shape.count == 2 ? shape[0] : 1, classes: classes)
  }

  /// Validates the buffers, the labels and the class weights, then runs the kernel. Nothing is
  /// written when it throws. `scalarLabels` (a 0-dimensional label array) only changes how a
  /// label's position is written in messages.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, problem: MultiMarginProblem, scalarLabels: Bool,
    upstreamGradient: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let (samples, classes) = (problem.samples, problem.classes)
    try checkCount(logits.count, shape: problem.shape, name: "logits")
    guard labels.count == samples else {
      throw .shapeMismatch(
        "labels hold \(describe(elementCount: labels.count)) but multi-margin logits shape"
          + " \(describe(shape: problem.shape)) needs \(samples), one per sample")
    }
    for (n, label) in labels.enumerated() where label < 0 || label >= classes {
      throw LossError(
        .labelOutOfRange,
        "label \(label) at position \(describe(shape: scalarLabels ? [] : [n]))"
          + " is outside 0..<\(classes)")
    }
    if let classWeights, classWeights.count != classes {
      throw .shapeMismatch(
        "class weights have \(describe(elementCount: classWeights.count)) but multi-margin logits have"
          + " \(classes) classes")
    }
    try checkLossCount(loss.count, reduction: reduction, rows: samples)
    try checkUpstreamGradient(count: upstreamGradient?.count, reduction: reduction, rows: samples)
    if let gradient {
      try checkGradientCount(gradient.count, shape: problem.shape, name: "logits")
    }
    Reference.multiMargin(
      logits: startAddress(logits.baseAddress), labels: labels, classWeights: classWeights,
      problem: problem, upstream: gradient == nil ? nil : upstreamGradient, loss: loss,
      gradient: gradient?.baseAddress)
  }
}
