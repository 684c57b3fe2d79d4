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
/// a 0-dimensional label array gives a 0-dimensional loss, as in PyTorch. An empty batch
/// `(0, C)` gives 0 for `.sum` and NaN (0 / 0) for `.mean`; PyTorch returns uninitialised
/// memory there.
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
    let (samples, classes) = try checkShapes(logits.shape)
    guard labels.rank <= 1 && labels.scalars.count == samples else {
      throw .shapeMismatch(
        "labels shape \(describe(shape: labels.shape)) does not match multi-margin logits"
          + " shape \(describe(shape: logits.shape)); expected \(samples) label(s) in"
          + " shape [\(samples)]" + (samples == 1 ? " or []" : ""))
    }
    try labels.withUnsafeBufferPointer { l throws(LossError) in
      try withOptionalBuffer(classWeights) { w throws(LossError) in
        try checkValues(
          labels: l, classWeights: w, classes: classes, scalarLabels: labels.rank == 0)
      }
    }
    let elementwise = reduction == .none
    var gradient: [Scalar]? = nil
    let losses = [Scalar](unsafeUninitializedCapacity: elementwise ? samples : 1) {
      lossBuffer, initialized in
      logits.withUnsafeBufferPointer { x in
        labels.withUnsafeBufferPointer { l in
          withOptionalBuffer(classWeights) { w in
            func run(_ g: UnsafeMutablePointer<Scalar>?) {
              compute(
                logits: startAddress(x.baseAddress), samples: samples, classes: classes,
                labels: l, classWeights: w, loss: mutableStartAddress(lossBuffer.baseAddress),
                gradient: g)
            }
            if wantsGradient {
              gradient = [Scalar](unsafeUninitializedCapacity: x.count) { g, done in
                run(mutableStartAddress(g.baseAddress))
                done = x.count
              }
            } else {
              run(nil)
            }
          }
        }
      }
      initialized = elementwise ? samples : 1
    }
    let lossShape = elementwise && labels.rank > 0 ? [samples] : []
    return (
      ShapedArray(uncheckedShape: lossShape, scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: logits.shape, scalars: $0) }
    )
  }

  /// Checks `p` and the logits' shape; returns the number of samples and of classes.
  private func checkShapes(_ shape: [Int]) throws(LossError) -> (samples: Int, classes: Int) {
    guard p == 1 || p == 2 else {
      throw .invalidOption("multi-margin p \(p) is not supported; expected 1 or 2")
    }
    guard shape.count <= 2 else {
      throw .shapeMismatch(
        "multi-margin logits shape \(describe(shape: shape)) has rank \(shape.count);"
          + " expected (N, C), (C) or ()")
    }
    let samples = shape.count == 2 ? shape[0] : 1
    let classes = shape.isEmpty ? 1 : shape[shape.count - 1]
    guard classes > 0 else {
      throw LossError(
        .emptyClassDimension,
        "multi-margin logits shape \(describe(shape: shape)) has no classes;"
          + " expected at least 1")
    }
    return (samples, classes)
  }

  /// Checks the labels' range and the class weights' count.
  private func checkValues<Scalar>(
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Scalar>?, classes: Int,
    scalarLabels: Bool
  ) throws(LossError) {
    for (n, label) in labels.enumerated() where label < 0 || label >= classes {
      throw LossError(
        .labelOutOfRange,
        "label \(label) at position \(describe(shape: scalarLabels ? [] : [n]))"
          + " is outside 0..<\(classes)")
    }
    if let classWeights, classWeights.count != classes {
      throw .shapeMismatch(
        "class weights have \(classWeights.count) elements but multi-margin logits have"
          + " \(classes) classes")
    }
  }

  /// The kernel over validated memory: `loss` receives `samples` values for `.none`, else 1;
  /// `gradient` (which may be `logits`), if not nil, every element.
  private func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, samples: Int, classes: Int, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutablePointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / Double(samples) : 1
    var total = 0.0
    for n in 0..<samples {
      let value = Reference.multiMargin(
        row: logits + n * classes, classes: classes, label: labels[n],
        weight: classWeights.map { Double($0[labels[n]]) } ?? 1, p: p, margin: margin,
        gradientScale: scale, gradient: gradient.map { $0 + n * classes })
      if elementwise { loss[n] = Scalar(value) } else { total += value }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
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
      logits: logits, shape: shape, labels: labels, classWeights: classWeights, loss: loss,
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
  ///   - loss: Receives the loss: one element per sample for `.none`, else 1.
  ///   - gradient: Receives the gradient, as many elements as `logits`. It may be the same
  ///     memory as `logits`; see also ``lossAndGradient(overwriting:shape:labels:classWeights:loss:)``.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:into:)``, and for a
  ///   gradient buffer of the wrong size.
  /// - Complexity: O(N * C); O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: logits, shape: shape, labels: labels, classWeights: classWeights, loss: loss,
      gradient: gradient)
  }

  /// Computes the hinge loss and overwrites the scores with its gradient.
  ///
  /// - Parameters:
  ///   - logits: Scores in row-major order; on return, the gradient with respect to them.
  ///   - shape: The shape of `logits`: `(N, C)`, `(C)` or `()`.
  ///   - labels: Class indices, `N` of them (1 for a single sample).
  ///   - classWeights: Optional per-class weights, `C` of them.
  ///   - loss: Receives the loss: one element per sample for `.none`, else 1.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:into:)``; the scores
  ///   are unchanged when it throws.
  /// - Complexity: O(N * C); O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logits: UnsafeBufferPointer(logits), shape: shape, labels: labels,
      classWeights: classWeights, loss: loss, gradient: logits)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let (samples, classes) = try checkShapes(shape)
    try checkCount(logits.count, shape: shape, name: "logits")
    guard labels.count == samples else {
      throw .shapeMismatch(
        "labels hold \(labels.count) elements but multi-margin logits shape"
          + " \(describe(shape: shape)) needs \(samples), one per sample")
    }
    try checkValues(
      labels: labels, classWeights: classWeights, classes: classes, scalarLabels: false)
    try checkLossCount(loss.count, reduction: reduction, rows: samples)
    if let gradient { try checkGradientCount(gradient.count, shape: shape, name: "logits") }
    compute(
      logits: startAddress(logits.baseAddress), samples: samples, classes: classes,
      labels: labels, classWeights: classWeights, loss: mutableStartAddress(loss.baseAddress),
      gradient: gradient?.baseAddress)
  }
}
