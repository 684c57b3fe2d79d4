import CrossEntropy

/// `--loss linear-cross-entropy`: ``LinearCrossEntropy``, as
/// `F.cross_entropy(F.linear(input, classifier, bias), target)`: `--input` holds the hidden
/// states (`[..., D]`), `--classifier` the weight (`V x D`), `--bias` its bias; `--gradient`,
/// `--classifier-gradient` and `--bias-gradient` receive the three gradients, which
/// `--sample-weight` (one per row) and `--upstream-gradient` (shaped like the loss) scale row
/// by row.
enum LinearCrossEntropyEvaluation: EvaluableLoss {
  static let name = "linear-cross-entropy"
  static let summary =
    "Softmax cross-entropy of a linear layer, F.cross_entropy(F.linear(x, W, b), y), without"
    + " the N x V logits; --input = hidden states, --classifier = W (V x D), --bias = b."
  static let options: Set<EvaluateOption> = [
    .reduction, .weight, .ignoreIndex, .labelSmoothing, .zLossScale, .logitSoftCap,
    .classifier, .bias, .classifierGradient, .biasGradient, .normalizer, .allIgnored,
    .sampleWeight, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    guard let classifier = options.classifier else {
      throw CLIError(
        "\(name) needs --classifier W.npy, the classifier weight (V x D, nn.Linear's layout)")
    }
    if options.wantsBiasGradient && options.bias == nil {
      throw CLIError("--bias-gradient needs --bias: without a bias there is no bias gradient")
    }
    let weight = try request.floats(classifier, requireSameDType: true)
    let bias = try options.bias.map { b throws(CLIError) in
      try request.floats(b, requireSameDType: true)
    }
    let criterion = LinearCrossEntropy(
      reduction: try request.reduction(), ignoreIndex: options.ignoreIndex,
      labelSmoothing: options.labelSmoothing, zLossScale: options.zLossScale,
      logitSoftCap: options.logitSoftCap, normalizer: options.normalizer,
      allIgnored: options.allIgnored)
    let weights = try request.classWeights()
    let sampleWeights = try request.sampleWeights()
    let upstream = try request.upstreamGradient()
    let labels = try request.classLabels()
    let hidden = request.input
    let wantsGradient =
      request.wantsGradient || options.wantsClassifierGradient || options.wantsBiasGradient
    do {
      guard wantsGradient else {
        let loss = try criterion.loss(
          hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: weights,
          sampleWeights: sampleWeights)
        return EvaluationResult(loss: loss, gradient: nil)
      }
      let result = try criterion.lossAndGradient(
        hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: weights,
        sampleWeights: sampleWeights, upstreamGradient: upstream)
      return EvaluationResult(
        loss: result.loss, gradient: result.hiddenGradient,
        classifierGradient: result.weightGradient, biasGradient: result.biasGradient)
    } catch {
      throw CLIError(
        "\(name) (--input \(request.inputPath), --classifier \(classifier.path), --target"
          + " \(request.target.path)): \(error.message)")
    }
  }
}
