import CrossEntropy

/// `--loss clip`: ``CLIPLoss``, open_clip's symmetric `ClipLoss` on one device: `--input` holds
/// the image embeddings and `--text` the text embeddings (both `N × D`; row `i` of one pairs
/// with row `i` of the other), `--logit-scale s` the log of the similarities' factor (CLIP's
/// learnable `logit_scale`), `--no-normalize` skips the L2 normalisation. The loss is a mean
/// (no `--reduction`, no `--target`); `--gradient` gets d(loss)/d(image embeddings),
/// `--text-gradient` and `--logit-scale-gradient` the others, each times the 0-d
/// `--upstream-gradient` when given. `--normalizer K` divides each direction's sum by K
/// instead of N.
enum CLIPEvaluation: EvaluableLoss {
  static let name = "clip"
  static let summary =
    "CLIP's symmetric contrastive loss (open_clip ClipLoss); --input = image embeddings,"
    + " --text = text embeddings (N x D each), no --target."
  static let options: Set<EvaluateOption> = [
    .text, .logitScale, .noNormalize, .normalizer, .upstreamGradient, .textGradient,
    .logitScaleGradient,
  ]
  static let takesTarget = false

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    guard let textFile = options.text else {
      throw CLIError("\(name) needs --text T.npy, the text embeddings (the input's shape)")
    }
    let text = try request.floats(textFile, requireSameDType: true)
    let upstream = try request.upstreamGradient()
    if let upstream, let file = options.upstreamGradient, !upstream.shape.isEmpty {
      throw CLIError(
        "\(file.label) has shape \(describe(upstream.shape)); \(name)'s loss is a scalar, so"
          + " the upstream gradient must be 0-d")
    }
    let criterion = CLIPLoss(
      normalizesEmbeddings: options.normalizes, normalizer: options.normalizer)
    let image = request.input
    let logitScale = Scalar(options.logitScale)
    do {
      guard request.wantsGradient || options.wantsTextGradient || options.wantsLogitScaleGradient
      else {
        let loss = try criterion.loss(
          imageEmbeddings: image, textEmbeddings: text, logitScale: logitScale)
        return EvaluationResult(loss: try ShapedArray(shape: [], scalars: [loss]))
      }
      let result = try criterion.lossAndGradient(
        imageEmbeddings: image, textEmbeddings: text, logitScale: logitScale,
        upstreamGradient: upstream?.scalars[0])
      return EvaluationResult(
        loss: try ShapedArray(shape: [], scalars: [result.loss]),
        gradient: request.wantsGradient ? result.imageGradient : nil,
        extraGradients: [
          .textGradient: result.textGradient,
          .logitScaleGradient: try ShapedArray(shape: [], scalars: [result.logitScaleGradient]),
        ])
    } catch {
      throw CLIError(
        "\(name) (--input \(request.inputPath), --text \(textFile.path)): \(error.message)")
    }
  }
}
