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
