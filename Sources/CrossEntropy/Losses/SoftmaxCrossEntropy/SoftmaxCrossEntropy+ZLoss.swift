extension SoftmaxCrossEntropy {
  /// The z-loss term on its own: `s * logsumexp(x_n)^2` per non-ignored row, reduced as the
  /// criterion's ``reduction`` says, with `s` = ``zLossScale``.
  ///
  /// When ``zLossScale`` is not 0, ``loss(logits:labels:classWeights:sampleWeights:)`` already includes this
  /// term; this method reports it separately (for logging, as Liger-Kernel's `return_z_loss`).
  /// The semantics follow Liger-Kernel's `lse_square_scale` (after PaLM):
  ///
  /// ```
  /// z_n  = s * lse_n^2,  lse_n = logsumexp(x_n)        (0 where y_n == ignoreIndex)
  /// mean = sum_n z_n / (number of non-ignored rows)     (class weights do not enter)
  ///        (or sum_n z_n / normalizer when ``normalizer`` is set; 0 / 0 gives what
  ///        ``allIgnored`` says)
  /// dz_n/dx_n = 2 * s * lse_n * softmax(x_n)
  /// ```
  ///
  /// With ``logitSoftCap`` set, `lse_n` is that of the capped logits `c * tanh(x / c)`.
  /// In the combined loss the z-term keeps its own denominator (the non-ignored count) even
  /// when the cross-entropy term's weighted mean divides by the sum of the class weights.
  ///
  /// - Parameters:
  ///   - logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - labels: Class indices, shaped like `logits` without the class axis; rows labelled
  ///     ``ignoreIndex`` contribute nothing.
  /// - Returns: A 0-dimensional array, or one term per label for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis, an
  ///   empty class dimension, or an invalid ``zLossScale`` or ``logitSoftCap``.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for N rows of C
  ///   classes.
  public func zLoss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try checkLogitOptions(zLossScale: zLossScale, logitSoftCap: logitSoftCap)
    try checkNormalizer(normalizer)
    let layout = try ClassLayout(shape: logits.shape, classAxis: classAxis)
    try layout.checkLabels(shape: labels.shape)
    try labels.withUnsafeBufferPointer { buffer throws(LossError) in
      try layout.checkLabelRange(buffer, ignoreIndex: ignoreIndex)
    }
    let ignored = ignoreIndex
    return Kernels.zLoss(
      logits: logits.scalars, layout: layout, scale: zLossScale, softCap: logitSoftCap,
      reduction: reduction, mean: meanRule, keeps: { labels.scalars[$0] != ignored })
  }

  /// The z-loss term on its own for probability targets: every row counts.
  ///
  /// - Parameter logits: Raw scores, any rank >= 1, classes on ``classAxis``.
  /// - Returns: A 0-dimensional array, or one term per row for `.none`.
  /// - Throws: ``LossError`` for a bad class axis, an empty class dimension, or an invalid
  ///   ``zLossScale`` or ``logitSoftCap``.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory for N rows of C
  ///   classes.
  public func zLoss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try checkLogitOptions(zLossScale: zLossScale, logitSoftCap: logitSoftCap)
    try checkNormalizer(normalizer)
    let layout = try ClassLayout(shape: logits.shape, classAxis: classAxis)
    return Kernels.zLoss(
      logits: logits.scalars, layout: layout, scale: zLossScale, softCap: logitSoftCap,
      reduction: reduction, mean: meanRule, keeps: { _ in true })
  }
}
