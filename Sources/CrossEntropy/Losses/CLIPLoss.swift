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
/// ``normalizer``, when set, replaces `N` in both means: `loss = (sum of the 2N row losses) /
/// (2 * normalizer)`, for a batch split into micro-batches whose losses are added.
///
/// This is open_clip's `ClipLoss` on one device. The gradient flows to both embedding batches
/// (through the normalisation) and to `s`. It needs the `N × N` logits, so memory is O(N²).
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, one value,
/// the loss being a scalar) that multiplies every gradient it returns.
///
/// ```swift
/// let clip = CLIPLoss()
/// let result = try clip.lossAndGradient(
///   imageEmbeddings: images, textEmbeddings: texts, logitScale: logScale)
/// ```
public struct CLIPLoss: Sendable, Hashable {
  /// Whether each embedding is divided by its L2 norm first. Default true.
  public var normalizesEmbeddings: Bool
  /// The denominator of each direction's mean, or `nil` (the default) for the number of pairs
  /// `N`. It must be finite and > 0.
  public var normalizer: Double?

  /// Creates a CLIP criterion.
  ///
  /// - Parameters:
  ///   - normalizesEmbeddings: Whether to L2-normalise the embeddings. Default true.
  ///   - normalizer: The denominator of each direction's mean, finite and > 0, or `nil` (the
  ///     number of pairs, the default).
  public init(normalizesEmbeddings: Bool = true, normalizer: Double? = nil) {
    self.normalizesEmbeddings = normalizesEmbeddings
    self.normalizer = normalizer
  }

  /// The symmetric contrastive loss of paired embeddings.
  ///
  /// - Parameters:
  ///   - imageEmbeddings: An `N × D` matrix; row `i` pairs with row `i` of `textEmbeddings`.
  ///   - textEmbeddings: An `N × D` matrix.
  ///   - logitScale: The log of the factor that multiplies the similarities.
  /// - Returns: The mean loss.
  /// - Throws: ``LossError`` when the embeddings are not two `N × D` matrices of the same
  ///   shape with `N >= 1`, or ``normalizer`` is not finite and > 0.
  /// - Complexity: O(N² * D) time, O(N²) memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    imageEmbeddings: ShapedArray<Scalar>, textEmbeddings: ShapedArray<Scalar>, logitScale: Scalar
  ) throws(LossError) -> Scalar {
    try evaluate(
      imageEmbeddings, textEmbeddings, logitScale, upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The symmetric contrastive loss and its gradients with respect to both embedding batches
  /// and the log scale.
  ///
  /// - Parameters:
  ///   - imageEmbeddings: An `N × D` matrix; row `i` pairs with row `i` of `textEmbeddings`.
  ///   - textEmbeddings: An `N × D` matrix.
  ///   - logitScale: The log of the factor that multiplies the similarities.
  ///   - upstreamGradient: Optional gradient with respect to the loss (one value, the loss
  ///     being a scalar): every gradient returned is multiplied by it, as PyTorch's
  ///     `loss.backward(gradient: g)`. Default nil (1).
  /// - Returns: The loss, the gradients shaped like each embedding batch, and d(loss)/d(s).
  /// - Throws: ``LossError``, as ``loss(imageEmbeddings:textEmbeddings:logitScale:)``.
  /// - Complexity: O(N² * D) time, O(N²) memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    imageEmbeddings: ShapedArray<Scalar>, textEmbeddings: ShapedArray<Scalar>, logitScale: Scalar,
    upstreamGradient: Scalar? = nil
  ) throws(LossError) -> (
    loss: Scalar, imageGradient: ShapedArray<Scalar>, textGradient: ShapedArray<Scalar>,
    logitScaleGradient: Scalar
  ) {
    let result = try evaluate(
      imageEmbeddings, textEmbeddings, logitScale, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.image!, result.text!, result.scale)
  }

  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ image: ShapedArray<Scalar>, _ text: ShapedArray<Scalar>, _ logitScale: Scalar,
    upstreamGradient: Scalar?, wantsGradient: Bool
  ) throws(LossError) -> (
    loss: Scalar, image: ShapedArray<Scalar>?, text: ShapedArray<Scalar>?, scale: Scalar
  ) {
    try checkEmbeddingShape(image.shape)
    guard text.shape == image.shape else {
      throw .shapeMismatch(
        "text embeddings shape \(describe(shape: text.shape)) does not match image embeddings"
          + " shape \(describe(shape: image.shape))")
    }
    var imageGradient = wantsGradient ? [Scalar](repeating: 0, count: image.scalars.count) : nil
    var textGradient = wantsGradient ? [Scalar](repeating: 0, count: text.scalars.count) : nil
    let result = try image.withUnsafeBufferPointer { imageBuffer throws(LossError) in
      try text.withUnsafeBufferPointer { textBuffer throws(LossError) in
        try withOptionalMutableBuffer(&imageGradient) { imageGradientBuffer throws(LossError) in
          try withOptionalMutableBuffer(&textGradient) { textGradientBuffer throws(LossError) in
            try compute(
              image: imageBuffer, shape: image.shape, text: textBuffer, logitScale: logitScale,
              upstreamGradient: upstreamGradient, imageGradient: imageGradientBuffer,
              textGradient: textGradientBuffer)
          }
        }
      }
    }
    return (
      result.loss,
      imageGradient.map { ShapedArray(uncheckedShape: image.shape, scalars: $0) },
      textGradient.map { ShapedArray(uncheckedShape: text.shape, scalars: $0) },
      result.logitScaleGradient
    )
  }
}

// MARK: - Caller-owned memory

extension CLIPLoss {
  /// The symmetric contrastive loss of paired embeddings in caller buffers, without copying
  /// them into arrays.
  ///
  /// - Parameters:
  ///   - imageEmbeddings: An `N × D` matrix in row-major order; row `i` pairs with row `i` of
  ///     `textEmbeddings`.
  ///   - shape: The shape of both matrices, `[N, D]` with `N >= 1`.
  ///   - textEmbeddings: An `N × D` matrix in row-major order.
  ///   - logitScale: The log of the factor that multiplies the similarities.
  /// - Returns: The mean loss.
  /// - Throws: ``LossError``, as ``loss(imageEmbeddings:textEmbeddings:logitScale:)``, or for a
  ///   buffer whose count does not match `shape`.
  /// - Complexity: O(N² * D) time, O(N² + N * D) memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    imageEmbeddings: UnsafeBufferPointer<Scalar>, shape: [Int],
    textEmbeddings: UnsafeBufferPointer<Scalar>, logitScale: Scalar
  ) throws(LossError) -> Scalar {
    try compute(
      image: imageEmbeddings, shape: shape, text: textEmbeddings, logitScale: logitScale,
      upstreamGradient: nil, imageGradient: nil, textGradient: nil
    ).loss
  }

  /// The symmetric contrastive loss; its gradients with respect to both embedding batches go
  /// into caller buffers, and its derivative with respect to the log scale is returned with it.
  ///
  /// - Parameters:
  ///   - imageEmbeddings: An `N × D` matrix in row-major order; row `i` pairs with row `i` of
  ///     `textEmbeddings`.
  ///   - shape: The shape of both matrices, `[N, D]` with `N >= 1`.
  ///   - textEmbeddings: An `N × D` matrix in row-major order.
  ///   - logitScale: The log of the factor that multiplies the similarities.
  ///   - upstreamGradient: Optional gradient with respect to the loss (one value): every
  ///     gradient is multiplied by it. Default nil (1).
  ///   - imageGradient: Receives d(loss)/d(imageEmbeddings), `N * D` elements; it may be the
  ///     same memory as `imageEmbeddings`.
  ///   - textGradient: Receives d(loss)/d(textEmbeddings), `N * D` elements; it may be the same
  ///     memory as `textEmbeddings`.
  /// - Returns: The loss and d(loss)/d(logitScale).
  /// - Throws: ``LossError``, as
  ///   ``loss(imageEmbeddings:shape:textEmbeddings:logitScale:)``, or for a gradient buffer of
  ///   the wrong count.
  /// - Complexity: O(N² * D) time, O(N² + N * D) memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    imageEmbeddings: UnsafeBufferPointer<Scalar>, shape: [Int],
    textEmbeddings: UnsafeBufferPointer<Scalar>, logitScale: Scalar,
    upstreamGradient: Scalar? = nil, imageGradient: UnsafeMutableBufferPointer<Scalar>,
    textGradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) -> (loss: Scalar, logitScaleGradient: Scalar) {
    try compute(
      image: imageEmbeddings, shape: shape, text: textEmbeddings, logitScale: logitScale,
      upstreamGradient: upstreamGradient, imageGradient: imageGradient,
      textGradient: textGradient)
  }

  /// Checks the embeddings' shape: `[N, D]` with `N >= 1`.
  private func checkEmbeddingShape(_ shape: [Int]) throws(LossError) {
    guard shape.count == 2 && shape[0] >= 1 else {
      throw .shapeMismatch(
        "image embeddings shape \(describe(shape: shape)) is not an N × D matrix with"
          + " N >= 1")
    }
  }

  /// Checks that a caller buffer holds the `N * D` elements of `shape`.
  private func checkEmbeddingCount(_ count: Int, shape: [Int], name: String) throws(LossError) {
    let expected = try elementCount(of: shape, name: "embeddings shape")
    guard count == expected else {
      throw .shapeMismatch(
        "\(name) holds \(describe(elementCount: count)) but the embeddings shape \(describe(shape: shape))"
          + " holds \(expected)")
    }
  }

  /// Validates everything, then runs the reference: the one path of every form. The gradients,
  /// if any, receive every element; each may be the memory of its embeddings.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    image: UnsafeBufferPointer<Scalar>, shape: [Int], text: UnsafeBufferPointer<Scalar>,
    logitScale: Scalar, upstreamGradient: Scalar?,
    imageGradient: UnsafeMutableBufferPointer<Scalar>?,
    textGradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) -> (loss: Scalar, logitScaleGradient: Scalar) {
    try checkNormalizer(normalizer)
    try checkEmbeddingShape(shape)
    try checkEmbeddingCount(image.count, shape: shape, name: "image embeddings")
    try checkEmbeddingCount(text.count, shape: shape, name: "text embeddings")
    if let imageGradient {
      try checkEmbeddingCount(imageGradient.count, shape: shape, name: "image gradient")
    }
    if let textGradient {
      try checkEmbeddingCount(textGradient.count, shape: shape, name: "text gradient")
    }
    let result = Reference.clip(
      image: image.map { Double($0) }, text: text.map { Double($0) }, count: shape[0],
      dimension: shape[1], logitScale: Double(logitScale), normalizes: normalizesEmbeddings,
      normalizer: normalizer, upstream: upstreamGradient.map { Double($0) } ?? 1,
      wantsGradient: imageGradient != nil || textGradient != nil)
    if let imageGradient, let values = result.image {
      for i in values.indices { imageGradient[i] = Scalar(values[i]) }
    }
    if let textGradient, let values = result.text {
      for i in values.indices { textGradient[i] = Scalar(values[i]) }
    }
    return (Scalar(result.loss), Scalar(result.scale))
  }
}
