/// The forms over caller-owned memory: the logits, labels or targets, and every output are the
/// caller's buffers, read and written without copying. The `overwriting:` forms turn the logits
/// into the gradient, as Liger-Kernel does; the `inout` array forms are the same for Float and
/// Double arrays, without the buffer closures.
///
/// ```swift
/// var logits: [Float] = [2, 1, 0, 0, 1, 2]
/// var loss: Float = 0
/// try SoftmaxCrossEntropy().lossAndGradient(
///   overwriting: &logits, shape: [2, 3], labels: [0, 2], loss: &loss)
/// // logits now holds d(loss)/d(logits)
/// ```
extension SoftmaxCrossEntropy {
  // MARK: Class-index labels

  /// Writes the loss of logits against class-index labels into a caller buffer, without copying.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row, in the row-major order of `shape` without the class
  ///     axis.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  /// - Throws: ``LossError`` for wrong counts or shapes, labels out of range, a bad class axis,
  ///   an empty class dimension, or label smoothing outside [0, 1].
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    try compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
      target: .labels(labels),
      classWeights: classWeights, sampleWeights: sampleWeights, loss: loss, gradient: nil)
  }

  /// Writes the loss and its gradient with respect to the logits into caller buffers.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``).
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss` (see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  ///   - gradient: Receives the gradient, as many elements as `logits`. It may be the same
  ///     memory as `logits`; see also the `overwriting:` form.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    try layout.checkGradientCount(gradient.count)
    try compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
      target: .labels(labels),
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: gradient.baseAddress)
  }

  /// Computes the loss and overwrites the logits with the gradient, as Liger-Kernel does:
  /// no memory besides O(C) scratch.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``).
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss` (see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per label for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``; the logits
  ///   are unchanged when it throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    try compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
      target: .labels(labels),
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: logits.baseAddress)
  }

  /// Computes the loss of an array of logits against class-index labels and overwrites the
  /// logits with the gradient: the in-place form for Float and Double arrays.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:labels:classWeights:sampleWeights:)``).
  ///   - loss: Receives the reduced loss (use the buffer form for `.none`).
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``, or
  ///   `.invalidOption` for `.none` (which has one loss per row); nothing is written when it
  ///   throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: inout [Scalar], shape: [Int], labels: [Int],
    classWeights: [Scalar]? = nil, sampleWeights: [Scalar]? = nil, loss: inout Scalar
  ) throws(LossError) {
    try checkReducedInPlace()
    var value: Scalar = 0
    try labels.withUnsafeBufferPointer { labelBuffer throws(LossError) in
      try withOptionalBuffer(classWeights) { weights throws(LossError) in
        try withOptionalBuffer(sampleWeights) { samples throws(LossError) in
          try logits.withUnsafeMutableBufferPointer { logitBuffer throws(LossError) in
            try withUnsafeMutablePointer(to: &value) { pointer throws(LossError) in
              try lossAndGradient(
                overwriting: logitBuffer, shape: shape, labels: labelBuffer,
                classWeights: weights, sampleWeights: samples,
                loss: UnsafeMutableBufferPointer(start: pointer, count: 1))
            }
          }
        }
      }
    }
    loss = value
  }

  // MARK: Probability targets

  /// Writes the loss of logits against probability targets into a caller buffer.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:targets:classWeights:sampleWeights:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:targets:classWeights:sampleWeights:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try checkSameCount(
      targets.count, name: "targets", input: "logits", shape: layout.shape,
      expected: layout.count)
    try compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
      target: .probabilities(targets),
      classWeights: classWeights, sampleWeights: sampleWeights, loss: loss, gradient: nil)
  }

  /// Writes the loss against probability targets and its gradient into caller buffers.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:targets:classWeights:sampleWeights:)``).
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss` (see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient; it may be the same memory as `logits`.
  /// - Throws: ``LossError``, as ``loss(logits:targets:classWeights:sampleWeights:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], targets: UnsafeBufferPointer<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try checkSameCount(
      targets.count, name: "targets", input: "logits", shape: layout.shape,
      expected: layout.count)
    try layout.checkGradientCount(gradient.count)
    try compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
      target: .probabilities(targets),
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: gradient.baseAddress)
  }

  /// Computes the loss against probability targets and overwrites the logits with the gradient:
  /// no memory besides O(C) scratch.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits` (not the same memory).
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:targets:classWeights:sampleWeights:)``).
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss` (see
  ///     ``lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)``).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(logits:targets:classWeights:sampleWeights:)``; the logits are
  ///   unchanged when it throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try checkSameCount(
      targets.count, name: "targets", input: "logits", shape: layout.shape,
      expected: layout.count)
    try compute(
      logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
      target: .probabilities(targets),
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient, loss: loss, gradient: logits.baseAddress)
  }

  /// Computes the loss of an array of logits against probability targets and overwrites the
  /// logits with the gradient: the in-place form for Float and Double arrays.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order; on return, d(loss)/d(logits).
  ///   - shape: The shape of `logits` and of `targets`, classes on ``classAxis``.
  ///   - targets: Target distributions laid out like `logits`.
  ///   - classWeights: Optional per-class weights, one per class.
  ///   - sampleWeights: Optional per-sample weights, one per row (see
  ///     ``loss(logits:targets:classWeights:sampleWeights:)``).
  ///   - loss: Receives the reduced loss (use the buffer form for `.none`).
  /// - Throws: ``LossError``, as ``loss(logits:targets:classWeights:sampleWeights:)``, or `.invalidOption`
  ///   for `.none` (which has one loss per row); nothing is written when it throws.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logits: inout [Scalar], shape: [Int], targets: [Scalar],
    classWeights: [Scalar]? = nil, sampleWeights: [Scalar]? = nil, loss: inout Scalar
  ) throws(LossError) {
    try checkReducedInPlace()
    var value: Scalar = 0
    try targets.withUnsafeBufferPointer { targetBuffer throws(LossError) in
      try withOptionalBuffer(classWeights) { weights throws(LossError) in
        try withOptionalBuffer(sampleWeights) { samples throws(LossError) in
          try logits.withUnsafeMutableBufferPointer { logitBuffer throws(LossError) in
            try withUnsafeMutablePointer(to: &value) { pointer throws(LossError) in
              try lossAndGradient(
                overwriting: logitBuffer, shape: shape, targets: targetBuffer,
                classWeights: weights, sampleWeights: samples,
                loss: UnsafeMutableBufferPointer(start: pointer, count: 1))
            }
          }
        }
      }
    }
    loss = value
  }

  /// The `inout` array forms write one loss value: refuses `.none`, which has one per row.
  private func checkReducedInPlace() throws(LossError) {
    guard reduction != .none else {
      throw .invalidOption(
        "reduction none writes one loss per row; use the buffer form of"
          + " lossAndGradient(overwriting:) for it")
    }
  }
}

// MARK: - Statistics

/// The statistics forms over caller-owned memory (class-index labels): the loss, the gradient
/// and each row's statistics go to caller buffers. Every statistics buffer is optional (nil:
/// not written) and holds one element per row: the log-sum-exp, the predicted class (`Int`),
/// the probability of the label (NaN for ignored rows) and the entropy, as defined in
/// ``SoftmaxStatistics``. The accuracy's counts are returned; every buffer count is checked
/// before anything is written.
///
/// ```swift
/// var predicted = [Int](repeating: 0, count: n)
/// let counts = try predicted.withUnsafeMutableBufferPointer { predicted in
///   try criterion.lossAndStatistics(
///     logits: x, shape: [n, c], labels: y, into: loss, predictedClass: predicted)
/// }
/// print(Double(counts.correctCount) / Double(counts.labeledCount))  // accuracy
/// ```
extension SoftmaxCrossEntropy {
  /// Writes the loss of logits against class-index labels and the statistics of each row's
  /// softmax into caller buffers, from the same pass.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, one per row.
  ///   - loss: Receives the loss, the same bits as
  ///     ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``.
  ///   - logSumExp: If not nil, receives each row's log-sum-exp.
  ///   - predictedClass: If not nil, receives each row's predicted class.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows).
  ///   - entropy: If not nil, receives the entropy of each row's softmax, in nats.
  /// - Returns: The number of non-ignored rows whose predicted class is their label, and the
  ///   number of non-ignored rows (their ratio is the accuracy).
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:classWeights:sampleWeights:into:)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory for the statistics.
  @discardableResult
  public func lossAndStatistics<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>,
    logSumExp: UnsafeMutableBufferPointer<Scalar>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Scalar>? = nil,
    entropy: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    try buffers.check(rows: layout.rows)
    return try buffers.gather(rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex) {
      rows throws(LossError) in
      try compute(
        logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
        target: .labels(labels), classWeights: classWeights, sampleWeights: sampleWeights,
        loss: loss, gradient: nil, statistics: rows)
    }
  }

  /// Writes the loss of logits against class-index labels, its gradient with respect to the
  /// logits and the statistics of each row's softmax into caller buffers, from the same pass.
  ///
  /// - Parameters:
  ///   - logits: Raw scores in row-major order.
  ///   - shape: The shape of `logits`, classes on ``classAxis``.
  ///   - labels: Class indices, one per row.
  ///   - classWeights: Optional per-class weights, one per class (they weigh the loss only).
  ///   - sampleWeights: Optional per-sample weights, one per row.
  ///   - upstreamGradient: Optional upstream gradient, as many elements as `loss`.
  ///   - loss: Receives the loss.
  ///   - gradient: Receives the gradient, as many elements as `logits`; it may be the same
  ///     memory as `logits` (the statistics are read first).
  ///   - logSumExp: If not nil, receives each row's log-sum-exp.
  ///   - predictedClass: If not nil, receives each row's predicted class.
  ///   - targetProbability: If not nil, receives each row's probability of its label (NaN for
  ///     ignored rows).
  ///   - entropy: If not nil, receives the entropy of each row's softmax, in nats.
  /// - Returns: The accuracy's counts, as
  ///   ``lossAndStatistics(logits:shape:labels:classWeights:sampleWeights:into:logSumExp:predictedClass:targetProbability:entropy:)``.
  /// - Throws: ``LossError``, as
  ///   ``lossAndGradient(logits:shape:labels:classWeights:sampleWeights:upstreamGradient:loss:gradient:)``,
  ///   or for a statistics buffer that does not hold one element per row; nothing is written
  ///   when it throws.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory for the statistics.
  @discardableResult
  public func lossGradientAndStatistics<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>,
    logSumExp: UnsafeMutableBufferPointer<Scalar>? = nil,
    predictedClass: UnsafeMutableBufferPointer<Int>? = nil,
    targetProbability: UnsafeMutableBufferPointer<Scalar>? = nil,
    entropy: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LossError) -> (correctCount: Int, labeledCount: Int) {
    let layout = try bufferLayout(count: logits.count, shape: shape)
    try layout.checkLabelCount(labels.count)
    try layout.checkGradientCount(gradient.count)
    let buffers = StatisticsBuffers(
      logSumExp: logSumExp, predictedClass: predictedClass, targetProbability: targetProbability,
      entropy: entropy)
    try buffers.check(rows: layout.rows)
    return try buffers.gather(rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex) {
      rows throws(LossError) in
      try compute(
        logits: startAddress(UnsafePointer(logits.baseAddress)), layout: layout,
        target: .labels(labels), classWeights: classWeights, sampleWeights: sampleWeights,
        upstreamGradient: upstreamGradient, loss: loss, gradient: gradient.baseAddress,
        statistics: rows)
    }
  }
}
