import CrossEntropy

/// `--loss kl-div`: ``KLDivergence``, as `torch.nn.functional.kl_div`. The input holds
/// log-probabilities; the float target holds probabilities, or log-probabilities with
/// `--log-target`. `--reduction batchmean` divides by the extent of axis 0; `--normalizer K`
/// replaces the denominator of mean and batchmean.
enum KLDivergenceEvaluation: EvaluableLoss {
  static let name = "kl-div"
  static let summary =
    "KL divergence of log-probabilities from a target distribution (F.kl_div);"
    + " --reduction batchmean, --log-target."
  static let options: Set<EvaluateOption> = [
    .reduction, .logTarget, .normalizer, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let reduction = KLDivergence.Reduction(rawValue: request.options.reduction.rawValue)!
    let criterion = KLDivergence(
      reduction: reduction, logTarget: request.options.logTarget,
      normalizer: request.options.normalizer)
    let targets = try request.floatTarget()
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logProbabilities: input, targets: targets, upstreamGradient: upstream)
        : (try criterion.loss(logProbabilities: input, targets: targets), nil)
    }
  }
}
