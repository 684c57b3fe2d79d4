/// bfloat16 logits, held as their raw 16-bit patterns (`UInt16`), since Swift has no bfloat16
/// type: the high half of an IEEE fp32, as PyTorch's `torch.bfloat16` and NumPy's `uint16` view
/// of it store them.
///
/// The kernels widen each value to fp32 exactly, accumulate in fp32 (sums per block in Double),
/// return the loss in fp32 and write the gradient rounded to nearest even in bfloat16.
/// Semantics are those of the other forms (weights, per-sample weights and upstream gradients
/// in fp32, ignore index, label smoothing, z-loss, soft-capping, every reduction); problems the fused kernels do not handle (z-loss or
/// soft-capping with a class axis that is not last) go through fp32 copies, O(n) extra memory.
///
/// ```swift
/// var logits: [UInt16] = [0x3F80, 0x0000, 0xBF80]  // 1, 0, -1 in bfloat16
/// var loss: Float = 0
/// try SoftmaxCrossEntropy().lossAndGradient(
///   overwritingBFloat16: &logits, shape: [1, 3], labels: [0], loss: &loss)
/// ```
extension SoftmaxCrossEntropy {
  /// Writes the loss of bfloat16 logits (raw bits) against class-index labels.
  ///
  /// - Parameters:
  ///   - bfloat16Logits: Raw scores as bfloat16 bit patterns, row-major.
  ///   - shape: The shape of the logits, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32.
  ///   - sampleWeights: Optional per-sample weights, one per row, in fp32 (see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``).
  ///   - loss: Receives the loss in fp32: 1 element for `.mean` and `.sum`, one per label for
  ///     `.none`.
  /// - Throws: ``LossError`` for wrong counts or shapes, labels out of range, a bad class axis,
  ///   an empty class dimension, or invalid options.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory on the fused path (O(N)
  ///   with sample weights).
  public func loss(
    bfloat16Logits: UnsafeBufferPointer<UInt16>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil, into loss: UnsafeMutableBufferPointer<Float>
  ) throws(LossError) {
    let problem = try bfloat16Problem(
      count: bfloat16Logits.count, shape: shape, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: nil, lossCount: loss.count)
    runBFloat16(
      bfloat16Logits.baseAddress!, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: nil, problem: problem, loss: loss,
      gradient: nil)
  }

  /// Writes the loss of bfloat16 logits (raw bits) and its gradient, in bfloat16, into caller
  /// buffers.
  ///
  /// - Parameters:
  ///   - bfloat16Logits: Raw scores as bfloat16 bit patterns, row-major.
  ///   - shape: The shape of the logits, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32.
  ///   - sampleWeights: Optional per-sample weights, one per row, in fp32.
  ///   - upstreamGradient: Optional upstream gradient in fp32, as many elements as `loss` (see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``).
  ///   - loss: Receives the loss in fp32 (1 element, or one per label for `.none`).
  ///   - gradient: Receives d(loss)/d(logits) as bfloat16 bits, as many as the logits; it may be
  ///     the same memory as `bfloat16Logits`.
  /// - Throws: ``LossError``, as
  ///   ``loss(bfloat16Logits:shape:labels:classWeights:sampleWeights:into:)``, or for a
  ///   gradient of the wrong size.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory per thread on the fused path
  ///   (O(N) with sample weights or an upstream gradient).
  public func lossAndGradient(
    bfloat16Logits: UnsafeBufferPointer<UInt16>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil,
    upstreamGradient: UnsafeBufferPointer<Float>? = nil, loss: UnsafeMutableBufferPointer<Float>,
    gradient: UnsafeMutableBufferPointer<UInt16>
  ) throws(LossError) {
    let problem = try bfloat16Problem(
      count: bfloat16Logits.count, shape: shape, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, lossCount: loss.count)
    guard gradient.count == bfloat16Logits.count else {
      throw .shapeMismatch(
        "gradient holds \(describe(elementCount: gradient.count)) but logits shape \(describe(shape: shape))"
          + " holds \(bfloat16Logits.count)")
    }
    runBFloat16(
      bfloat16Logits.baseAddress!, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, problem: problem,
      loss: loss, gradient: gradient.baseAddress)
  }

  /// Computes the loss of bfloat16 logits (raw bits) and overwrites them with the gradient in
  /// bfloat16, as Liger-Kernel does: no memory besides O(C) scratch per thread.
  ///
  /// - Parameters:
  ///   - logits: Raw scores as bfloat16 bit patterns; on return, d(loss)/d(logits).
  ///   - shape: The shape of the logits, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32.
  ///   - sampleWeights: Optional per-sample weights, one per row, in fp32.
  ///   - upstreamGradient: Optional upstream gradient in fp32, as many elements as `loss`.
  ///   - loss: Receives the loss in fp32 (1 element, or one per label for `.none`).
  /// - Throws: ``LossError``, as
  ///   ``loss(bfloat16Logits:shape:labels:classWeights:sampleWeights:into:)``; the logits are
  ///   unchanged when it throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory per thread on the fused path
  ///   (O(N) with sample weights or an upstream gradient).
  public func lossAndGradient(
    overwritingBFloat16 logits: UnsafeMutableBufferPointer<UInt16>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil,
    upstreamGradient: UnsafeBufferPointer<Float>? = nil,
    loss: UnsafeMutableBufferPointer<Float>
  ) throws(LossError) {
    let problem = try bfloat16Problem(
      count: logits.count, shape: shape, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, lossCount: loss.count)
    runBFloat16(
      UnsafePointer(logits.baseAddress!), labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, problem: problem,
      loss: loss, gradient: logits.baseAddress)
  }

  /// Computes the loss of bfloat16 logits (raw bits) and overwrites them with the gradient, for
  /// arrays: see
  /// ``lossAndGradient(overwritingBFloat16:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:)``.
  ///
  /// - Parameters:
  ///   - logits: Raw scores as bfloat16 bit patterns; on return, d(loss)/d(logits).
  ///   - shape: The shape of the logits, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32.
  ///   - sampleWeights: Optional per-sample weights, one per row, in fp32.
  ///   - loss: Receives the reduced loss (use the buffer form for `.none`).
  /// - Throws: ``LossError``, as
  ///   ``loss(bfloat16Logits:shape:labels:classWeights:sampleWeights:into:)``, or
  ///   `.invalidOption` for `.none` (which has one loss per row).
  /// - Complexity: O(n) in the number of logits; O(C) extra memory per thread on the fused path.
  public func lossAndGradient(
    overwritingBFloat16 logits: inout [UInt16], shape: [Int], labels: [Int],
    classWeights: [Float]? = nil, sampleWeights: [Float]? = nil, loss: inout Float
  ) throws(LossError) {
    guard reduction != .none else {
      throw .invalidOption(
        "reduction none writes one loss per row; use the buffer form of"
          + " lossAndGradient(overwritingBFloat16:) for it")
    }
    var value: Float = 0
    try labels.withUnsafeBufferPointer { labelBuffer throws(LossError) in
      try withOptionalBuffer(classWeights) { weights throws(LossError) in
        try withOptionalBuffer(sampleWeights) { samples throws(LossError) in
          try logits.withUnsafeMutableBufferPointer { logitBuffer throws(LossError) in
            try withUnsafeMutablePointer(to: &value) { pointer throws(LossError) in
              try lossAndGradient(
                overwritingBFloat16: logitBuffer, shape: shape, labels: labelBuffer,
                classWeights: weights, sampleWeights: samples,
                loss: UnsafeMutableBufferPointer(start: pointer, count: 1))
            }
          }
        }
      }
    }
    loss = value
  }

  private func bfloat16Problem(
    count: Int, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, sampleWeights: UnsafeBufferPointer<Float>?,
    upstreamGradient: UnsafeBufferPointer<Float>?, lossCount: Int
  ) throws(LossError) -> SoftmaxProblem {
    let layout = try ClassLayout(shape: shape, classAxis: classAxis)
    try checkCount(count, shape: shape, name: "logits")
    guard labels.count == layout.rows else {
      throw .shapeMismatch(
        "labels hold \(describe(elementCount: labels.count)) but logits shape \(describe(shape: shape)) needs"
          + " \(layout.rows), one per position of \(describe(shape: layout.labelShape))")
    }
    try checkLabelSmoothing(labelSmoothing)
    try checkLogitOptions(zLossScale: zLossScale, logitSoftCap: logitSoftCap)
    try checkNormalizer(normalizer)
    try layout.checkClassWeights(count: classWeights?.count)
    try checkLossCount(lossCount, reduction: reduction, rows: layout.rows)
    try checkSampleWeights(
      count: sampleWeights?.count, rowShape: layout.labelShape, rowName: "labels")
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: layout.rows)
    try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    return SoftmaxProblem(
      layout: layout, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
      reduction: reduction, zLossScale: zLossScale, logitSoftCap: logitSoftCap,
      denominators: normalizer.map(MeanDenominators.init(normalizer:)), allIgnored: allIgnored)
  }

  /// Runs the bfloat16 kernel with the row scales of `sampleWeights` and `upstreamGradient`
  /// (the latter only with a gradient).
  private func runBFloat16(
    _ logits: UnsafePointer<UInt16>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, sampleWeights: UnsafeBufferPointer<Float>?,
    upstreamGradient: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<UInt16>?,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) {
    RowScales.with(
      sampleWeights: sampleWeights, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      rows: problem.layout.rows
    ) { rowScales in
      var problem = problem
      problem.rowScales = rowScales
      if let statistics {
        Kernels.softmaxCrossEntropyBFloat16(
          logits: logits, labels: labels, classWeights: classWeights, problem: problem,
          loss: loss, gradient: gradient, statistics: statistics)
      } else {
        Kernels.softmaxCrossEntropyBFloat16(
          logits: logits, labels: labels, classWeights: classWeights, problem: problem,
          loss: loss, gradient: gradient)
      }
    }
  }
}

// MARK: - Statistics

extension SoftmaxCrossEntropy {
  /// Writes the loss of bfloat16 logits (raw bits) against class-index labels and the fp32
  /// statistics of each row's softmax into caller buffers.
  ///
  /// Each statistics buffer is optional (nil: not written) and holds one element per row; see
  /// ``SoftmaxStatistics`` for the definitions. The fused classes-last kernel without the soft
  /// cap computes them in its row passes; other problems compute them in Double from an fp32
  /// copy of the logits (O(n) extra memory).
  ///
  /// - Parameters:
  ///   - bfloat16Logits: Raw scores as bfloat16 bit patterns, row-major.
  ///   - shape: The shape of the logits, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32 (the loss only).
  ///   - sampleWeights: Optional per-sample weights, one per row, in fp32.
  ///   - loss: Receives the loss in fp32, the same bits as
  ///     ``loss(bfloat16Logits:shape:labels:classWeights:sampleWeights:into:)``.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp.
  ///   - predictedClass: If not nil, receives each row's predicted class.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows).
  ///   - entropy: If not nil, receives the entropy of each row's softmax, in nats.
  /// - Returns: The number of non-ignored rows whose predicted class is their label, and the
  ///   number of non-ignored rows (their ratio is the accuracy).
  /// - Throws: ``LossError``, as
  ///   ``loss(bfloat16Logits:shape:labels:classWeights:sampleWeights:into:)``, or for a
  ///   statistics buffer that does not hold one element per row; nothing is written when it
  ///   throws.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory for the statistics.
  @discardableResult
  public func lossAndStatistics(
    bfloat16Logits: UnsafeBufferPointer<UInt16>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil, into loss: UnsafeMutableBufferPointer<Float>,
    logSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Float>? = nil,
    entropy: UnsafeMutableBufferPointer<Float>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let problem = try bfloat16Problem(
      count: bfloat16Logits.count, shape: shape, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: nil, lossCount: loss.count)
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    try buffers.check(rows: problem.layout.rows)
    return try buffers.gather(rows: problem.layout.rows, labels: labels, ignoreIndex: ignoreIndex) {
      rows throws(LossError) in
      runBFloat16(
        startAddress(bfloat16Logits.baseAddress), labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: nil, problem: problem, loss: loss,
        gradient: nil, statistics: rows)
    }
  }

  /// Writes the loss of bfloat16 logits (raw bits), its gradient in bfloat16 and the fp32
  /// statistics of each row's softmax into caller buffers.
  ///
  /// - Parameters:
  ///   - bfloat16Logits: Raw scores as bfloat16 bit patterns, row-major.
  ///   - shape: The shape of the logits, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class, in fp32 (the loss only).
  ///   - sampleWeights: Optional per-sample weights, one per row, in fp32.
  ///   - upstreamGradient: Optional upstream gradient in fp32, as many elements as `loss`.
  ///   - loss: Receives the loss in fp32.
  ///   - gradient: Receives d(loss)/d(logits) as bfloat16 bits, as many as the logits; it may be
  ///     the same memory as `bfloat16Logits` (the statistics are read first).
  ///   - logSumExp: If not nil, receives each row's log-sum-exp.
  ///   - predictedClass: If not nil, receives each row's predicted class.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows).
  ///   - entropy: If not nil, receives the entropy of each row's softmax, in nats.
  /// - Returns: The accuracy's counts, as
  ///   ``lossAndStatistics(bfloat16Logits:shape:labels:classWeights:sampleWeights:into:logSumExp:predictedClass:targetProbability:entropy:)``.
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(bfloat16Logits:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:gradient:)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory for the statistics.
  @discardableResult
  public func lossGradientAndStatistics(
    bfloat16Logits: UnsafeBufferPointer<UInt16>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>? = nil,
    sampleWeights: UnsafeBufferPointer<Float>? = nil,
    upstreamGradient: UnsafeBufferPointer<Float>? = nil, loss: UnsafeMutableBufferPointer<Float>,
    gradient: UnsafeMutableBufferPointer<UInt16>,
    logSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Float>? = nil,
    entropy: UnsafeMutableBufferPointer<Float>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let problem = try bfloat16Problem(
      count: bfloat16Logits.count, shape: shape, labels: labels, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, lossCount: loss.count)
    try checkGradientCount(gradient.count, shape: shape, name: "logits")
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    try buffers.check(rows: problem.layout.rows)
    return try buffers.gather(rows: problem.layout.rows, labels: labels, ignoreIndex: ignoreIndex) {
      rows throws(LossError) in
      runBFloat16(
        startAddress(bfloat16Logits.baseAddress), labels: labels, classWeights: classWeights,
        sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, problem: problem,
        loss: loss, gradient: mutableStartAddress(gradient.baseAddress), statistics: rows)
    }
  }
}
