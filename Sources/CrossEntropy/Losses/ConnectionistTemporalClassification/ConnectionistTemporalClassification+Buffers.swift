/// The forms over caller-owned memory. The labels come with their shape, since padded `(N, S)`
/// and concatenated 1-dimensional label sequences of the same count mean different things; the
/// lengths stay arrays (one value per sample). The `overwritingLogProbabilities:` and
/// `overwritingLogits:` forms write the gradient over the input.
///
/// ```swift
/// let ctc = ConnectionistTemporalClassification()
/// var loss: Float = 0
/// try scores.withUnsafeMutableBufferPointer { x in  // (T, N, C) = (6, 2, 5), row-major
///   try labels.withUnsafeBufferPointer { y in  // padded (2, 3)
///     try withUnsafeMutablePointer(to: &loss) { l in
///       try ctc.lossAndGradient(
///         overwritingLogits: x, shape: [6, 2, 5], labels: y, labelShape: [2, 3],
///         inputLengths: [6, 5], labelLengths: [3, 2],
///         loss: UnsafeMutableBufferPointer(start: l, count: 1))
///     }
///   }
/// }
/// ```
extension ConnectionistTemporalClassification {
  // MARK: Log-probabilities

  /// Writes the CTC loss of log-probabilities into a caller buffer,
  /// without copying the input.
  ///
  /// - Parameters:
  ///   - logProbabilities: The input in row-major order, `(T, N, C)` or `(T, C)`.
  ///   - shape: The shape of `logProbabilities`.
  ///   - labels: The label sequences (class indices), row-major.
  ///   - labelShape: The shape of `labels`: padded `(N, S)` or concatenated `[sum(labelLengths)]`.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none` (1 for
  ///     unbatched input).
  /// - Throws: ``LossError``, as ``loss(logProbabilities:labels:inputLengths:labelLengths:)``, or for a
  ///   buffer whose count does not match its shape, or a loss buffer of the wrong count.
  /// - Complexity: As ``loss(logProbabilities:labels:inputLengths:labelLengths:)``.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    labelShape: [Int], inputLengths: [Int], labelLengths: [Int],
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      input: logProbabilities, shape: shape, fromLogits: false, labels: labels,
      labelShape: labelShape, inputLengths: inputLengths, labelLengths: labelLengths, loss: loss,
      gradient: nil)
  }

  /// Writes the CTC loss of log-probabilities and PyTorch's gradient with respect to the log-probabilities into caller buffers.
  ///
  /// - Parameters:
  ///   - logProbabilities: The input in row-major order, `(T, N, C)` or `(T, C)`.
  ///   - shape: The shape of `logProbabilities`.
  ///   - labels: The label sequences (class indices), row-major.
  ///   - labelShape: The shape of `labels`: padded `(N, S)` or concatenated `[sum(labelLengths)]`.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (`N` for `.none`, 1 for unbatched input or `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none` (1 for
  ///     unbatched input).
  ///   - gradient: Receives the gradient, as many elements as the input, every one written (0 at
  ///     and after each sample's input length). It may be the input's own memory.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:shape:labels:labelShape:inputLengths:labelLengths:into:)``,
  ///   or for a gradient of the wrong count.
  /// - Complexity: As ``lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:upstreamGradient:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    labelShape: [Int], inputLengths: [Int], labelLengths: [Int],
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      input: logProbabilities, shape: shape, fromLogits: false, labels: labels,
      labelShape: labelShape, inputLengths: inputLengths, labelLengths: labelLengths,
      upstreamGradient: upstreamGradient, loss: loss,
      gradient: gradient)
  }

  /// Computes the CTC loss of log-probabilities and overwrites the input with
  /// PyTorch's gradient with respect to the log-probabilities.
  ///
  /// - Parameters:
  ///   - logProbabilities: The input in row-major order, `(T, N, C)` or `(T, C)`; on return, the
  ///     gradient (0 at and after each sample's input length).
  ///   - shape: The shape of the input.
  ///   - labels: The label sequences (class indices), row-major.
  ///   - labelShape: The shape of `labels`: padded `(N, S)` or concatenated `[sum(labelLengths)]`.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (`N` for `.none`, 1 for unbatched input or `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none` (1 for
  ///     unbatched input).
  /// - Throws: ``LossError``, as ``loss(logProbabilities:shape:labels:labelShape:inputLengths:labelLengths:into:)``;
  ///   the input is unchanged when it throws.
  /// - Complexity: As ``lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:upstreamGradient:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwritingLogProbabilities logProbabilities: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, labelShape: [Int], inputLengths: [Int],
    labelLengths: [Int], upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      input: UnsafeBufferPointer(logProbabilities), shape: shape, fromLogits: false, labels: labels,
      labelShape: labelShape, inputLengths: inputLengths, labelLengths: labelLengths,
      upstreamGradient: upstreamGradient, loss: loss,
      gradient: logProbabilities)
  }

  // MARK: Logits

  /// Writes the CTC loss of raw scores (the log-softmax over the classes fused in) into a caller buffer,
  /// without copying the input.
  ///
  /// - Parameters:
  ///   - logits: The input in row-major order, `(T, N, C)` or `(T, C)`.
  ///   - shape: The shape of `logits`.
  ///   - labels: The label sequences (class indices), row-major.
  ///   - labelShape: The shape of `labels`: padded `(N, S)` or concatenated `[sum(labelLengths)]`.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none` (1 for
  ///     unbatched input).
  /// - Throws: ``LossError``, as ``loss(logits:labels:inputLengths:labelLengths:)``, or for a
  ///   buffer whose count does not match its shape, or a loss buffer of the wrong count.
  /// - Complexity: As ``loss(logits:labels:inputLengths:labelLengths:)``.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    labelShape: [Int], inputLengths: [Int], labelLengths: [Int],
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      input: logits, shape: shape, fromLogits: true, labels: labels,
      labelShape: labelShape, inputLengths: inputLengths, labelLengths: labelLengths, loss: loss,
      gradient: nil)
  }

  /// Writes the CTC loss of raw scores (the log-softmax over the classes fused in) and its gradient with respect to the logits into caller buffers.
  ///
  /// - Parameters:
  ///   - logits: The input in row-major order, `(T, N, C)` or `(T, C)`.
  ///   - shape: The shape of `logits`.
  ///   - labels: The label sequences (class indices), row-major.
  ///   - labelShape: The shape of `labels`: padded `(N, S)` or concatenated `[sum(labelLengths)]`.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (`N` for `.none`, 1 for unbatched input or `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none` (1 for
  ///     unbatched input).
  ///   - gradient: Receives the gradient, as many elements as the input, every one written (0 at
  ///     and after each sample's input length). It may be the input's own memory.
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:labelShape:inputLengths:labelLengths:into:)``,
  ///   or for a gradient of the wrong count.
  /// - Complexity: As ``lossAndGradient(logits:labels:inputLengths:labelLengths:upstreamGradient:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    labelShape: [Int], inputLengths: [Int], labelLengths: [Int],
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      input: logits, shape: shape, fromLogits: true, labels: labels,
      labelShape: labelShape, inputLengths: inputLengths, labelLengths: labelLengths,
      upstreamGradient: upstreamGradient, loss: loss,
      gradient: gradient)
  }

  /// Computes the CTC loss of raw scores (the log-softmax over the classes fused in) and overwrites the input with
  /// its gradient with respect to the logits.
  ///
  /// - Parameters:
  ///   - logits: The input in row-major order, `(T, N, C)` or `(T, C)`; on return, the
  ///     gradient (0 at and after each sample's input length).
  ///   - shape: The shape of the input.
  ///   - labels: The label sequences (class indices), row-major.
  ///   - labelShape: The shape of `labels`: padded `(N, S)` or concatenated `[sum(labelLengths)]`.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (`N` for `.none`, 1 for unbatched input or `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none` (1 for
  ///     unbatched input).
  /// - Throws: ``LossError``, as ``loss(logits:shape:labels:labelShape:inputLengths:labelLengths:into:)``;
  ///   the input is unchanged when it throws.
  /// - Complexity: As ``lossAndGradient(logits:labels:inputLengths:labelLengths:upstreamGradient:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwritingLogits logits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    labels: UnsafeBufferPointer<Int>, labelShape: [Int], inputLengths: [Int],
    labelLengths: [Int], upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      input: UnsafeBufferPointer(logits), shape: shape, fromLogits: true, labels: labels,
      labelShape: labelShape, inputLengths: inputLengths, labelLengths: labelLengths,
      upstreamGradient: upstreamGradient, loss: loss,
      gradient: logits)
  }
}
