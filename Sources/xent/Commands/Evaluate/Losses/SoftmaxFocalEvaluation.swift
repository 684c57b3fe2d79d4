import CrossEntropy

/// `--loss softmax-focal`: ``SoftmaxFocalLoss``, the multi-class focal loss
/// `-alpha[y] * (1 - p_y)^gamma * log p_y` from logits and class indices; `--weight` holds the
/// per-class `alpha`, and the mean divides by the number of non-ignored rows.
enum SoftmaxFocalEvaluation: EvaluableLoss {
  static let name = "softmax-focal"
  static let summary =
    "Multi-class focal loss from logits; class-index target, --weight = per-class alpha."
  static let options: Set<EvaluateOption> = [
    .reduction, .classAxis, .weight, .ignoreIndex, .gamma, .normalizer, .allIgnored, .sampleWeight,
    .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = SoftmaxFocalLoss(
      reduction: try request.reduction(), classAxis: options.classAxis,
      ignoreIndex: options.ignoreIndex, gamma: options.gamma, normalizer: options.normalizer,
      allIgnored: options.allIgnored)
    let labels = try request.classLabels()
    let alpha = try request.classWeights()
    let sampleWeights = try request.sampleWeights()
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logits: input, labels: labels, classWeights: alpha, sampleWeights: sampleWeights,
          upstreamGradient: upstream)
        : (
          try criterion.loss(
            logits: input, labels: labels, classWeights: alpha, sampleWeights: sampleWeights),
          nil
        )
    }
  }
}
