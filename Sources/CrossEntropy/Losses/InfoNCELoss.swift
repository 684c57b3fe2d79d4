import RealModule

/// The InfoNCE (contrastive) loss over a similarity matrix: each row's positive is the column
/// with the same index.
///
/// For an `N × M` similarity matrix `S` (`M >= N`; typically cosine similarities of paired
/// embeddings, the extra columns being further negatives) and temperature `τ`:
///
/// ```
/// l_i  = logsumexp_j(S_ij / τ) - S_ii / τ          (cross-entropy with target i on row i)
/// none = l_i, sum = sum(l_i), mean = sum(l_i) / N      (sum(l_i) / normalizer when set)
/// dl/dS_ij = (softmax_j(S_i / τ) - [i == j]) / τ,   dl/dτ = -sum_ij (dl/dS_ij) * S_ij / τ
/// ```
///
/// This is `F.cross_entropy(S / τ, torch.arange(N))`. For the symmetric (CLIP) form from
/// two embedding batches, see ``CLIPLoss``.
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
/// the loss): each row's gradient is multiplied by its `g` (one `g` for `.mean` and `.sum`), and
/// the temperature's derivative is the same vector-Jacobian product.
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
  /// The denominator of `.mean`, or `nil` (the default) for the number of rows `N`. Set it to
  /// the global count when a batch is split into micro-batches or across processes. It must be
  /// finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates an InfoNCE criterion. The temperature has no default: common choices range from
  /// 0.07 (MoCo, CLIP's initial value) to 0.5 (SimCLR).
  ///
  /// - Parameters:
  ///   - temperature: The temperature, finite and > 0.
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the number of rows,
  ///     the default).
  public init(temperature: Double, reduction: Reduction = .mean, normalizer: Double? = nil) {
    self.temperature = temperature
    self.reduction = reduction
    self.normalizer = normalizer
  }

  /// The InfoNCE loss of a similarity matrix.
  ///
  /// - Parameter similarities: An `N × M` matrix with `M >= N`; row `i`'s positive is column `i`.
  /// - Returns: A 0-dimensional array, or `N` losses for `.none`.
  /// - Throws: ``LossError`` for a matrix that is not 2-dimensional with at least as many columns
  ///   as rows, a temperature that is not finite and positive, or a ``normalizer`` that is not
  ///   finite and > 0.
  /// - Complexity: O(N * M).
  public func loss<Scalar: BinaryFloatingPoint>(
    similarities: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(similarities, upstreamGradient: nil, wantsGradient: false).loss
  }

  /// The InfoNCE loss, its gradient with respect to the similarities, and its derivative with
  /// respect to the temperature (for a learnable temperature).
  ///
  /// - Parameters:
  ///   - similarities: An `N × M` matrix with `M >= N`; row `i`'s positive is column `i`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (`[N]`
  ///     for `.none`, 0-dimensional for `.mean` and `.sum`): both gradients returned are the
  ///     vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss, a gradient shaped like `similarities`, and d(loss)/d(temperature)
  ///   (for `.none`, both of the sum of the losses, each times its upstream gradient).
  /// - Throws: ``LossError``, as ``loss(similarities:)``, and for an upstream gradient not
  ///   shaped like the loss.
  /// - Complexity: O(N * M).
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    similarities: ShapedArray<Scalar>, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>, temperatureGradient: Scalar
  ) {
    let result = try evaluate(
      similarities, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!, result.temperatureGradient)
  }

  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ similarities: ShapedArray<Scalar>, upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?, temperatureGradient: Scalar
  ) {
    let rows = similarities.rank == 2 ? similarities.shape[0] : 0
    if similarities.rank == 2 {
      try checkUpstreamGradient(
        shape: upstreamGradient?.shape, reduction: reduction, rowShape: [rows])
    }
    var loss = [Scalar](repeating: 0, count: reduction == .none ? rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: similarities.scalars.count) : nil
    let temperatureGradient = try similarities.withUnsafeBufferPointer {
      input throws(LossError) in
      try loss.withUnsafeMutableBufferPointer { lossBuffer throws(LossError) in
        try withOptionalMutableBuffer(&gradient) { gradientBuffer throws(LossError) in
          try withOptionalBuffer(upstreamGradient?.scalars) { upstream throws(LossError) in
            try compute(
              similarities: input, shape: similarities.shape, upstreamGradient: upstream,
              loss: lossBuffer, gradient: gradientBuffer)
          }
        }
      }
    }
    return (
      ShapedArray(uncheckedShape: reduction == .none ? [rows] : [], scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: similarities.shape, scalars: $0) },
      temperatureGradient
    )
  }
}

// MARK: - Caller-owned memory

extension InfoNCELoss {
  /// Writes the InfoNCE loss of a similarity matrix in a caller buffer into a caller buffer.
  ///
  /// - Parameters:
  ///   - similarities: An `N × M` matrix in row-major order, `M >= N`.
  ///   - shape: Its shape, `[N, M]`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none`.
  /// - Throws: ``LossError``, as ``loss(similarities:)``, or for a buffer whose count does not
  ///   match its shape.
  /// - Complexity: O(N * M) time, O(N * M) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    similarities: UnsafeBufferPointer<Scalar>, shape: [Int],
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    _ = try compute(
      similarities: similarities, shape: shape, upstreamGradient: nil, loss: loss, gradient: nil)
  }

  /// Writes the InfoNCE loss and its gradient with respect to the similarities into caller
  /// buffers, and returns the derivative with respect to the temperature.
  ///
  /// - Parameters:
  ///   - similarities: An `N × M` matrix in row-major order, `M >= N`.
  ///   - shape: Its shape, `[N, M]`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (`N` for `.none`, 1 for `.mean` and `.sum`): both gradients are the vector-Jacobian
  ///     product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none`.
  ///   - gradient: Receives d(loss)/d(similarities), `N * M` elements; it may be the same memory
  ///     as `similarities`.
  /// - Returns: d(loss)/d(temperature) (for `.none`, of the sum of the losses).
  /// - Throws: ``LossError``, as ``loss(similarities:shape:into:)``, or for a gradient of the
  ///   wrong count.
  /// - Complexity: O(N * M) time, O(N * M) extra memory.
  @discardableResult
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    similarities: UnsafeBufferPointer<Scalar>, shape: [Int],
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) -> Scalar {
    try compute(
      similarities: similarities, shape: shape, upstreamGradient: upstreamGradient, loss: loss,
      gradient: gradient)
  }

  /// Computes the InfoNCE loss and overwrites the similarities with its gradient, and returns
  /// the derivative with respect to the temperature.
  ///
  /// - Parameters:
  ///   - similarities: An `N × M` matrix in row-major order, `M >= N`; on return,
  ///     d(loss)/d(similarities).
  ///   - shape: Its shape, `[N, M]`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (`N` for `.none`, 1 for `.mean` and `.sum`): both gradients are the vector-Jacobian
  ///     product. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, `N` for `.none`.
  /// - Returns: d(loss)/d(temperature) (for `.none`, of the sum of the losses).
  /// - Throws: ``LossError``, as ``loss(similarities:shape:into:)``; the similarities are
  ///   unchanged when it throws.
  /// - Complexity: O(N * M) time, O(N * M) extra memory.
  @discardableResult
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting similarities: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) -> Scalar {
    try compute(
      similarities: UnsafeBufferPointer(similarities), shape: shape,
      upstreamGradient: upstreamGradient, loss: loss, gradient: similarities)
  }

  /// Checks the similarity matrix's shape: `[N, M]` with `M >= N`.
  private func checkInfoNCEShape(_ shape: [Int]) throws(LossError) {
    guard shape.count == 2 && shape[1] >= shape[0] else {
      throw .shapeMismatch(
        "similarities shape \(describe(shape: shape)) is not an N × M matrix with"
          + " M >= N; row i's positive is column i")
    }
  }

  /// Validates everything, then runs the reference: the one path of every form.
  ///
  /// - Parameters:
  ///   - gradient: If not nil, receives the gradient, every element written; it may be the
  ///     memory of `similarities`.
  /// - Returns: d(loss)/d(temperature), or 0 without a gradient.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    similarities: UnsafeBufferPointer<Scalar>, shape: [Int],
    upstreamGradient: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) -> Scalar {
    try checkTemperature(temperature)
    try checkNormalizer(normalizer)
    try checkInfoNCEShape(shape)
    try checkCount(similarities.count, shape: shape, name: "similarities")
    if let gradient {
      try checkGradientCount(gradient.count, shape: shape, name: "similarities")
    }
    let (rows, columns) = (shape[0], shape[1])
    try checkLossCount(loss.count, reduction: reduction, rows: rows)
    try checkUpstreamGradient(count: upstreamGradient?.count, reduction: reduction, rows: rows)
    let mean = normalizer ?? Double(rows)
    let logits = similarities.map { Double($0) / temperature }
    // The upstream gradient scales each row's gradient (one value for every row when reduced).
    let lineScales = upstreamGradient.map { g in
      (0..<rows).map { Double(g[g.count == rows ? $0 : 0]) }
    }
    let result = Reference.diagonalCrossEntropy(
      logits: logits, rows: rows, columns: columns, transposed: false,
      scale: reduction == .mean ? 1 / mean : 1,
      lineScales: gradient == nil ? nil : lineScales, wantsGradient: gradient != nil)
    switch reduction {
    case .none: for i in 0..<rows { loss[i] = Scalar(result.rowLosses[i]) }
    case .sum: loss[0] = Scalar(result.rowLosses.reduce(0, +))
    case .mean: loss[0] = Scalar(result.rowLosses.reduce(0, +) / mean)
    }
    var temperatureGradient = 0.0
    if let gradient, let logitGradient = result.gradient {
      // d/dS = d/dlogits / τ; d/dτ = sum d/dlogits * (-S / τ^2) = -sum d/dlogits * logits / τ.
      for i in logitGradient.indices { gradient[i] = Scalar(logitGradient[i] / temperature) }
      for (g, z) in zip(logitGradient, logits) { temperatureGradient -= g * z / temperature }
    }
    return Scalar(temperatureGradient)
  }
}
