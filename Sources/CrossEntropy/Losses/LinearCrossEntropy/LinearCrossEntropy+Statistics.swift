/// The statistics of the language-model head's softmax rows (log-sum-exp, predicted token,
/// probability of the target token, entropy, token accuracy), gathered from the same pass as
/// the loss, without holding the `N x V` logits: the chunked schedule's fused row kernel
/// computes them in its passes over each chunk, and the vocabulary-block schedule accumulates
/// them over its blocks in Double.
///
/// ```swift
/// let head = LinearCrossEntropy()
/// let (loss, statistics) = try head.lossAndStatistics(
///   hidden: hidden, weight: weight, labels: labels)
/// print(loss.scalars[0], statistics.accuracy)  // token accuracy
/// ```
extension LinearCrossEntropy {
  /// The loss of a linear layer's output against class-index labels, and the statistics of
  /// each row's softmax over the logits `hidden · weightᵀ + bias`, from the same pass.
  ///
  /// The statistics are ``SoftmaxCrossEntropy``'s on those logits (see ``SoftmaxStatistics``,
  /// soft-capped logits if ``logitSoftCap`` is set): ignored rows get their log-sum-exp,
  /// predicted class and entropy, a NaN target probability, and do not count towards the
  /// accuracy. They do not depend on the class weights, sample weights, label smoothing,
  /// z-loss or reduction.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
  ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
  ///   - bias: The classifier's bias, shape `[V]`, or `nil`.
  ///   - labels: Class indices, shaped like `hidden` without its last axis.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`; see
  ///     ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``.
  /// - Returns: The loss, the same bits as
  ///   ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``, and the statistics,
  ///   shaped like `labels`.
  /// - Throws: ``LossError``, as ``loss(hidden:weight:bias:labels:classWeights:sampleWeights:)``.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and O(N) for the statistics.
  public func lossAndStatistics<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, statistics: SoftmaxStatistics<Scalar>) {
    var rows = [RowStatistics](repeating: .zero, count: labels.scalars.count)
    let result = try rows.withUnsafeMutableBufferPointer { rows throws(LossError) in
      try evaluate(
        hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: nil, wantsGradient: false,
        statistics: rows.baseAddress)
    }
    return (
      result.loss, SoftmaxStatistics(rows: rows, labels: labels, ignoreIndex: ignoreIndex)
    )
  }

  /// The loss of a linear layer's output against class-index labels, its gradients with
  /// respect to the hidden states, the classifier and its bias, and the statistics of each
  /// row's softmax, from the same pass: a training step that reports its token accuracy.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
  ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
  ///   - bias: The classifier's bias, shape `[V]`, or `nil`.
  ///   - labels: Class indices, shaped like `hidden` without its last axis.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
  ///   - upstreamGradient: Optional upstream gradient shaped like the loss; see
  ///     ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Returns: The loss and gradients, the same bits as
  ///   ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``,
  ///   and the statistics (see ``lossAndStatistics(hidden:weight:bias:labels:classWeights:sampleWeights:)``).
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(hidden:weight:bias:labels:classWeights:sampleWeights:upstreamGradient:)``.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread, the gradients and O(N) for the statistics.
  public func lossGradientAndStatistics<Scalar: BinaryFloatingPoint>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
    sampleWeights: ShapedArray<Scalar>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, hiddenGradient: ShapedArray<Scalar>,
    weightGradient: ShapedArray<Scalar>, biasGradient: ShapedArray<Scalar>?,
    statistics: SoftmaxStatistics<Scalar>
  ) {
    var rows = [RowStatistics](repeating: .zero, count: labels.scalars.count)
    let result = try rows.withUnsafeMutableBufferPointer { rows throws(LossError) in
      try evaluate(
        hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, wantsGradient: true,
        statistics: rows.baseAddress)
    }
    return (
      result.loss, result.hidden!, result.weight!, result.bias,
      SoftmaxStatistics(rows: rows, labels: labels, ignoreIndex: ignoreIndex)
    )
  }
}

// MARK: - Caller-owned buffers

/// The statistics forms over caller-owned memory: every statistics buffer is optional (nil: not
/// written) and holds one element per row. Unlike the `logSumExp:` buffer of
/// ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``,
/// which holds 0 for ignored rows, these hold every row's statistics (see
/// ``SoftmaxStatistics``). The counts of the accuracy are returned.
extension LinearCrossEntropy {
  /// Writes the loss of a linear layer's output against class-index labels and the statistics
  /// of each row's softmax into caller buffers.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states in row-major order.
  ///   - shape: The shape of `hidden`, `[..., D]` (rank >= 1).
  ///   - weight: The classifier in row-major order, `V` rows of `D` (`nn.Linear`'s weight).
  ///   - weightShape: The shape of `weight`, `[V, D]`.
  ///   - bias: The classifier's bias, `V` elements, or `nil`.
  ///   - labels: Class indices, one per row of `hidden`.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, one per label.
  ///   - loss: Receives the loss, the same bits as
  ///     ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp, one per label.
  ///   - predictedClass: If not nil, receives each row's predicted class, one per label.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows), one per label.
  ///   - entropy: If not nil, receives the entropy of each row's softmax, one per label.
  /// - Returns: The number of non-ignored rows whose predicted class is their label, and the
  ///   number of non-ignored rows (their ratio is the accuracy).
  /// - Throws: ``LossError``, as
  ///   ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and O(N) for the statistics.
  @discardableResult
  public func lossAndStatistics<Scalar: BinaryFloatingPoint>(
    hidden: UnsafeBufferPointer<Scalar>, shape: [Int], weight: UnsafeBufferPointer<Scalar>,
    weightShape: [Int], bias: UnsafeBufferPointer<Scalar>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>,
    logSumExp: UnsafeMutableBufferPointer<Scalar>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Scalar>? = nil,
    entropy: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    return try withStatistics(shape: shape, labels: labels, buffers) { rows throws(LossError) in
      try compute(
        hidden: hidden, shape: shape, weight: weight, weightShape: weightShape, bias: bias,
        labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
        upstreamGradient: nil, loss: loss, hiddenGradient: nil, weightGradient: nil,
        biasGradient: nil, logSumExp: nil, statistics: rows)
    }
  }

  /// Writes the loss, its gradients and the statistics of each row's softmax into caller
  /// buffers.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states in row-major order.
  ///   - shape: The shape of `hidden`, `[..., D]` (rank >= 1).
  ///   - weight: The classifier in row-major order, `V` rows of `D` (`nn.Linear`'s weight).
  ///   - weightShape: The shape of `weight`, `[V, D]`.
  ///   - bias: The classifier's bias, `V` elements, or `nil`.
  ///   - labels: Class indices, one per row of `hidden`.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, one per label.
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss`.
  ///   - loss: Receives the loss.
  ///   - hiddenGradient: Receives d(loss)/d(hidden), or `nil` to skip it.
  ///   - weightGradient: Receives (or, with ``accumulatesGradients``, is added) d(loss)/d(weight),
  ///     or `nil` to skip it.
  ///   - biasGradient: Receives (or is added) d(loss)/d(bias), `V` elements, or `nil`.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp, one per label.
  ///   - predictedClass: If not nil, receives each row's predicted class, one per label.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows), one per label.
  ///   - entropy: If not nil, receives the entropy of each row's softmax, one per label.
  /// - Returns: The accuracy's counts, as
  ///   ``lossAndStatistics(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:predictedClass:targetProbability:entropy:)``.
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:upstreamGradient:loss:hiddenGradient:weightGradient:biasGradient:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_,_,_,_,_)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and O(N) for the statistics.
  @discardableResult
  public func lossGradientAndStatistics<Scalar: BinaryFloatingPoint>(
    hidden: UnsafeBufferPointer<Scalar>, shape: [Int], weight: UnsafeBufferPointer<Scalar>,
    weightShape: [Int], bias: UnsafeBufferPointer<Scalar>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>,
    hiddenGradient: UnsafeMutableBufferPointer<Scalar>?,
    weightGradient: UnsafeMutableBufferPointer<Scalar>?,
    biasGradient: UnsafeMutableBufferPointer<Scalar>? = nil,
    logSumExp: UnsafeMutableBufferPointer<Scalar>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Scalar>? = nil,
    entropy: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    return try withStatistics(shape: shape, labels: labels, buffers) { rows throws(LossError) in
      try compute(
        hidden: hidden, shape: shape, weight: weight, weightShape: weightShape, bias: bias,
        labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
        upstreamGradient: upstreamGradient, loss: loss, hiddenGradient: hiddenGradient,
        weightGradient: weightGradient, biasGradient: biasGradient, logSumExp: nil,
        statistics: rows)
    }
  }

  /// Writes the loss of bfloat16 hidden states and classifier (raw bits), its fp32 gradients
  /// and the fp32 statistics of each row's softmax into caller buffers.
  ///
  /// - Parameters:
  ///   - bfloat16Hidden: The hidden states as bfloat16 bit patterns, row-major.
  ///   - shape: The shape of the hidden states, `[..., D]`.
  ///   - bfloat16Weight: The classifier as bfloat16 bit patterns, `V` rows of `D`.
  ///   - weightShape: The shape of the classifier, `[V, D]`.
  ///   - bfloat16Bias: The bias as bfloat16 bit patterns, `V` elements, or `nil`.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32.
  ///   - sampleWeights: Optional per-sample weights, one per label, in fp32.
  ///   - upstreamGradient: Optional upstream gradient in fp32, as many elements as `loss`.
  ///   - loss: Receives the loss in fp32.
  ///   - hiddenGradient: Receives d(loss)/d(hidden) in fp32, or `nil` to skip it.
  ///   - weightGradient: Receives (or is added) d(loss)/d(weight) in fp32, or `nil`.
  ///   - biasGradient: Receives (or is added) d(loss)/d(bias) in fp32, or `nil`.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp, one per label.
  ///   - predictedClass: If not nil, receives each row's predicted class, one per label.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows), one per label.
  ///   - entropy: If not nil, receives the entropy of each row's softmax, one per label.
  /// - Returns: The accuracy's counts (non-ignored rows predicted right, non-ignored rows).
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(bfloat16Hidden:shape:bfloat16Weight:weightShape:bfloat16Bias:labels:classWeights:sampleWeights:upstreamGradient:loss:hiddenGradient:weightGradient:biasGradient:logSumExp:)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and O(N) for the statistics.
  @discardableResult
  public func lossGradientAndStatistics(
    bfloat16Hidden: UnsafeBufferPointer<UInt16>, shape: [Int],
    bfloat16Weight: UnsafeBufferPointer<UInt16>, weightShape: [Int],
    bfloat16Bias: UnsafeBufferPointer<UInt16>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil,
    upstreamGradient: UnsafeBufferPointer<Float>? = nil, loss: UnsafeMutableBufferPointer<Float>,
    hiddenGradient: UnsafeMutableBufferPointer<Float>?,
    weightGradient: UnsafeMutableBufferPointer<Float>?,
    biasGradient: UnsafeMutableBufferPointer<Float>? = nil,
    logSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Float>? = nil,
    entropy: UnsafeMutableBufferPointer<Float>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    return try withStatistics(shape: shape, labels: labels, buffers) { rows throws(LossError) in
      try compute(
        BFloat16Storage.self, hidden: bfloat16Hidden, shape: shape, weight: bfloat16Weight,
        weightShape: weightShape, bias: bfloat16Bias, labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, loss: loss,
        hiddenGradient: hiddenGradient, weightGradient: weightGradient,
        biasGradient: biasGradient, logSumExp: nil, statistics: rows)
    }
  }

  /// Checks the statistics buffers against the rows of `shape` (after the shape itself), then
  /// runs `body` with room for the rows' statistics and writes them.
  private func withStatistics<Scalar: BinaryFloatingPoint>(
    shape: [Int], labels: UnsafeBufferPointer<Int>, _ buffers: StatisticsBuffers<Scalar>,
    _ body: (UnsafeMutablePointer<RowStatistics>?) throws(LossError) -> Void
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    try Self.checkHiddenShape(shape)
    let rows = shape.dropLast().reduce(1, *)
    try buffers.check(rows: rows)
    return try buffers.gather(rows: rows, labels: labels, ignoreIndex: ignoreIndex, body)
  }
}

extension LinearCrossEntropy {
  /// Writes the loss of bfloat16 hidden states and classifier (raw bits) and the fp32
  /// statistics of each row's softmax into caller buffers.
  ///
  /// - Parameters:
  ///   - bfloat16Hidden: The hidden states as bfloat16 bit patterns, row-major.
  ///   - shape: The shape of the hidden states, `[..., D]`.
  ///   - bfloat16Weight: The classifier as bfloat16 bit patterns, `V` rows of `D`.
  ///   - weightShape: The shape of the classifier, `[V, D]`.
  ///   - bfloat16Bias: The bias as bfloat16 bit patterns, `V` elements, or `nil`.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32.
  ///   - sampleWeights: Optional per-sample weights, one per label, in fp32.
  ///   - loss: Receives the loss in fp32.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp, one per label.
  ///   - predictedClass: If not nil, receives each row's predicted class, one per label.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows), one per label.
  ///   - entropy: If not nil, receives the entropy of each row's softmax, one per label.
  /// - Returns: The accuracy's counts (non-ignored rows predicted right, non-ignored rows).
  /// - Throws: ``LossError``, as
  ///   ``loss(bfloat16Hidden:shape:bfloat16Weight:weightShape:bfloat16Bias:labels:classWeights:sampleWeights:into:logSumExp:)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread and O(N) for the statistics.
  @discardableResult
  public func lossAndStatistics(
    bfloat16Hidden: UnsafeBufferPointer<UInt16>, shape: [Int],
    bfloat16Weight: UnsafeBufferPointer<UInt16>, weightShape: [Int],
    bfloat16Bias: UnsafeBufferPointer<UInt16>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil, into loss: UnsafeMutableBufferPointer<Float>,
    logSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Float>? = nil,
    entropy: UnsafeMutableBufferPointer<Float>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    return try withStatistics(shape: shape, labels: labels, buffers) { rows throws(LossError) in
      try compute(
        BFloat16Storage.self, hidden: bfloat16Hidden, shape: shape, weight: bfloat16Weight,
        weightShape: weightShape, bias: bfloat16Bias, labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: nil, loss: loss, hiddenGradient: nil,
        weightGradient: nil, biasGradient: nil, logSumExp: nil, statistics: rows)
    }
  }
}
