import CrossEntropy

/// `--loss binary-cross-entropy`: ``BinaryCrossEntropy`` on probabilities, as
/// `torch.nn.functional.binary_cross_entropy`. As PyTorch, the target must be a float array of
/// the input's dtype; `--weight` (any float dtype) broadcasts against the target.
enum BinaryCrossEntropyEvaluation: EvaluableLoss {
  static let name = "binary-cross-entropy"
  static let summary = "Binary cross-entropy of probabilities (F.binary_cross_entropy)."
  static let options: Set<EvaluateOption> = [
    .reduction, .weight, .normalizer, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = BinaryCrossEntropy(
      reduction: try request.reduction(), normalizer: request.options.normalizer)
    let targets = try request.floatTarget(requireSameDType: true)
    let weight = try request.options.weight.map { w throws(CLIError) in try request.floats(w) }
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          probabilities: input, targets: targets, weight: weight, upstreamGradient: upstream)
        : (try criterion.loss(probabilities: input, targets: targets, weight: weight), nil)
    }
  }
}

/// `--loss binary-cross-entropy-with-logits`: ``BinaryCrossEntropy`` on logits, as
/// `torch.nn.functional.binary_cross_entropy_with_logits`. As PyTorch, the target must be a
/// float array (any float dtype); `--weight` and `--pos-weight` broadcast against the target.
enum BinaryCrossEntropyWithLogitsEvaluation: EvaluableLoss {
  static let name = "binary-cross-entropy-with-logits"
  static let summary =
    "Binary cross-entropy from logits (F.binary_cross_entropy_with_logits)."
  static let options: Set<EvaluateOption> = [
    .reduction, .weight, .posWeight, .normalizer, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let criterion = BinaryCrossEntropy(
      reduction: try request.reduction(), normalizer: request.options.normalizer)
    let targets = try request.floatTarget()
    let weight = try request.options.weight.map { w throws(CLIError) in try request.floats(w) }
    let positiveWeight = try request.options.posWeight.map { w throws(CLIError) in
      try request.floats(w)
    }
    let upstream = try request.upstreamGradient()
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logits: input, targets: targets, weight: weight, positiveWeight: positiveWeight,
          upstreamGradient: upstream)
        : (
          try criterion.loss(
            logits: input, targets: targets, weight: weight, positiveWeight: positiveWeight), nil
        )
    }
  }
}
