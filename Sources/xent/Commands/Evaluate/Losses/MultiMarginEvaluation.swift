import CrossEntropy

/// `--loss multi-margin`: ``MultiMarginLoss``, as `torch.nn.functional.multi_margin_loss`:
/// input `(N, C)` or `(C)`, class-index target, `--p`, `--margin`, per-class `--weight`.
enum MultiMarginEvaluation: EvaluableLoss {
  static let name = "multi-margin"
  static let summary =
    "Multi-class hinge loss (F.multi_margin_loss); input (N, C) or (C), class-index target."
  static let options: Set<EvaluateOption> = [
    .reduction, .weight, .margin, .p, .normalizer, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = MultiMarginLoss(
      reduction: try request.reduction(), p: options.p, margin: options.margin,
      normalizer: options.normalizer)
    let labels = try request.classLabels()
    let weights = try request.classWeights()
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logits: input, labels: labels, classWeights: weights, upstreamGradient: upstream)
        : (try criterion.loss(logits: input, labels: labels, classWeights: weights), nil)
    }
  }
}
