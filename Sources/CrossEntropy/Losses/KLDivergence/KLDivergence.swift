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
/// ``normalizer``, when set, replaces the denominator of `.mean` and of `.batchmean` (the
/// global element or sample count of a batch split into micro-batches or across processes).
///
/// `.batchmean` is the mathematically correct KL divergence per sample; `.mean` (PyTorch's
/// default, and ours) divides by every element. A 0-dimensional input with `.batchmean` is not
/// divided, as in PyTorch. Input and target broadcast against each other (right-aligned, as
/// PyTorch); `.none` then returns the broadcast shape, `.batchmean` still divides by the
/// input's axis 0, and the gradient sums over the broadcast copies of each input element.
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
/// the loss: the broadcast shape for `.none`, 0-dimensional otherwise): the gradient is then
/// PyTorch's `loss.backward(gradient: g)`, `-t g` (or `-exp(t) g`) per element, summed over the
/// broadcast copies of each input element.
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
  /// The denominator of `.mean` and of `.batchmean`, or `nil` (the default) for the batch's own
  /// (the element count, the extent of axis 0). It must be finite and > 0; `.sum` and `.none`
  /// do not use it.
  public var normalizer: Double?

  /// Creates a KL-divergence criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-element terms are combined. Default `.mean`.
  ///   - logTarget: Whether targets are log-probabilities. Default false.
  ///   - normalizer: The denominator of `.mean` and `.batchmean`, finite and > 0, or `nil` (the
  ///     batch's own, the default).
  public init(reduction: Reduction = .mean, logTarget: Bool = false, normalizer: Double? = nil) {
    self.reduction = reduction
    self.logTarget = logTarget
    self.normalizer = normalizer
  }

  /// The divergence of the targets from the predicted distribution.
  ///
  /// - Parameters:
  ///   - logProbabilities: The predicted log-probabilities, any shape.
  ///   - targets: Probabilities (or log-probabilities with ``logTarget``), of a shape that
  ///     broadcasts with the input's.
  /// - Returns: A 0-dimensional array, or one term per element of the broadcast shape for
  ///   `.none`.
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the shapes do not broadcast, of kind
  ///   `invalidOption` for a ``normalizer`` that is not finite and > 0.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(logProbabilities, targets, upstreamGradient: nil, wantsGradient: false).loss
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
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (the
  ///     broadcast shape for `.none`, 0-dimensional for the other reductions): the gradient
  ///     returned is the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`.
  ///     Default nil (ones).
  /// - Returns: The loss, as ``loss(logProbabilities:targets:)``, and a gradient shaped like
  ///   `logProbabilities`.
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the shapes do not broadcast or the
  ///   upstream gradient is not shaped like the loss.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logProbabilities, targets, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ input: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    try checkNormalizer(normalizer)
    let pairs = try BroadcastPairs.make(
      input.shape, targets.shape, name: "log-probabilities", otherName: "targets")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction.rawValue,
      elementwise: reduction == .none, lossShape: pairs?.shape ?? input.shape)
    guard let pairs else {
      return try Kernels.outputs(
        lossShape: reduction == .none ? input.shape : [],
        gradientShape: wantsGradient ? input.shape : nil
      ) { loss, gradient throws(LossError) in
        try input.withUnsafeBufferPointer { x throws(LossError) in
          try targets.withUnsafeBufferPointer { t throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
              try compute(
                x, targets: t, shape: input.shape, loss: loss, gradient: gradient?.baseAddress,
                gradientCount: gradient?.count, upstream: g)
            }
          }
        }
      }
    }
    let x = input.scalars
    let t = targets.scalars
    let logTarget = self.logTarget
    return Elementwise.evaluate(
      shape: input.shape, count: input.scalars.count, elementwise: reduction == .none,
      scale: scale(count: pairs.count, shape: input.shape), wantsGradient: wantsGradient,
      broadcast: pairs, upstream: upstreamGradient?.scalars
    ) { i in
      Self.term(
        input: Double(x[pairs.first[i]]), target: Double(t[pairs.second[i]]),
        logTarget: logTarget)
    }
  }

  /// The reduction's factor of the sum over `count` terms of an input shaped `shape`.
  private func scale(count: Int, shape: [Int]) -> Double {
    switch reduction {
    case .none, .sum: return 1
    case .mean: return 1 / (normalizer ?? Double(count))
    case .batchmean: return 1 / (normalizer ?? (shape.isEmpty ? 1 : Double(shape[0])))
    }
  }

  /// One element's term and its derivative with respect to the input.
  @inline(__always)
  private static func term(
    input: Double, target: Double, logTarget: Bool
  ) -> (value: Double, derivative: Double) {
    if logTarget {
      let weight = Double.exp(target)
      return (weight * (target - input), -weight)
    }
    return (Elementwise.xlogy(target, target) - target * input, -target)
  }
}

// MARK: - Caller-owned memory

extension KLDivergence {
  /// Writes the divergence of the targets from the predicted distribution into a caller
  /// buffer, without copying: per element `xlogy(t, t) - t * input` (or
  /// `exp(t) * (t - input)` with ``logTarget``), reduced as ``reduction`` says.
  ///
  /// The buffers hold same-shaped operands (no broadcasting).
  ///
  /// - Parameters:
  ///   - logProbabilities: The predicted log-probabilities in row-major order.
  ///   - shape: The shape of both (`.batchmean` divides by its first extent).
  ///   - targets: Probabilities (or log-probabilities with ``logTarget``), laid out like
  ///     `logProbabilities`.
  ///   - loss: Receives the loss: one element per input element for `.none`, else 1.
  /// - Throws: ``LossError`` of kind `shapeMismatch` for buffers whose sizes do not match
  ///   `shape` (naming both sizes), of kind `invalidOption` for a ``normalizer`` that is not
  ///   finite and > 0.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logProbabilities, targets: targets, shape: shape, loss: loss, gradient: nil,
      gradientCount: nil, upstream: nil)
  }

  /// Writes the divergence and its gradient with respect to the log-probabilities into caller
  /// buffers: `-t` (or `-exp(t)` with ``logTarget``) times the reduction's scale (for `.none`,
  /// the gradient of the sum of the terms).
  ///
  /// - Parameters:
  ///   - logProbabilities: The predicted log-probabilities in row-major order.
  ///   - shape: The shape of both.
  ///   - targets: Probabilities (or log-probabilities with ``logTarget``), laid out like
  ///     `logProbabilities`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as it
  ///     (one per input element for `.none`, else 1): the gradient written is the
  ///     vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: one element per input element for `.none`, else 1.
  ///   - gradient: Receives the gradient, as many elements as `logProbabilities`; it may be the
  ///     same memory (see ``lossAndGradient(overwriting:shape:targets:upstreamGradient:loss:)``).
  /// - Throws: ``LossError``, as ``loss(logProbabilities:shape:targets:into:)``, and for an
  ///   upstream gradient of the wrong count.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      logProbabilities, targets: targets, shape: shape, loss: loss,
      gradient: gradient.baseAddress, gradientCount: gradient.count, upstream: upstreamGradient)
  }

  /// Computes the divergence and overwrites the log-probabilities with its gradient.
  ///
  /// - Parameters:
  ///   - logProbabilities: The predicted log-probabilities in row-major order; on return, the
  ///     gradient with respect to them.
  ///   - shape: The shape of both.
  ///   - targets: Probabilities (or log-probabilities with ``logTarget``), laid out alike.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as in
  ///     ``lossAndGradient(logProbabilities:shape:targets:upstreamGradient:loss:gradient:)``.
  ///   - loss: Receives the loss: one element per input element for `.none`, else 1.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:shape:targets:into:)``; the input is
  ///   unchanged when it throws.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting logProbabilities: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      UnsafeBufferPointer(logProbabilities), targets: targets, shape: shape, loss: loss,
      gradient: logProbabilities.baseAddress, gradientCount: nil, upstream: upstreamGradient)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    _ input: UnsafeBufferPointer<Scalar>, targets: UnsafeBufferPointer<Scalar>, shape: [Int],
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?,
    gradientCount: Int?, upstream: UnsafeBufferPointer<Scalar>?
  ) throws(LossError) {
    try checkNormalizer(normalizer)
    let logTarget = self.logTarget
    try ElementwiseBuffers.run(
      input: input, name: "log-probabilities", targets: targets, shape: shape, loss: loss,
      gradient: gradient, gradientCount: gradientCount, upstream: upstream,
      reduction: reduction.rawValue,
      elementwise: reduction == .none, scale: { scale(count: $0, shape: shape) }
    ) { x, t in
      Self.term(input: x, target: t, logTarget: logTarget)
    }
  }
}
