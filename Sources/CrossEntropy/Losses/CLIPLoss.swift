import RealModule

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
