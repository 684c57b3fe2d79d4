import CrossEntropy

/// `--loss cross-entropy`: ``SoftmaxCrossEntropy``, as `torch.nn.functional.cross_entropy`.
/// An integer target holds class indices; a float target holds probabilities.
enum CrossEntropyEvaluation: EvaluableLoss {
  static let name = "cross-entropy"
  static let summary =
    "Softmax cross-entropy from logits (F.cross_entropy); int target = class indices,"
    + " float target = probabilities."
  static let options: Set<EvaluateOption> = [
    .reduction, .classAxis, .weight, .ignoreIndex, .labelSmoothing, .bfloat16, .zLossScale,
    .logitSoftCap, .normalizer, .allIgnored, .sampleWeight, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    let criterion = SoftmaxCrossEntropy(
      reduction: try request.reduction(), classAxis: options.classAxis,
      ignoreIndex: options.ignoreIndex, labelSmoothing: options.labelSmoothing,
      zLossScale: options.zLossScale, logitSoftCap: options.logitSoftCap,
      normalizer: options.normalizer, allIgnored: options.allIgnored)
    let weights = try request.classWeights()
    let sampleWeights = try request.sampleWeights()
    let upstream = try request.upstreamGradient()
    let logits = request.input
    if request.target.array.dtype.isFloatingPoint {
      let target = request.target
      guard target.array.shape == logits.shape else {
        throw CLIError(
          "\(target.label): a float target holds probabilities of the input's shape"
            + " \(describe(logits.shape)), got \(target.array.dtype.rawValue) of shape"
            + " \(describe(target.array.shape)); class indices must be an integer array"
            + " (int64, int32 or uint8)")
      }
      let probabilities = try request.floatTarget()
      return try request.run { () throws(LossError) in
        request.wantsGradient
          ? try criterion.lossAndGradient(
            logits: logits, targets: probabilities, classWeights: weights,
            sampleWeights: sampleWeights, upstreamGradient: upstream)
          : (
            try criterion.loss(
              logits: logits, targets: probabilities, classWeights: weights,
              sampleWeights: sampleWeights),
            nil
          )
      }
    }
    let labels = try request.classLabels()
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          logits: logits, labels: labels, classWeights: weights, sampleWeights: sampleWeights,
          upstreamGradient: upstream)
        : (
          try criterion.loss(
            logits: logits, labels: labels, classWeights: weights, sampleWeights: sampleWeights),
          nil
        )
    }
  }
}
