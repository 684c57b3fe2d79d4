/// Softmax cross-entropy of a linear layer's output, `CE(hidden · weightᵀ + bias, labels)`, and
/// its gradients, computed without ever holding the `N x V` logits: the language-model head.
///
/// For `N` hidden states of size `D` (`hidden`, any shape `[..., D]`), a classifier `weight` of
/// `V` rows of `D` (PyTorch's `nn.Linear` layout, `out_features x in_features`), an optional
/// `bias` of `V` and one class-index label per row, the loss is exactly
/// ``SoftmaxCrossEntropy``'s on the logits `hidden · weightᵀ + bias`, with the same options and
/// semantics (reduction, ignore index, label smoothing, class weights, z-loss, logit soft cap).
/// The gradients are those with respect to `hidden`, `weight` and `bias`.
///
/// The logits are computed, turned into their gradient and consumed one chunk of rows at a
/// time (Liger-Kernel's schedule): per chunk one matrix product for the logits, the fused
/// softmax cross-entropy row kernel writing the logits' gradient `G` in place, and two for the
/// gradients, `dH = G · W` and `dW += Gᵀ · H` (and `db += ` the column sums of `G`). At most
/// ``scratchLimit`` bytes of logits are alive at once; when a block of 16 full rows does not
/// fit, blocks of the vocabulary are taken in two passes instead (one more product).
///
/// ```swift
/// let head = LinearCrossEntropy(ignoreIndex: -100)
/// let hidden = try ShapedArray<Float>(shape: [2, 3], scalars: [1, 0, 2, 0, 1, 1])
/// let weight = try ShapedArray<Float>(shape: [4, 3], scalars: (0..<12).map { Float($0) / 10 })
/// let labels = try ShapedArray<Int>(shape: [2], scalars: [3, 0])
/// let result = try head.lossAndGradient(hidden: hidden, weight: weight, labels: labels)
/// // result.loss, result.hiddenGradient, result.weightGradient
/// ```
///
/// - `.mean` divides by the sum of the class weights of the non-ignored labels (their count
///   without weights), or by ``normalizer`` when it is set, for micro-batches whose losses and
///   gradients must add up to the whole batch's.
/// - For `.none`, the loss has one value per row and the gradients are those of their sum.
/// - Per-sample weights `s` (`sampleWeights:`, one per row) multiply each row's loss and its
///   part of every gradient; `.mean` then divides by `sum_n s_n * w[y_n]` over the non-ignored
///   rows (the z-loss term by `sum_n s_n`), unless ``normalizer`` is set. An upstream gradient
///   `g` (`upstreamGradient:`, one per row for `.none`, one value for `.mean` and `.sum`)
///   gives the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Both are
///   factors of the row kernel that writes the logits' gradient, so the products carry them
///   at no extra cost.
/// - Float and Double arrays and buffers compute in their own precision (Double for float64
///   parity); float16 and bfloat16 hidden states and classifiers take the buffer forms with
///   fp32 products, fp32 loss and fp32 gradients.
///
/// PyTorch equivalent: `F.cross_entropy(F.linear(hidden, weight, bias), labels, ...)`.
public struct LinearCrossEntropy: Sendable, Hashable {
  /// The default ``scratchLimit``: 64 MiB of logits.
  public static let defaultScratchLimit = 64 << 20

  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// A label value whose rows contribute nothing, to the loss, the gradients or the mean's
  /// denominator. Default `-100`, as PyTorch. It may lie outside `0..<V`.
  public var ignoreIndex: Int
  /// The amount `e` in [0, 1] of uniform distribution mixed into the target. Default 0.
  public var labelSmoothing: Double
  /// The z-loss scale `s >= 0`: adds `s * logsumexp(logits_n)^2` for every non-ignored row, as
  /// ``SoftmaxCrossEntropy/zLossScale``. Default 0 (off).
  public var zLossScale: Double
  /// The logit soft cap `c > 0`: logits become `c * tanh(x / c)` before the softmax, as
  /// ``SoftmaxCrossEntropy/logitSoftCap``. Default `nil` (off).
  public var logitSoftCap: Double?
  /// The denominator of `.mean`, or `nil` (the default) for the batch's own: the sum of the
  /// class weights of the non-ignored labels (their count without weights). Set it to the
  /// global count (or weight sum) of a batch split into micro-batches or across processes, so
  /// that their losses and gradients add up to the whole batch's. It divides the z-loss term
  /// too. Finite and > 0; `.sum` and `.none` do not use it. Same as
  /// ``SoftmaxCrossEntropy/normalizer``.
  public var normalizer: Double?
  /// What `.mean` gives when no row takes part (every label ignored, or weights that add up
  /// to 0): `.nan` (the default, PyTorch's `0 / 0`) or `.zero`. Both give zero gradients.
  public var allIgnored: AllIgnoredMean
  /// The most bytes of logits (or of their gradient, which takes their place) alive at once.
  /// Default ``defaultScratchLimit`` (64 MiB); must be > 0. Smaller limits mean more, smaller
  /// chunks; when 16 rows of all `V` classes exceed it, the vocabulary is split as well.
  public var scratchLimit: Int
  /// Whether the buffer forms add the weight and bias gradients into the caller's buffers
  /// instead of overwriting them: for micro-batches that accumulate one gradient. The hidden
  /// gradient is always overwritten, and the array forms always return fresh gradients.
  /// Default `false`.
  public var accumulatesGradients: Bool

  /// Creates a linear cross-entropy criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - ignoreIndex: The label value to skip. Default `-100`.
  ///   - labelSmoothing: The smoothing amount, in [0, 1]. Default 0.
  ///   - zLossScale: The z-loss scale, finite and >= 0. Default 0 (off).
  ///   - logitSoftCap: The soft cap, finite and > 0, or `nil` (off, the default).
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the batch's own,
  ///     the default).
  ///   - scratchLimit: The most bytes of logits alive at once, > 0. Default 64 MiB.
  ///   - accumulatesGradients: Whether the buffer forms add into the weight and bias gradients.
  ///     Default `false`.
  ///   - allIgnored: What `.mean` gives when no row takes part. Default `.nan`.
  public init(
    reduction: Reduction = .mean, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
    zLossScale: Double = 0, logitSoftCap: Double? = nil, normalizer: Double? = nil,
    scratchLimit: Int = LinearCrossEntropy.defaultScratchLimit,
    accumulatesGradients: Bool = false, allIgnored: AllIgnoredMean = .nan
  ) {
    self.reduction = reduction
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossScale = zLossScale
    self.logitSoftCap = logitSoftCap
    self.normalizer = normalizer
    self.scratchLimit = scratchLimit
    self.accumulatesGradients = accumulatesGradients
    self.allIgnored = allIgnored
  }
}

// MARK: - Arrays

extension LinearCrossEntropy {
  /// The loss of a linear layer's output against class-index labels.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
  ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
  ///   - bias: The classifier's bias, shape `[V]`, or `nil`.
  ///   - labels: Class indices, shaped like `hidden` without its last axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`: each multiplies its
  ///     row's loss, and `.mean` divides by `sum s * w[y]` over the non-ignored rows (unless
  ///     ``normalizer`` is set). Any value is used as given; ignored rows do not read theirs.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; for `.none`, one loss per label,
  ///   shaped like `labels`.
  /// - Throws: ``LossError`` for a hidden size that differs between `hidden` and `weight`, a
  ///   bias or class weights of the wrong length, mismatched labels or sample weights, labels
  ///   out of range, or invalid options.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread (and O(N) with sample weights).
  public func loss<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The loss of a linear layer's output against class-index labels, and its gradients with
  /// respect to the hidden states, the classifier and its bias.
  ///
  /// For `.none` the gradients are those of the sum of the per-label losses, or with an
  /// upstream gradient `g`, the vector-Jacobian product `sum_n g_n * d(l_n)/d(hidden, weight,
  /// bias)`, as PyTorch's `loss.backward(gradient: g)`:
  ///
  /// ```swift
  /// let head = LinearCrossEntropy(reduction: .none)
  /// let g = try ShapedArray<Float>(shape: [2], scalars: [0.5, -1])
  /// let result = try head.lossAndGradient(
  ///   hidden: hidden, weight: weight, labels: labels, upstreamGradient: g)
  /// ```
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
  ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
  ///   - bias: The classifier's bias, shape `[V]`, or `nil`.
  ///   - labels: Class indices, shaped like `hidden` without its last axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`; see
  ///     ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``. They multiply each
  ///     row's gradient too.
  ///   - upstreamGradient: Optional gradient of a later computation with respect to the loss,
  ///     shaped like the loss (like `labels` for `.none`, 0-dimensional for `.mean` and
  ///     `.sum`): each row's part of every gradient is multiplied by its value (by the one
  ///     value for a reduced loss). Default nil (ones).
  /// - Returns: The loss (as ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``;
  ///   the upstream gradient does not change it), the gradients shaped like `hidden` and
  ///   `weight`, and the bias gradient when there is a bias.
  /// - Throws: ``LossError``, as ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``,
  ///   and for an upstream gradient not shaped like the loss.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and the gradients (and O(N) with sample weights or an upstream gradient).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, hiddenGradient: ShapedArray<Scalar>,
    weightGradient: ShapedArray<Scalar>, biasGradient: ShapedArray<Scalar>?
  ) {
    let result = try evaluate(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.hidden!, result.weight!, result.bias)
  }

  /// The one path of the array forms: validates, allocates the outputs and runs ``compute``;
  /// `statistics`, if not nil, receives one ``RowStatistics`` per row.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func evaluate<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>?,
    labels: ShapedArray<Int>, classWeights: [Scalar]?, sampleWeights: ShapedArray<Scalar>?,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, hidden: ShapedArray<Scalar>?, weight: ShapedArray<Scalar>?,
    bias: ShapedArray<Scalar>?
  ) {
    try Self.checkHiddenShape(hidden.shape)
    let labelShape = Array(hidden.shape.dropLast())
    guard labels.shape == labelShape else {
      throw .shapeMismatch(
        "labels shape \(describe(shape: labels.shape)) does not match hidden shape"
          + " \(describe(shape: hidden.shape)) without its last axis;"
          + " expected \(describe(shape: labelShape))")
    }
    try Self.checkWeightShape(weight.shape, hiddenShape: hidden.shape)
    if let bias, bias.shape != [weight.shape[0]] {
      throw .shapeMismatch(
        "bias shape \(describe(shape: bias.shape)) does not match weight shape"
          + " \(describe(shape: weight.shape)); expected [\(weight.shape[0])], one per class")
    }
    try checkSampleWeights(shape: sampleWeights?.shape, rowShape: labelShape, rowName: "labels")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: labelShape)
    let rows = labels.scalars.count
    var loss = [Scalar](repeating: 0, count: reduction == .none ? rows : 1)
    var hiddenGradient = wantsGradient ? [Scalar](repeating: 0, count: hidden.scalars.count) : nil
    var weightGradient = wantsGradient ? [Scalar](repeating: 0, count: weight.scalars.count) : nil
    var biasGradient =
      wantsGradient && bias != nil ? [Scalar](repeating: 0, count: weight.shape[0]) : nil
    var fresh = self
    fresh.accumulatesGradients = false
    try hidden.withUnsafeBufferPointer { h throws(LossError) in
      try weight.withUnsafeBufferPointer { w throws(LossError) in
        try withOptionalBuffer(bias?.scalars) { b throws(LossError) in
          try labels.withUnsafeBufferPointer { y throws(LossError) in
            try withOptionalBuffer(classWeights) { cw throws(LossError) in
              try withOptionalBuffer(sampleWeights?.scalars) { sw throws(LossError) in
                try withOptionalBuffer(upstreamGradient?.scalars) { ug throws(LossError) in
                  try loss.withUnsafeMutableBufferPointer { l throws(LossError) in
                    try withOptionalMutableBuffer(&hiddenGradient) { dh throws(LossError) in
                      try withOptionalMutableBuffer(&weightGradient) { dw throws(LossError) in
                        try withOptionalMutableBuffer(&biasGradient) { db throws(LossError) in
                          try fresh.compute(
                            hidden: h, shape: hidden.shape, weight: w,
                            weightShape: weight.shape, bias: b, labels: y, classWeights: cw,
                            sampleWeights: sw, upstreamGradient: ug, loss: l,
                            hiddenGradient: dh, weightGradient: dw, biasGradient: db,
                            logSumExp: nil, statistics: statistics)
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return (
      ShapedArray(uncheckedShape: reduction == .none ? labelShape : [], scalars: loss),
      hiddenGradient.map { ShapedArray(uncheckedShape: hidden.shape, scalars: $0) },
      weightGradient.map { ShapedArray(uncheckedShape: weight.shape, scalars: $0) },
      biasGradient.map { ShapedArray(uncheckedShape: [weight.shape[0]], scalars: $0) }
    )
  }
}

// MARK: - Validation and the kernel call

extension LinearCrossEntropy {
  /// Checks the hidden states' shape: rank >= 1 (the last axis is the hidden size), no
  /// negative extent, not too many elements.
  static func checkHiddenShape(_ shape: [Int]) throws(LossError) {
    _ = try elementCount(of: shape, name: "hidden shape")
    guard !shape.isEmpty else {
      throw .shapeMismatch(
        "hidden must have at least 1 dimension (the hidden size), got shape []")
    }
  }

  /// Checks the classifier's shape against the hidden states': `[V, D]` with `V >= 1` and the
  /// hidden size `D` of `hidden`.
  static func checkWeightShape(_ shape: [Int], hiddenShape: [Int]) throws(LossError) {
    _ = try elementCount(of: shape, name: "weight shape")
    let size = hiddenShape.last!
    guard shape.count == 2, shape[1] == size else {
      throw .shapeMismatch(
        "weight shape \(describe(shape: shape)) does not match hidden shape"
          + " \(describe(shape: hiddenShape)); expected [V, \(size)], one row of the hidden size"
          + " per class")
    }
    guard shape[0] > 0 else {
      throw LossError(
        .emptyClassDimension,
        "weight shape \(describe(shape: shape)) has no classes; expected at least 1 row")
    }
  }

  /// Checks that a caller buffer holds `expected` elements, naming it and the shape it follows;
  /// `plural` says whether `name` is a plural noun ("labels hold", "bias holds").
  static func checkBuffer(
    _ count: Int?, name: String, plural: Bool = false, expected: Int, of shapeName: String,
    _ shape: [Int]
  ) throws(LossError) {
    guard let count, count != expected else { return }
    let verb = plural ? "hold" : "holds"
    throw .shapeMismatch(
      "\(name) \(verb) \(describe(elementCount: count)) but \(shapeName) shape"
        + " \(describe(shape: shape)) needs \(expected)")
  }

  /// Checks that a gradient buffer does not start where the input it is the gradient of does:
  /// the schedule reads the hidden states and the classifier after writing their gradients.
  static func checkSeparate<G, I>(
    _ gradient: UnsafeMutableBufferPointer<G>?, from input: UnsafeBufferPointer<I>, name: String,
    input inputName: String
  ) throws(LossError) {
    guard let start = gradient?.baseAddress, gradient?.isEmpty == false, !input.isEmpty,
      UnsafeRawPointer(start) == UnsafeRawPointer(input.baseAddress)
    else { return }
    throw .invalidOption(
      "\(name) is the memory of \(inputName); it must be a separate buffer (\(inputName) is read"
        + " after its gradient is written)")
  }

  /// Validates every argument, then runs the schedule: the one path of every Float and Double
  /// form. Nothing is written when it throws. `statistics`, if not nil, receives one
  /// ``RowStatistics`` per row.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: BinaryFloatingPoint>(
    hidden: UnsafeBufferPointer<Scalar>, shape: [Int], weight: UnsafeBufferPointer<Scalar>,
    weightShape: [Int], bias: UnsafeBufferPointer<Scalar>?, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, sampleWeights: UnsafeBufferPointer<Scalar>?,
    upstreamGradient: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    hiddenGradient: UnsafeMutableBufferPointer<Scalar>?,
    weightGradient: UnsafeMutableBufferPointer<Scalar>?,
    biasGradient: UnsafeMutableBufferPointer<Scalar>?,
    logSumExp: UnsafeMutableBufferPointer<Scalar>?,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) throws(LossError) {
    let classWeight = classWeights.map { w in { (c: Int) in Double(w[c]) } }
    let problem = try validate(
      hiddenCount: hidden.count, shape: shape, weightCount: weight.count,
      weightShape: weightShape, biasCount: bias?.count, labels: labels,
      classWeights: classWeight, classWeightCount: classWeights?.count,
      sampleWeightCount: sampleWeights?.count, upstreamGradientCount: upstreamGradient?.count,
      lossCount: loss.count, hiddenGradientCount: hiddenGradient?.count,
      weightGradientCount: weightGradient?.count, biasGradientCount: biasGradient?.count,
      logSumExpCount: logSumExp?.count)
    try Self.checkSeparate(
      hiddenGradient, from: hidden, name: "hidden gradient",
      input: "hidden")
    try Self.checkSeparate(
      weightGradient, from: weight, name: "weight gradient",
      input: "weight")
    withRowScales(
      problem, labels: labels, classWeights: classWeight, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient,
      wantsGradient: hiddenGradient != nil || weightGradient != nil || biasGradient != nil
    ) { problem in
      Kernels.linearCrossEntropy(
        hidden: startAddress(hidden.baseAddress), weight: startAddress(weight.baseAddress),
        bias: bias.map { startAddress($0.baseAddress) }, labels: labels,
        classWeights: classWeights, problem: problem, loss: loss,
        hiddenGradient: hiddenGradient.map { mutableStartAddress($0.baseAddress) },
        weightGradient: weightGradient.map { mutableStartAddress($0.baseAddress) },
        biasGradient: biasGradient.map { mutableStartAddress($0.baseAddress) },
        logSumExp: logSumExp.map { mutableStartAddress($0.baseAddress) },
        statistics: statistics)
    }
  }

  /// Checks the shapes, the buffer counts, the options and the labels, in that order, and
  /// returns the schedule's problem with the whole batch's `.mean` denominators (unweighted:
  /// ``withRowScales(_:labels:classWeights:sampleWeights:upstreamGradient:wantsGradient:_:)``
  /// weighs them).
  func validate(
    hiddenCount: Int, shape: [Int], weightCount: Int, weightShape: [Int], biasCount: Int?,
    labels: UnsafeBufferPointer<Int>, classWeights: ((Int) -> Double)?, classWeightCount: Int?,
    sampleWeightCount: Int?, upstreamGradientCount: Int?,
    lossCount: Int, hiddenGradientCount: Int?, weightGradientCount: Int?,
    biasGradientCount: Int?, logSumExpCount: Int?
  ) throws(LossError) -> LinearCrossEntropyProblem {
    try Self.checkHiddenShape(shape)
    try checkCount(hiddenCount, shape: shape, name: "hidden")
    try Self.checkWeightShape(weightShape, hiddenShape: shape)
    try checkCount(weightCount, shape: weightShape, name: "weight")
    let size = shape.last!
    let rows = shape.dropLast().reduce(1, *)
    let classes = weightShape[0]
    try Self.checkBuffer(biasCount, name: "bias", expected: classes, of: "weight", weightShape)
    try Self.checkBuffer(
      labels.count, name: "labels", plural: true, expected: rows, of: "hidden", shape)
    try Self.checkBuffer(
      classWeightCount, name: "class weights", plural: true, expected: classes, of: "weight",
      weightShape)
    try checkSampleWeights(
      count: sampleWeightCount, rowShape: Array(shape.dropLast()), rowName: "labels")
    try checkUpstreamGradient(count: upstreamGradientCount, reduction: reduction, rows: rows)
    try checkLossCount(lossCount, reduction: reduction, rows: rows)
    try Self.checkBuffer(
      hiddenGradientCount, name: "hidden gradient", expected: hiddenCount, of: "hidden", shape)
    try Self.checkBuffer(
      weightGradientCount, name: "weight gradient", expected: weightCount, of: "weight",
      weightShape)
    try Self.checkBuffer(
      biasGradientCount, name: "bias gradient", expected: classes, of: "weight", weightShape)
    try Self.checkBuffer(
      logSumExpCount, name: "log-sum-exp buffer", expected: rows, of: "hidden", shape)
    try checkLabelSmoothing(labelSmoothing)
    try checkLogitOptions(zLossScale: zLossScale, logitSoftCap: logitSoftCap)
    try checkNormalizer(normalizer)
    guard scratchLimit > 0 else {
      throw .invalidOption(
        "scratch limit \(scratchLimit) is invalid; expected a positive number of bytes")
    }
    let layout = try ClassLayout(shape: Array(shape.dropLast()) + [classes], classAxis: -1)
    try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    var denominators = MeanDenominators(loss: 0, zLoss: 0)
    if let normalizer {
      denominators = MeanDenominators(normalizer: normalizer)
    } else {
      for label in labels where label != ignoreIndex {
        denominators.loss += classWeights?(label) ?? 1
        denominators.zLoss += 1
      }
      denominators = allIgnored.denominators(denominators)
    }
    return LinearCrossEntropyProblem(
      rows: rows, hiddenSize: size, classes: classes, ignoreIndex: ignoreIndex,
      labelSmoothing: labelSmoothing, reduction: reduction, zLossScale: zLossScale,
      logitSoftCap: logitSoftCap, denominators: denominators, scratchLimit: scratchLimit,
      accumulates: accumulatesGradients)
  }

  /// Calls `body` with `problem` carrying the row scales of `sampleWeights` and
  /// `upstreamGradient` (the latter only when a gradient is computed) and, for a `.mean`
  /// with sample weights and no ``normalizer``, the weighted denominators: the sum over the
  /// non-ignored rows of the sample weight times the class weight of the label, and for the
  /// z-loss the sum of their sample weights. Without either, `body` gets `problem` as it is.
  func withRowScales<W: BinaryFloatingPoint, R>(
    _ problem: LinearCrossEntropyProblem, labels: UnsafeBufferPointer<Int>,
    classWeights: ((Int) -> Double)?, sampleWeights: UnsafeBufferPointer<W>?,
    upstreamGradient: UnsafeBufferPointer<W>?, wantsGradient: Bool,
    _ body: (LinearCrossEntropyProblem) -> R
  ) -> R {
    RowScales.with(
      sampleWeights: sampleWeights, upstreamGradient: wantsGradient ? upstreamGradient : nil,
      rows: problem.rows
    ) { rowScales in
      var problem = problem
      problem.rowScales = rowScales
      if let rowScales, rowScales.loss != nil, normalizer == nil, reduction == .mean {
        let counts = rowScales.weightedCounts(
          rows: problem.rows, labels: labels, ignoreIndex: ignoreIndex,
          classWeight: { classWeights?($0) ?? 1 })
        problem.denominators = allIgnored.denominators(
          MeanDenominators(loss: counts.weighted, zLoss: counts.plain))
      }
      return body(problem)
    }
  }
}
