/// Half-precision hidden states and classifiers: float16 (`Float16`) and bfloat16 (raw bits in
/// `UInt16`, the high half of an IEEE fp32, as PyTorch's `torch.bfloat16` stores them).
///
/// The matrix products widen each element to fp32 exactly and accumulate in fp32; the softmax
/// cross-entropy runs on fp32 logits. The loss, the gradients and the log-sum-exp are fp32:
/// gradients that micro-batches add up, or that an optimiser applies to fp32 master weights,
/// keep their precision; round them to half precision where you need that. Class weights are
/// fp32; the bias has the classifier's type.
///
/// ```swift
/// var loss: Float = 0
/// try LinearCrossEntropy().lossAndGradient(
///   bfloat16Hidden: h, shape: [n, d], bfloat16Weight: w, weightShape: [v, d], labels: y,
///   loss: UnsafeMutableBufferPointer(start: &loss, count: 1),
///   hiddenGradient: dh, weightGradient: dw)  // dh, dw: fp32 buffers
/// ```
extension LinearCrossEntropy {
  // MARK: bfloat16

  /// Writes the loss of bfloat16 hidden states and classifier (raw bits) into an fp32 buffer.
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
  ///   - loss: Receives the loss in fp32: 1 element, or one per label for `.none`.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp in fp32 (0 for ignored rows).
  /// - Throws: ``LossError``, as
  ///   ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread.
  public func loss(
    bfloat16Hidden: UnsafeBufferPointer<UInt16>, shape: [Int],
    bfloat16Weight: UnsafeBufferPointer<UInt16>, weightShape: [Int],
    bfloat16Bias: UnsafeBufferPointer<UInt16>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil, into loss: UnsafeMutableBufferPointer<Float>,
    logSumExp: UnsafeMutableBufferPointer<Float>? = nil
  ) throws(LossError) {
    try compute(
      BFloat16Storage.self, hidden: bfloat16Hidden, shape: shape, weight: bfloat16Weight,
      weightShape: weightShape, bias: bfloat16Bias, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: nil, loss: loss, hiddenGradient: nil,
      weightGradient: nil, biasGradient: nil,
      logSumExp: logSumExp)
  }

  /// Writes the loss of bfloat16 hidden states and classifier (raw bits) and its fp32 gradients
  /// into caller buffers.
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
  ///   - loss: Receives the loss in fp32: 1 element, or one per label for `.none`.
  ///   - hiddenGradient: Receives d(loss)/d(hidden) in fp32, or `nil` to skip it.
  ///   - weightGradient: Receives (or, with ``accumulatesGradients``, is added) d(loss)/d(weight)
  ///     in fp32, or `nil` to skip it.
  ///   - biasGradient: Receives (or is added) d(loss)/d(bias) in fp32, `V` elements, or `nil`.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp in fp32 (0 for ignored rows).
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:upstreamGradient:loss:hiddenGradient:weightGradient:biasGradient:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_,_,_,_,_)``.
  /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
  ///   thread.
  public func lossAndGradient(
    bfloat16Hidden: UnsafeBufferPointer<UInt16>, shape: [Int],
    bfloat16Weight: UnsafeBufferPointer<UInt16>, weightShape: [Int],
    bfloat16Bias: UnsafeBufferPointer<UInt16>? = nil, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil,
    upstreamGradient: UnsafeBufferPointer<Float>? = nil, loss: UnsafeMutableBufferPointer<Float>,
    hiddenGradient: UnsafeMutableBufferPointer<Float>?,
    weightGradient: UnsafeMutableBufferPointer<Float>?,
    biasGradient: UnsafeMutableBufferPointer<Float>? = nil,
    logSumExp: UnsafeMutableBufferPointer<Float>? = nil
  ) throws(LossError) {
    try compute(
      BFloat16Storage.self, hidden: bfloat16Hidden, shape: shape, weight: bfloat16Weight,
      weightShape: weightShape, bias: bfloat16Bias, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient,
      loss: loss, hiddenGradient: hiddenGradient, weightGradient: weightGradient,
      biasGradient: biasGradient, logSumExp: logSumExp)
  }

  /// Validates every argument, then runs the schedule on elements stored as `E` with fp32
  /// outputs. Nothing is written when it throws. `statistics`, if not nil, receives one
  /// ``RowStatistics`` per row.
  func compute<E: KernelStorage>(
    _: E.Type, hidden: UnsafeBufferPointer<E.Stored>, shape: [Int],
    weight: UnsafeBufferPointer<E.Stored>, weightShape: [Int],
    bias: UnsafeBufferPointer<E.Stored>?, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, sampleWeights: UnsafeBufferPointer<Float>?,
    upstreamGradient: UnsafeBufferPointer<Float>?, loss: UnsafeMutableBufferPointer<Float>,
    hiddenGradient: UnsafeMutableBufferPointer<Float>?,
    weightGradient: UnsafeMutableBufferPointer<Float>?,
    biasGradient: UnsafeMutableBufferPointer<Float>?,
    logSumExp: UnsafeMutableBufferPointer<Float>?,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) throws(LossError) {
    let classWeight = classWeights.map { w in { (c: Int) in Double(w[c]) } }
    let problem = try validate(
      hiddenCount: hidden.count, shape: shape, weightCount: weight.count,
      weightShape: weightShape, biasCount: bias?.count, labels: labels,
      classWeights: classWeight, classWeightCount: classWeights?.count,
      sampleWeightCount: sampleWeights?.count, upstreamGradientCount: upstreamGradient?.count,
      lossCount: loss.count,
      hiddenGradientCount: hiddenGradient?.count, weightGradientCount: weightGradient?.count,
      biasGradientCount: biasGradient?.count, logSumExpCount: logSumExp?.count)
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
        E.self, hidden: startAddress(hidden.baseAddress),
        weight: startAddress(weight.baseAddress), bias: bias.map { startAddress($0.baseAddress) },
        labels: labels, classWeights: classWeights, problem: problem, loss: loss,
        hiddenGradient: hiddenGradient.map { mutableStartAddress($0.baseAddress) },
        weightGradient: weightGradient.map { mutableStartAddress($0.baseAddress) },
        biasGradient: biasGradient.map { mutableStartAddress($0.baseAddress) },
        logSumExp: logSumExp.map { mutableStartAddress($0.baseAddress) },
        statistics: statistics)
    }
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension LinearCrossEntropy {
    // MARK: float16

    /// Writes the loss of float16 hidden states and classifier into an fp32 buffer.
    ///
    /// - Parameters:
    ///   - hidden: The hidden states, row-major.
    ///   - shape: The shape of the hidden states, `[..., D]`.
    ///   - weight: The classifier, `V` rows of `D`.
    ///   - weightShape: The shape of the classifier, `[V, D]`.
    ///   - bias: The bias, `V` elements, or `nil`.
    ///   - labels: Class indices, one per row.
    ///   - classWeights: Optional per-class weights, one per class, in fp32.
    ///   - sampleWeights: Optional per-sample weights, one per label, in fp32.
    ///   - loss: Receives the loss in fp32: 1 element, or one per label for `.none`.
    ///   - logSumExp: If not nil, receives each row's log-sum-exp in fp32 (0 for ignored rows).
    /// - Throws: ``LossError``, as
    ///   ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``.
    /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
    ///   thread.
    public func loss(
      hidden: UnsafeBufferPointer<Float16>, shape: [Int], weight: UnsafeBufferPointer<Float16>,
      weightShape: [Int], bias: UnsafeBufferPointer<Float16>? = nil,
      labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Float>? = nil,
      sampleWeights: UnsafeBufferPointer<Float>? = nil,
      into loss: UnsafeMutableBufferPointer<Float>,
      logSumExp: UnsafeMutableBufferPointer<Float>? = nil
    ) throws(LossError) {
      try compute(
        HalfStorage.self, hidden: hidden, shape: shape, weight: weight, weightShape: weightShape,
        bias: bias, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
        upstreamGradient: nil, loss: loss, hiddenGradient: nil,
        weightGradient: nil, biasGradient: nil, logSumExp: logSumExp)
    }

    /// Writes the loss of float16 hidden states and classifier and its fp32 gradients into
    /// caller buffers.
    ///
    /// - Parameters:
    ///   - hidden: The hidden states, row-major.
    ///   - shape: The shape of the hidden states, `[..., D]`.
    ///   - weight: The classifier, `V` rows of `D`.
    ///   - weightShape: The shape of the classifier, `[V, D]`.
    ///   - bias: The bias, `V` elements, or `nil`.
    ///   - labels: Class indices, one per row.
    ///   - classWeights: Optional per-class weights, one per class, in fp32.
    ///   - sampleWeights: Optional per-sample weights, one per label, in fp32.
    ///   - upstreamGradient: Optional upstream gradient in fp32, as many elements as `loss`.
    ///   - loss: Receives the loss in fp32: 1 element, or one per label for `.none`.
    ///   - hiddenGradient: Receives d(loss)/d(hidden) in fp32, or `nil` to skip it.
    ///   - weightGradient: Receives (or, with ``accumulatesGradients``, is added)
    ///     d(loss)/d(weight) in fp32, or `nil` to skip it.
    ///   - biasGradient: Receives (or is added) d(loss)/d(bias) in fp32, `V` elements, or `nil`.
    ///   - logSumExp: If not nil, receives each row's log-sum-exp in fp32 (0 for ignored rows).
    /// - Throws: ``LossError``, as
    ///   ``loss(hidden:shape:weight:weightShape:bias:labels:classWeights:sampleWeights:into:logSumExp:)-(UnsafeBufferPointer<Scalar>,_,_,_,_,_,_,_,_,_)``, or
    ///   for a gradient buffer of the wrong count.
    /// - Complexity: O(N·D·V) time; at most ``scratchLimit`` bytes of logits besides O(V) per
    ///   thread.
    public func lossAndGradient(
      hidden: UnsafeBufferPointer<Float16>, shape: [Int], weight: UnsafeBufferPointer<Float16>,
      weightShape: [Int], bias: UnsafeBufferPointer<Float16>? = nil,
      labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Float>? = nil,
      sampleWeights: UnsafeBufferPointer<Float>? = nil,
      upstreamGradient: UnsafeBufferPointer<Float>? = nil, loss: UnsafeMutableBufferPointer<Float>,
      hiddenGradient: UnsafeMutableBufferPointer<Float>?,
      weightGradient: UnsafeMutableBufferPointer<Float>?,
      biasGradient: UnsafeMutableBufferPointer<Float>? = nil,
      logSumExp: UnsafeMutableBufferPointer<Float>? = nil
    ) throws(LossError) {
      try compute(
        HalfStorage.self, hidden: hidden, shape: shape, weight: weight, weightShape: weightShape,
        bias: bias, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights,
        upstreamGradient: upstreamGradient, loss: loss,
        hiddenGradient: hiddenGradient, weightGradient: weightGradient,
        biasGradient: biasGradient, logSumExp: logSumExp)
    }
  }
#endif
