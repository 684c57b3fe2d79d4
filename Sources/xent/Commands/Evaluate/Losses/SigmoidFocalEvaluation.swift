import CrossEntropy

/// `--loss focal`: ``SigmoidFocalLoss``, as `torchvision.ops.sigmoid_focal_loss` (float
/// targets, `--alpha` 0.25 and `--gamma` 2 by default). Unlike torchvision, whose default
/// reduction is none, the default is mean, as for every loss here. `--sample-weight` holds one
/// weight per leading row (axis 0), which multiplies that row's elements (the mean still
/// divides by the element count, or by `--normalizer`, mmdetection's `avg_factor`);
/// `--upstream-gradient` is shaped like the loss.
enum SigmoidFocalEvaluation: EvaluableLoss {
  static let name = "focal"
  static let summary =
    "Sigmoid focal loss from logits (torchvision.ops.sigmoid_focal_loss); float 0/1 target."
  static let options: Set<EvaluateOption> = [
    .reduction, .alpha, .gamma, .normalizer, .sampleWeight, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = SigmoidFocalLoss(
      reduction: try request.reduction(), alpha: options.alpha, gamma: options.gamma,
      normalizer: options.normalizer)
    let targets = try request.floatTarget()
    let sampleWeights = try request.sampleWeights()
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logits: input, targets: targets, sampleWeights: sampleWeights,
          upstreamGradient: upstream)
        : (try criterion.loss(logits: input, targets: targets, sampleWeights: sampleWeights), nil)
    }
  }
}
