import CrossEntropy

/// `--loss nll`: ``NegativeLogLikelihood`` on log-probabilities, as
/// `torch.nn.functional.nll_loss`.
enum NegativeLogLikelihoodEvaluation: EvaluableLoss {
  static let name = "nll"
  static let summary = "Negative log-likelihood of log-probabilities (F.nll_loss)."
  static let options: Set<EvaluateOption> = [
    .reduction, .classAxis, .weight, .ignoreIndex, .normalizer, .allIgnored, .sampleWeight,
    .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = NegativeLogLikelihood(
      reduction: try request.reduction(), classAxis: request.options.classAxis,
      ignoreIndex: request.options.ignoreIndex, normalizer: request.options.normalizer,
      allIgnored: request.options.allIgnored)
    let weights = try request.classWeights()
    let labels = try request.classLabels()
    let sampleWeights = try request.sampleWeights()
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logProbabilities: input, labels: labels, classWeights: weights,
          sampleWeights: sampleWeights, upstreamGradient: upstream)
        : (
          try criterion.loss(
            logProbabilities: input, labels: labels, classWeights: weights,
            sampleWeights: sampleWeights), nil
        )
    }
  }
}
