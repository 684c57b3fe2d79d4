import CrossEntropy

/// `--loss mse`: ``MeanSquaredError``, as `torch.nn.functional.mse_loss` (shapes broadcast).
enum MeanSquaredErrorEvaluation: EvaluableLoss {
  static let name = "mse"
  static let summary = "Mean squared error (F.mse_loss); input and target broadcast."
  static let options: Set<EvaluateOption> = [.reduction, .normalizer, .upstreamGradient]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = MeanSquaredError(
      reduction: try request.reduction(), normalizer: request.options.normalizer)
    let targets = try request.floatTarget()
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          predictions: input, targets: targets, upstreamGradient: upstream)
        : (try criterion.loss(predictions: input, targets: targets), nil)
    }
  }
}
