import CrossEntropy

/// `--loss info-nce`: ``InfoNCELoss``, `F.cross_entropy(S / T, arange(N))`: `--input` holds the
/// `N × M` similarity matrix (`M >= N`; row `i`'s positive is column `i`), so there is no
/// `--target`; `--temperature T` divides it. `--temperature-gradient` writes d(loss)/d(T), for a
/// learnable temperature.
enum InfoNCEEvaluation: EvaluableLoss {
  static let name = "info-nce"
  static let summary =
    "InfoNCE, F.cross_entropy(S / T, arange(N)); --input = the N x M similarity matrix"
    + " (M >= N, positives on the diagonal), no --target."
  static let options: Set<EvaluateOption> = [
    .reduction, .temperature, .normalizer, .upstreamGradient, .temperatureGradient,
  ]
  static let takesTarget = false

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = InfoNCELoss(
      temperature: request.options.temperature, reduction: try request.reduction(),
      normalizer: request.options.normalizer)
    let upstream = try request.upstreamGradient()
    let similarities = request.input
    do {
      guard request.wantsGradient || request.options.wantsTemperatureGradient else {
        return EvaluationResult(loss: try criterion.loss(similarities: similarities))
      }
      let result = try criterion.lossAndGradient(
        similarities: similarities, upstreamGradient: upstream)
      return EvaluationResult(
        loss: result.loss, gradient: request.wantsGradient ? result.gradient : nil,
        extraGradients: [
          .temperatureGradient: try ShapedArray(shape: [], scalars: [result.temperatureGradient])
        ])
    } catch {
      throw CLIError("\(name) (--input \(request.inputPath)): \(error.message)")
    }
  }
}
