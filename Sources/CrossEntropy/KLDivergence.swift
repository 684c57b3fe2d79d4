import RealModule

/// The Kullback-Leibler divergence between a target distribution and predicted log-probabilities,
/// with PyTorch's `F.kl_div` semantics.
///
/// The input holds log-probabilities `log q` (for example the output of ``logSoftmax(_:alongAxis:)``); the
/// target holds probabilities `t`, or log-probabilities when ``logTarget`` is true. Per element:
///
/// ```
/// l = xlogy(t, t) - t * input                 (logTarget == false; 0 * log 0 = 0)
/// l = exp(t) * (t - input)                    (logTarget == true)
/// none = l, sum = sum(l), mean = sum(l) / numel, batchmean = sum(l) / size of axis 0
/// ```
///
/// `.batchmean` is the mathematically correct KL divergence per sample; `.mean` (PyTorch's
/// default, and ours) divides by every element. A 0-dimensional input with `.batchmean` is not
/// divided, as in PyTorch. Input and target broadcast against each other (right-aligned, as
/// PyTorch); `.none` then returns the broadcast shape, `.batchmean` still divides by the
/// input's axis 0, and the gradient sums over the broadcast copies of each input element.
///
/// ```swift
/// let kl = KLDivergence(reduction: .batchmean)
/// let (loss, gradient) = try kl.lossAndGradient(logProbabilities: logQ, targets: p)
/// ```
///
/// PyTorch equivalent: `torch.nn.functional.kl_div`.
public struct KLDivergence: Sendable, Hashable {
  /// How per-element KL terms are combined: PyTorch's reductions, with `batchmean`.
  public enum Reduction: String, Sendable, Hashable, CaseIterable {
    /// Keep one term per element, shaped like the input.
    case none
    /// Divide the sum by the number of elements (PyTorch's default).
    case mean
    /// Add the terms.
    case sum
    /// Divide the sum by the extent of axis 0 (the batch): the KL divergence per sample.
    case batchmean
  }

  /// How per-element terms are combined. Default `.mean`, as in PyTorch and across the package;
  /// prefer `.batchmean` for the true per-sample divergence.
  public var reduction: Reduction
  /// Whether the target holds log-probabilities rather than probabilities. Default false.
  public var logTarget: Bool

  /// Creates a KL-divergence criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-element terms are combined. Default `.mean`.
  ///   - logTarget: Whether targets are log-probabilities. Default false.
  public init(reduction: Reduction = .mean, logTarget: Bool = false) {
    self.reduction = reduction
    self.logTarget = logTarget
  }

  /// The divergence of the targets from the predicted distribution.
  ///
  /// - Parameters:
  ///   - logProbabilities: The predicted log-probabilities, any shape.
  ///   - targets: Probabilities (or log-probabilities with ``logTarget``), of a shape that
  ///     broadcasts with the input's.
  /// - Returns: A 0-dimensional array, or one term per element of the broadcast shape for
  ///   `.none`.
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the shapes do not broadcast.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(logProbabilities, targets, wantsGradient: false).loss
  }

  /// The divergence and its gradient with respect to the log-probabilities.
  ///
  /// The gradient is `-t` (or `-exp(t)` with ``logTarget``), times the reduction's scale; for
  /// `.none` it is the gradient of the sum of the terms.
  ///
  /// - Parameters:
  ///   - logProbabilities: The predicted log-probabilities, any shape.
  ///   - targets: Probabilities (or log-probabilities with ``logTarget``), of a shape that
  ///     broadcasts with the input's.
  /// - Returns: The loss, as ``loss(logProbabilities:targets:)``, and a gradient shaped like
  ///   `logProbabilities`.
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the shapes do not broadcast.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(logProbabilities, targets, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ input: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let pairs = try BroadcastPairs.make(
      input.shape, targets.shape, name: "log-probabilities", otherName: "targets")
    let count = pairs?.count ?? input.scalars.count
    let scale: Double
    switch reduction {
    case .none, .sum: scale = 1
    case .mean: scale = 1 / Double(count)
    case .batchmean: scale = input.rank == 0 ? 1 : 1 / Double(input.shape[0])
    }
    let x = input.scalars
    let t = targets.scalars
    let logTarget = self.logTarget
    return Elementwise.evaluate(
      shape: input.shape, count: input.scalars.count, elementwise: reduction == .none,
      scale: scale, wantsGradient: wantsGradient, broadcast: pairs
    ) { i in
      let input = Double(x[pairs?.first[i] ?? i])
      let target = Double(t[pairs?.second[i] ?? i])
      if logTarget {
        let weight = Double.exp(target)
        return (weight * (target - input), -weight)
      }
      return (Elementwise.xlogy(target, target) - target * input, -target)
    }
  }
}
