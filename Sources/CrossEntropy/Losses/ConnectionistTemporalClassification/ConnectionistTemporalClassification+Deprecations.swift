/// Names that ``ConnectionistTemporalClassification`` used before its label sequences took the
/// `labels:` label (`targets:` now means floating-point targets only). Each forwards to its new
/// name.
extension ConnectionistTemporalClassification {
  /// Renamed ``loss(logProbabilities:labels:inputLengths:labelLengths:)``.
  ///
  /// - Parameters:
  ///   - logProbabilities: The input, `(T, N, C)` or `(T, C)`.
  ///   - targets: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample.
  ///   - targetLengths: One label length per sample.
  /// - Returns: As ``loss(logProbabilities:labels:inputLengths:labelLengths:)``.
  /// - Throws: As ``loss(logProbabilities:labels:inputLengths:labelLengths:)``.
  @available(*, deprecated, renamed: "loss(logProbabilities:labels:inputLengths:labelLengths:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Int>, inputLengths: [Int],
    targetLengths: [Int]
  ) throws(LossError) -> ShapedArray<Scalar> {
    try loss(
      logProbabilities: logProbabilities, labels: targets, inputLengths: inputLengths,
      labelLengths: targetLengths)
  }

  /// Renamed ``lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:upstreamGradient:)``.
  ///
  /// - Parameters:
  ///   - logProbabilities: The input, `(T, N, C)` or `(T, C)`.
  ///   - targets: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample.
  ///   - targetLengths: One label length per sample.
  /// - Returns: As ``lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:upstreamGradient:)``.
  /// - Throws: As ``lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:upstreamGradient:)``.
  @available(
    *, deprecated, renamed: "lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:)"
  )
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Int>, inputLengths: [Int],
    targetLengths: [Int]
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    try lossAndGradient(
      logProbabilities: logProbabilities, labels: targets, inputLengths: inputLengths,
      labelLengths: targetLengths)
  }

  /// Renamed ``loss(logits:labels:inputLengths:labelLengths:)``.
  ///
  /// - Parameters:
  ///   - logits: The input, `(T, N, C)` or `(T, C)`.
  ///   - targets: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample.
  ///   - targetLengths: One label length per sample.
  /// - Returns: As ``loss(logits:labels:inputLengths:labelLengths:)``.
  /// - Throws: As ``loss(logits:labels:inputLengths:labelLengths:)``.
  @available(*, deprecated, renamed: "loss(logits:labels:inputLengths:labelLengths:)")
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Int>, inputLengths: [Int],
    targetLengths: [Int]
  ) throws(LossError) -> ShapedArray<Scalar> {
    try loss(
      logits: logits, labels: targets, inputLengths: inputLengths, labelLengths: targetLengths)
  }

  /// Renamed ``lossAndGradient(logits:labels:inputLengths:labelLengths:upstreamGradient:)``.
  ///
  /// - Parameters:
  ///   - logits: The input, `(T, N, C)` or `(T, C)`.
  ///   - targets: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample.
  ///   - targetLengths: One label length per sample.
  /// - Returns: As ``lossAndGradient(logits:labels:inputLengths:labelLengths:upstreamGradient:)``.
  /// - Throws: As ``lossAndGradient(logits:labels:inputLengths:labelLengths:upstreamGradient:)``.
  @available(*, deprecated, renamed: "lossAndGradient(logits:labels:inputLengths:labelLengths:)")
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Int>, inputLengths: [Int],
    targetLengths: [Int]
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    try lossAndGradient(
      logits: logits, labels: targets, inputLengths: inputLengths, labelLengths: targetLengths)
  }
}
