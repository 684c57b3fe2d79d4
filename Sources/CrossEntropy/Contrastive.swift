import RealModule

/// The InfoNCE (contrastive) loss over a similarity matrix: each row's positive is the column
/// with the same index.
///
/// For an `N × M` similarity matrix `S` (`M >= N`; typically cosine similarities of paired
/// embeddings, the extra columns being further negatives) and temperature `τ`:
///
/// ```
/// l_i  = logsumexp_j(S_ij / τ) - S_ii / τ          (cross-entropy with target i on row i)
/// none = l_i, sum = sum(l_i), mean = sum(l_i) / N
/// dl/dS_ij = (softmax_j(S_i / τ) - [i == j]) / τ,   dl/dτ = -sum_ij (dl/dS_ij) * S_ij / τ
/// ```
///
/// This is `F.cross_entropy(S / τ, torch.arange(N))`. For the symmetric (CLIP) form from
/// two embedding batches, see ``CLIPLoss``.
///
/// ```swift
/// let nce = InfoNCELoss(temperature: 0.07)
/// let result = try nce.lossAndGradient(similarities: cosine)
/// ```
public struct InfoNCELoss: Sendable, Hashable {
  /// The temperature `τ > 0` that divides the similarities.
  public var temperature: Double
  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction

  /// Creates an InfoNCE criterion. The temperature has no default: common choices range from
  /// 0.07 (MoCo, CLIP's initial value) to 0.5 (SimCLR).
  ///
  /// - Parameters:
  ///   - temperature: The temperature, finite and > 0.
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  public init(temperature: Double, reduction: Reduction = .mean) {
    self.temperature = temperature
    self.reduction = reduction
  }

  /// The InfoNCE loss of a similarity matrix.
  ///
  /// - Parameter similarities: An `N × M` matrix with `M >= N`; row `i`'s positive is column `i`.
  /// - Returns: A 0-dimensional array, or `N` losses for `.none`.
  /// - Throws: ``LossError`` for a matrix that is not 2-dimensional with at least as many columns
  ///   as rows, or a temperature that is not finite and positive.
  /// - Complexity: O(N * M).
  public func loss<Scalar: BinaryFloatingPoint>(
    similarities: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(similarities, wantsGradient: false).loss
  }

  /// The InfoNCE loss, its gradient with respect to the similarities, and its derivative with
  /// respect to the temperature (for a learnable temperature).
  ///
  /// - Parameter similarities: An `N × M` matrix with `M >= N`; row `i`'s positive is column `i`.
  /// - Returns: The loss, a gradient shaped like `similarities`, and d(loss)/d(temperature)
  ///   (for `.none`, both of the sum of the losses).
  /// - Throws: ``LossError``, as ``loss(similarities:)``.
  /// - Complexity: O(N * M).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    similarities: ShapedArray<Scalar>
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>, temperatureGradient: Scalar
  ) {
    let result = try evaluate(similarities, wantsGradient: true)
    return (result.loss, result.gradient!, result.temperatureGradient)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ similarities: ShapedArray<Scalar>, wantsGradient: Bool
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?, temperatureGradient: Scalar
  ) {
    try checkTemperature(temperature)
    guard similarities.rank == 2 && similarities.shape[1] >= similarities.shape[0] else {
      throw .shapeMismatch(
        "similarities shape \(describe(shape: similarities.shape)) is not an N × M matrix with"
          + " M >= N; row i's positive is column i")
    }
    let (rows, columns) = (similarities.shape[0], similarities.shape[1])
    let logits = similarities.scalars.map { Double($0) / temperature }
    let result = Reference.diagonalCrossEntropy(
      logits: logits, rows: rows, columns: columns, transposed: false,
      scale: reduction == .mean ? 1 / Double(rows) : 1, wantsGradient: wantsGradient)
    var losses: [Scalar]
    switch reduction {
    case .none: losses = result.rowLosses.map { Scalar($0) }
    case .sum: losses = [Scalar(result.rowLosses.reduce(0, +))]
    case .mean: losses = [Scalar(result.rowLosses.reduce(0, +) / Double(rows))]
    }
    var temperatureGradient = 0.0
    var gradient: [Scalar]? = nil
    if let logitGradient = result.gradient {
      // d/dS = d/dlogits / τ; d/dτ = sum d/dlogits * (-S / τ^2) = -sum d/dlogits * logits / τ.
      gradient = logitGradient.map { Scalar($0 / temperature) }
      for (g, z) in zip(logitGradient, logits) { temperatureGradient -= g * z / temperature }
    }
    return (
      ShapedArray(uncheckedShape: reduction == .none ? [rows] : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: similarities.shape, scalars: $0) },
      Scalar(temperatureGradient)
    )
  }
}

/// CLIP's symmetric contrastive loss from a batch of paired image and text embeddings.
///
/// With row-normalised embeddings `a_i`, `b_i` (when ``normalizesEmbeddings``; PyTorch's
/// `F.normalize`, which divides by `max(‖x‖, 1e-12)`) and the learnable log scale `s`
/// (CLIP's `logit_scale`, initialised to `log(1 / 0.07)`):
///
/// ```
/// L_ij = exp(s) * a_i · b_j                         (N × N)
/// loss = (CE(L, diag) + CE(Lᵀ, diag)) / 2           (each CE a mean over N rows)
/// ```
///
/// This is open_clip's `ClipLoss` on one device. The gradient flows to both embedding batches
/// (through the normalisation) and to `s`. It needs the `N × N` logits, so memory is O(N²).
///
/// ```swift
/// let clip = CLIPLoss()
/// let result = try clip.lossAndGradient(
///   imageEmbeddings: images, textEmbeddings: texts, logitScale: logScale)
/// ```
public struct CLIPLoss: Sendable, Hashable {
  /// Whether each embedding is divided by its L2 norm first. Default true.
  public var normalizesEmbeddings: Bool

  /// Creates a CLIP criterion.
  ///
  /// - Parameter normalizesEmbeddings: Whether to L2-normalise the embeddings. Default true.
  public init(normalizesEmbeddings: Bool = true) {
    self.normalizesEmbeddings = normalizesEmbeddings
  }

  /// The symmetric contrastive loss of paired embeddings.
  ///
  /// - Parameters:
  ///   - imageEmbeddings: An `N × D` matrix; row `i` pairs with row `i` of `textEmbeddings`.
  ///   - textEmbeddings: An `N × D` matrix.
  ///   - logitScale: The log of the factor that multiplies the similarities.
  /// - Returns: The mean loss.
  /// - Throws: ``LossError`` when the embeddings are not two `N × D` matrices of the same
  ///   shape with `N >= 1`.
  /// - Complexity: O(N² * D) time, O(N²) memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    imageEmbeddings: ShapedArray<Scalar>, textEmbeddings: ShapedArray<Scalar>, logitScale: Scalar
  ) throws(LossError) -> Scalar {
    try evaluate(imageEmbeddings, textEmbeddings, logitScale, wantsGradient: false).loss
  }

  /// The symmetric contrastive loss and its gradients with respect to both embedding batches
  /// and the log scale.
  ///
  /// - Parameters:
  ///   - imageEmbeddings: An `N × D` matrix; row `i` pairs with row `i` of `textEmbeddings`.
  ///   - textEmbeddings: An `N × D` matrix.
  ///   - logitScale: The log of the factor that multiplies the similarities.
  /// - Returns: The loss, the gradients shaped like each embedding batch, and d(loss)/d(s).
  /// - Throws: ``LossError``, as ``loss(imageEmbeddings:textEmbeddings:logitScale:)``.
  /// - Complexity: O(N² * D) time, O(N²) memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    imageEmbeddings: ShapedArray<Scalar>, textEmbeddings: ShapedArray<Scalar>, logitScale: Scalar
  ) throws(LossError) -> (
    loss: Scalar, imageGradient: ShapedArray<Scalar>, textGradient: ShapedArray<Scalar>,
    logitScaleGradient: Scalar
  ) {
    let result = try evaluate(imageEmbeddings, textEmbeddings, logitScale, wantsGradient: true)
    return (result.loss, result.image!, result.text!, result.scale)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ image: ShapedArray<Scalar>, _ text: ShapedArray<Scalar>, _ logitScale: Scalar,
    wantsGradient: Bool
  ) throws(LossError) -> (
    loss: Scalar, image: ShapedArray<Scalar>?, text: ShapedArray<Scalar>?, scale: Scalar
  ) {
    guard image.rank == 2 && image.shape[0] >= 1 else {
      throw .shapeMismatch(
        "image embeddings shape \(describe(shape: image.shape)) is not an N × D matrix with"
          + " N >= 1")
    }
    guard text.shape == image.shape else {
      throw .shapeMismatch(
        "text embeddings shape \(describe(shape: text.shape)) does not match image embeddings"
          + " shape \(describe(shape: image.shape))")
    }
    let result = Reference.clip(
      image: image.scalars.map(Double.init), text: text.scalars.map(Double.init),
      count: image.shape[0], dimension: image.shape[1], logitScale: Double(logitScale),
      normalizes: normalizesEmbeddings, wantsGradient: wantsGradient)
    return (
      Scalar(result.loss),
      result.image.map { ShapedArray(uncheckedShape: image.shape, scalars: $0.map(Scalar.init)) },
      result.text.map { ShapedArray(uncheckedShape: text.shape, scalars: $0.map(Scalar.init)) },
      Scalar(result.scale)
    )
  }
}

/// Checks a contrastive temperature: finite and > 0.
func checkTemperature(_ temperature: Double) throws(LossError) {
  guard temperature > 0 && temperature.isFinite else {
    throw .invalidOption("temperature \(temperature) is invalid; expected a finite value > 0")
  }
}
