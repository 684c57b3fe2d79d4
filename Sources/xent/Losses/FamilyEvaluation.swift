import CrossEntropy

/// `--loss kl-div`: ``KLDivergence``, as `torch.nn.functional.kl_div`. The input holds
/// log-probabilities; the float target holds probabilities, or log-probabilities with
/// `--log-target`. `--reduction batchmean` divides by the extent of axis 0.
enum KLDivergenceEvaluation: EvaluableLoss {
  static let name = "kl-div"
  static let summary =
    "KL divergence of log-probabilities from a target distribution (F.kl_div);"
    + " --reduction batchmean, --log-target."
  static let options: Set<EvaluateOption> = [.reduction, .logTarget]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let reduction = KLDivergence.Reduction(rawValue: request.options.reduction.rawValue)!
    let criterion = KLDivergence(reduction: reduction, logTarget: request.options.logTarget)
    let targets = try request.floatTarget()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(logProbabilities: input, targets: targets)
        : (try criterion.loss(logProbabilities: input, targets: targets), nil)
    }
  }
}

/// `--loss mse`: ``MeanSquaredError``, as `torch.nn.functional.mse_loss` (shapes broadcast).
enum MeanSquaredErrorEvaluation: EvaluableLoss {
  static let name = "mse"
  static let summary = "Mean squared error (F.mse_loss); input and target broadcast."
  static let options: Set<EvaluateOption> = [.reduction]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = MeanSquaredError(reduction: try request.reduction())
    let targets = try request.floatTarget()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(predictions: input, targets: targets)
        : (try criterion.loss(predictions: input, targets: targets), nil)
    }
  }
}

/// `--loss multi-margin`: ``MultiMarginLoss``, as `torch.nn.functional.multi_margin_loss`:
/// input `(N, C)` or `(C)`, class-index target, `--p`, `--margin`, per-class `--weight`.
enum MultiMarginEvaluation: EvaluableLoss {
  static let name = "multi-margin"
  static let summary =
    "Multi-class hinge loss (F.multi_margin_loss); input (N, C) or (C), class-index target."
  static let options: Set<EvaluateOption> = [.reduction, .weight, .margin, .p]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = MultiMarginLoss(
      reduction: try request.reduction(), p: options.p, margin: options.margin)
    let labels = try request.classLabels()
    let weights = try request.classWeights()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(logits: input, labels: labels, classWeights: weights)
        : (try criterion.loss(logits: input, labels: labels, classWeights: weights), nil)
    }
  }
}

/// `--loss focal`: ``SigmoidFocalLoss``, as `torchvision.ops.sigmoid_focal_loss` (float
/// targets, `--alpha` 0.25 and `--gamma` 2 by default). Unlike torchvision, whose default
/// reduction is none, the default is mean, as for every loss here.
enum FocalEvaluation: EvaluableLoss {
  static let name = "focal"
  static let summary =
    "Sigmoid focal loss from logits (torchvision.ops.sigmoid_focal_loss); float 0/1 target."
  static let options: Set<EvaluateOption> = [.reduction, .alpha, .gamma]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = SigmoidFocalLoss(
      reduction: try request.reduction(), alpha: options.alpha, gamma: options.gamma)
    let targets = try request.floatTarget()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(logits: input, targets: targets)
        : (try criterion.loss(logits: input, targets: targets), nil)
    }
  }
}

/// `--loss softmax-focal`: ``SoftmaxFocalLoss``, the multi-class focal loss
/// `-alpha[y] * (1 - p_y)^gamma * log p_y` from logits and class indices; `--weight` holds the
/// per-class `alpha`, and the mean divides by the number of non-ignored rows.
enum SoftmaxFocalEvaluation: EvaluableLoss {
  static let name = "softmax-focal"
  static let summary =
    "Multi-class focal loss from logits; class-index target, --weight = per-class alpha."
  static let options: Set<EvaluateOption> = [
    .reduction, .classAxis, .weight, .ignoreIndex, .gamma,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = SoftmaxFocalLoss(
      reduction: try request.reduction(), classAxis: options.classAxis,
      ignoreIndex: options.ignoreIndex, gamma: options.gamma)
    let labels = try request.classLabels()
    let alpha = try request.classWeights()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(logits: input, labels: labels, alpha: alpha)
        : (try criterion.loss(logits: input, labels: labels, alpha: alpha), nil)
    }
  }
}
