import CrossEntropy

/// `--loss poly`: ``PolyLoss``, Poly-1 cross-entropy as optax's `poly_loss_cross_entropy`:
/// cross-entropy plus `epsilon * (1 - p_t)` per row, from logits and class indices or a target
/// distribution.
enum PolyEvaluation: EvaluableLoss {
  static let name = "poly"
  static let summary =
    "Poly-1 cross-entropy from logits (optax.poly_loss_cross_entropy): CE + epsilon (1 - p_t);"
    + " int target = class indices, float target = probabilities."
  static let options: Set<EvaluateOption> = [
    .reduction, .classAxis, .ignoreIndex, .epsilon, .normalizer, .allIgnored, .sampleWeight,
    .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = PolyLoss(
      epsilon: options.epsilon, reduction: try request.reduction(),
      classAxis: options.classAxis, ignoreIndex: options.ignoreIndex,
      normalizer: options.normalizer, allIgnored: options.allIgnored)
    let sampleWeights = try request.sampleWeights()
    let upstream = try request.upstreamGradient()
    let logits = request.input
    if request.target.array.dtype.isFloatingPoint {
      let targets = try request.floatTarget()
      return try request.run { () throws(LossError) in
        request.wantsGradient
          ? try criterion.lossAndGradient(
            logits: logits, targets: targets, sampleWeights: sampleWeights,
            upstreamGradient: upstream)
          : (
            try criterion.loss(logits: logits, targets: targets, sampleWeights: sampleWeights), nil
          )
      }
    }
    let labels = try request.classLabels()
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logits: logits, labels: labels, sampleWeights: sampleWeights, upstreamGradient: upstream)
        : (try criterion.loss(logits: logits, labels: labels, sampleWeights: sampleWeights), nil)
    }
  }
}
