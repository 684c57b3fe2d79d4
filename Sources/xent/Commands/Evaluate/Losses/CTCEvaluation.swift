import CrossEntropy
import NumPyIO

/// `--loss ctc`: ``ConnectionistTemporalClassification`` on log-probabilities, as
/// `torch.nn.functional.ctc_loss`.
///
/// `--input` holds log-probabilities `(T, N, C)` or `(T, C)`; `--target` holds class indices,
/// padded `(N, S)` or concatenated (1-d); `--input-lengths` and `--target-lengths` hold one
/// integer per batch item (a 0-d or 1-element array when unbatched). `--normalizer K` replaces
/// the batch count of the mean (each loss is still divided by its clamped target length).
enum CTCEvaluation: EvaluableLoss {
  static let name = "ctc"
  static let summary =
    "Connectionist temporal classification of log-probabilities (F.ctc_loss)."
  static let options: Set<EvaluateOption> = [
    .reduction, .inputLengths, .targetLengths, .blank, .zeroInfinity, .normalizer,
    .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = ConnectionistTemporalClassification(
      blank: request.options.blank, reduction: try request.reduction(),
      zeroInfinity: request.options.zeroInfinity, normalizer: request.options.normalizer)
    let targets = try request.classLabels()
    let inputLengths = try lengths(request.options.inputLengths, "--input-lengths", request)
    let targetLengths = try lengths(request.options.targetLengths, "--target-lengths", request)
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logProbabilities: input, labels: targets, inputLengths: inputLengths,
          labelLengths: targetLengths, upstreamGradient: upstream)
        : (
          try criterion.loss(
            logProbabilities: input, labels: targets, inputLengths: inputLengths,
            labelLengths: targetLengths), nil
        )
    }
  }

  /// A lengths file as integers: required, of an integer dtype (PyTorch: "must be integral"),
  /// 0-d or 1-d.
  private static func lengths<Scalar>(
    _ loaded: LoadedArray?, _ flag: String, _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> [Int] {
    guard let loaded else {
      throw CLIError("ctc needs \(flag) L.npy: one integer length per batch item")
    }
    let array = loaded.array
    guard !array.dtype.isFloatingPoint && array.dtype != .bool else {
      throw CLIError(
        "\(loaded.label): ctc expects integer lengths (int64 or int32), got"
          + " \(array.dtype.rawValue)")
    }
    guard array.shape.count <= 1 else {
      throw CLIError(
        "\(loaded.label) has shape \(describe(array.shape)); expected one length per batch item"
          + " (a 1-d array, or 0-d when unbatched)")
    }
    do { return try array.integers() } catch { throw CLIError(error.prefixed(loaded.label)) }
  }
}
