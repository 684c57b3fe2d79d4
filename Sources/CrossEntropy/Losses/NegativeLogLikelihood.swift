/// Negative log-likelihood of class-index labels, given log-probabilities, with PyTorch's
/// `F.nll_loss` semantics.
///
/// For each row `n` (every position except the class axis) with label `y`:
///
/// ```
/// l_n  = -w[y] * input_n[y]                               (0 where y == ignoreIndex)
/// mean = sum_n l_n / (sum of w[y] over non-ignored rows)  (a weighted mean)
/// ```
///
/// The input is used as given: feed it log-probabilities (for example from ``logSoftmax(_:alongAxis:)``).
/// Softmax cross-entropy is `logSoftmax` followed by this loss, fused; prefer
/// ``SoftmaxCrossEntropy`` when you start from logits. A `.mean` over a batch whose labels are
/// all ignored is `0 / 0 = NaN`, as in PyTorch (``allIgnored`` set to `.zero` gives 0).
///
/// Per-sample weights `s` (`sampleWeights:`, one per row) multiply each row's loss and gradient;
/// `.mean` then divides by `sum_n s_n * w[y_n]` over the non-ignored rows. An upstream gradient
/// `g` (`upstreamGradient:`, shaped like the loss) multiplies each row's gradient (`.none`) or
/// the whole gradient (`.mean`, `.sum`), as PyTorch's `loss.backward(gradient: g)`.
///
/// ```swift
/// let logProbabilities = try logSoftmax(logits)
/// let loss = try NegativeLogLikelihood().loss(logProbabilities: logProbabilities, labels: labels)
/// ```
///
/// PyTorch equivalent: `torch.nn.functional.nll_loss`.
public struct NegativeLogLikelihood: Sendable, Hashable {
  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// The axis that holds the classes; negative values count from the end. Default `-1`.
  public var classAxis: Int
  /// A label value whose rows contribute nothing. Default `-100`.
  public var ignoreIndex: Int
  /// The denominator of `.mean`, or `nil` (the default) for the batch's own weighted count.
  /// Set it to the global count when a batch is split into micro-batches or across processes.
  /// It must be finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?
  /// What `.mean` gives when no row takes part: `.nan` (the default, as PyTorch) or `.zero`.
  public var allIgnored: AllIgnoredMean

  /// Creates a negative log-likelihood criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the input; negative counts from the end. Default `-1`.
  ///   - ignoreIndex: The label value to skip. Default `-100`.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the batch's own,
  ///     the default).
  ///   - allIgnored: What `.mean` gives when no row takes part. Default `.nan`.
  public init(
    reduction: Reduction = .mean, classAxis: Int = -1, ignoreIndex: Int = -100,
    normalizer: Double? = nil, allIgnored: AllIgnoredMean = .nan
  ) {
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
    self.normalizer = normalizer
    self.allIgnored = allIgnored
  }

  /// The loss of log-probabilities against class-index labels.
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like the input without the class axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by `sum s * w[y]` over the
  ///     non-ignored rows. Values are used as given (NaN propagates); ignored rows do not read
  ///     theirs.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; for `.none`, one loss per label.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis or an
  ///   empty class dimension.
  /// - Complexity: O(n) in the number of rows plus the input size for the gradient.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, labels: ShapedArray<Int>,
    classWeights: [Scalar]? = nil, sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logProbabilities, labels, classWeights, sampleWeights, upstreamGradient: nil,
      wantsGradient: false
    ).loss
  }

  /// The loss of log-probabilities against class-index labels, and its gradient with respect to
  /// the log-probabilities (`-w[y] / denominator` at each label, 0 elsewhere).
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like the input without the class axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by `sum s * w[y]` over the
  ///     non-ignored rows. Values are used as given (NaN propagates); ignored rows do not read
  ///     theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss and a gradient shaped like the input.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:labels:classWeights:sampleWeights:)``.
  /// - Complexity: O(n) in the size of the input.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, labels: ShapedArray<Int>,
    classWeights: [Scalar]? = nil, sampleWeights: ShapedArray<Scalar>? = nil,
    upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logProbabilities, labels, classWeights, sampleWeights, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  /// Writes the loss of log-probabilities against class-index labels into a caller buffer,
  /// without copying.
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities in row-major order.
  ///   - shape: Their shape, classes on ``classAxis``.
  ///   - labels: Class indices, one per row, in the row-major order of `shape` without the class
  ///     axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by `sum s * w[y]` over the
  ///     non-ignored rows. Values are used as given (NaN propagates); ignored rows do not read
  ///     theirs.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  /// - Throws: ``LossError`` for wrong counts or shapes, labels out of range, a bad class axis
  ///   or an empty class dimension.
  /// - Complexity: O(n) in the number of rows.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logProbabilities.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    try compute(
      startAddress(logProbabilities.baseAddress), layout: layout, labels: labels,
      classWeights: classWeights, sampleWeights: sampleWeights, upstreamGradient: nil,
      loss: loss, gradient: nil)
  }

  /// Writes the loss and, optionally, its gradient into caller buffers, without copying.
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities in row-major order.
  ///   - shape: Their shape, classes on ``classAxis``.
  ///   - labels: Class indices, one per row, in the row-major order of `shape` without the class
  ///     axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by `sum s * w[y]` over the
  ///     non-ignored rows. Values are used as given (NaN propagates); ignored rows do not read
  ///     theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  ///   - gradient: If given, receives the gradient (as many elements as the input); it may be the
  ///     input's own memory (see also
  ///     ``lossAndGradient(overwriting:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:)``).
  /// - Throws: ``LossError`` for wrong counts or shapes, labels out of range, a bad class axis
  ///   or an empty class dimension.
  /// - Complexity: O(n) in the size of the input.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) {
    let layout = try bufferLayout(count: logProbabilities.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    if let gradient { try layout.checkGradientCount(gradient.count) }
    try compute(
      startAddress(logProbabilities.baseAddress), layout: layout, labels: labels,
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: gradient?.baseAddress)
  }

  /// Computes the loss and overwrites the log-probabilities with the gradient: no memory besides
  /// the loss.
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities in row-major order; on return, d(loss)/d(input)
  ///     (`-w[y] / denominator` at each label, 0 elsewhere).
  ///   - shape: Their shape, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (shaped like `labels`): each
  ///     multiplies its row's loss and gradient, and `.mean` divides by `sum s * w[y]` over the
  ///     non-ignored rows. Values are used as given (NaN propagates); ignored rows do not read
  ///     theirs.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (one
  ///     per row for `.none`, one value for `.mean` and `.sum`): the gradient returned is the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  /// - Throws: ``LossError``, as
  ///   ``loss(logProbabilities:shape:labels:classWeights:sampleWeights:into:)``; the input is unchanged when
  ///   it throws.
  /// - Complexity: O(n) in the size of the input.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logProbabilities: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logProbabilities.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    try compute(
      startAddress(UnsafePointer(logProbabilities.baseAddress)), layout: layout, labels: labels,
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: logProbabilities.baseAddress)
  }

  private func bufferLayout(count: Int, shape: [Int]) throws(LossError) -> ClassLayout {
    let layout = try ClassLayout(shape: shape, classAxis: classAxis, name: "log-probabilities")
    try checkCount(count, shape: shape, name: "log-probabilities")
    return layout
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ input: ShapedArray<Scalar>, _ labels: ShapedArray<Int>, _ classWeights: [Scalar]?,
    _ sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let layout = try ClassLayout(
      shape: input.shape, classAxis: classAxis, name: "log-probabilities")
    try layout.checkLabels(shape: labels.shape)
    try checkSampleWeights(
      shape: sampleWeights?.shape, rowShape: layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: layout.labelShape)
    var loss = [Scalar](repeating: 0, count: reduction == .none ? layout.rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: layout.count) : nil
    try withOptionalBuffer(classWeights) { weights throws(LossError) in
      try withOptionalBuffer(sampleWeights?.scalars) { samples throws(LossError) in
        try withOptionalBuffer(upstreamGradient?.scalars) { upstream throws(LossError) in
          try input.withUnsafeBufferPointer { inputBuffer throws(LossError) in
            try labels.withUnsafeBufferPointer { labelBuffer throws(LossError) in
              try loss.withUnsafeMutableBufferPointer { lossBuffer throws(LossError) in
                try withOptionalMutableBuffer(&gradient) { gradientBuffer throws(LossError) in
                  try compute(
                    startAddress(inputBuffer.baseAddress), layout: layout, labels: labelBuffer,
                    classWeights: weights, sampleWeights: samples, upstreamGradient: upstream,
                    loss: lossBuffer, gradient: gradientBuffer?.baseAddress)
                }
              }
            }
          }
        }
      }
    }
    return (
      ShapedArray(uncheckedShape: reduction == .none ? layout.labelShape : [], scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: layout.shape, scalars: $0) }
    )
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    _ input: UnsafePointer<Scalar>, layout: ClassLayout, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, sampleWeights: UnsafeBufferPointer<Scalar>?,
    upstreamGradient: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) throws(LossError) {
    try checkNormalizer(normalizer)
    try layout.checkClassWeights(count: classWeights?.count)
    try checkLossCount(loss.count, reduction: reduction, rows: layout.rows)
    try checkSampleWeights(
      count: sampleWeights?.count, rowShape: layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: layout.rows)
    try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    RowScales.with(
      sampleWeights: sampleWeights, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      rows: layout.rows
    ) { rowScales in
      Reference.negativeLogLikelihood(
        logProbabilities: input, labels: labels, classWeights: classWeights, layout: layout,
        ignoreIndex: ignoreIndex, reduction: reduction,
        mean: MeanRule(normalizer: normalizer, allIgnored: allIgnored), rowScales: rowScales,
        loss: loss, gradient: gradient)
    }
  }
}
