/// The mean squared error between predictions and targets, with PyTorch's `F.mse_loss`
/// semantics.
///
/// ```
/// l = (x - y)^2
/// none = l, sum = sum(l), mean = sum(l) / numel      (sum(l) / normalizer when set)
/// ```
///
/// Predictions and targets broadcast against each other (right-aligned), as PyTorch does after
/// its warning that this is usually a bug: `.none` returns the broadcast shape, `.mean` divides
/// by its element count, and the gradient sums over the broadcast copies of each prediction.
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
/// the loss): the gradient is then PyTorch's `loss.backward(gradient: g)`, `2 (x - y) g` per
/// element for `.none` (summed over broadcast copies), the reduced gradient times `g` otherwise.
///
/// ```swift
/// let (loss, gradient) = try MeanSquaredError().lossAndGradient(
///   predictions: output, targets: expected)
/// ```
///
/// PyTorch equivalent: `torch.nn.functional.mse_loss`.
public struct MeanSquaredError: Sendable, Hashable {
  /// How per-element losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// The denominator of `.mean`, or `nil` (the default) for the number of elements (of the
  /// broadcast shape). Set it to the global count when a batch is split into micro-batches or
  /// across processes. It must be finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates a mean-squared-error criterion.
  ///
  /// - Parameters:
  ///   - reduction: How per-element losses are combined. Default `.mean`.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the number of
  ///     elements, the default).
  public init(reduction: Reduction = .mean, normalizer: Double? = nil) {
    self.reduction = reduction
    self.normalizer = normalizer
  }

  /// The factor of the sum of `count` terms: `1 / count` (or `1 / normalizer`) for `.mean`, else 1.
  private func scale(count: Int) -> Double {
    reduction == .mean ? 1 / (normalizer ?? Double(count)) : 1
  }

  /// The squared error of the predictions.
  ///
  /// - Parameters:
  ///   - predictions: The predicted values, any shape.
  ///   - targets: The expected values, of a shape that broadcasts with the predictions'.
  /// - Returns: A 0-dimensional array, or one loss per element of the broadcast shape for
  ///   `.none`.
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the shapes do not broadcast, of kind
  ///   `invalidOption` for a ``normalizer`` that is not finite and > 0.
  /// - Complexity: O(n) in the number of elements.
  public func loss<Scalar: BinaryFloatingPoint>(
    predictions: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(predictions, targets, upstreamGradient: nil, wantsGradient: false).loss
  }

  /// The squared error and its gradient `2 * (x - y)` (times `1 / numel` for `.mean`) with
  /// respect to the predictions.
  ///
  /// - Parameters:
  ///   - predictions: The predicted values, any shape.
  ///   - targets: The expected values, of a shape that broadcasts with the predictions'.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (the
  ///     broadcast shape for `.none`, 0-dimensional for `.mean` and `.sum`): the gradient
  ///     returned is the vector-Jacobian product, as PyTorch's `loss.backward(gradient: g)`.
  ///     Default nil (ones).
  /// - Returns: The loss and a gradient shaped like `predictions` (for `.none`, the gradient of
  ///   the sum of the losses, each times its upstream gradient).
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the shapes do not broadcast or the
  ///   upstream gradient is not shaped like the loss.
  /// - Complexity: O(n) in the number of elements.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    predictions: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
    upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      predictions, targets, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ predictions: ShapedArray<Scalar>, _ targets: ShapedArray<Scalar>,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    try checkNormalizer(normalizer)
    let pairs = try BroadcastPairs.make(
      predictions.shape, targets.shape, name: "predictions", otherName: "targets")
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: "\(reduction)", elementwise: reduction == .none,
      lossShape: pairs?.shape ?? predictions.shape)
    guard let pairs else {
      return try Kernels.outputs(
        lossShape: reduction == .none ? predictions.shape : [],
        gradientShape: wantsGradient ? predictions.shape : nil
      ) { loss, gradient throws(LossError) in
        try predictions.withUnsafeBufferPointer { x throws(LossError) in
          try targets.withUnsafeBufferPointer { y throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
              try compute(
                x, targets: y, shape: predictions.shape, loss: loss,
                gradient: gradient?.baseAddress, gradientCount: gradient?.count, upstream: g)
            }
          }
        }
      }
    }
    let x = predictions.scalars
    let y = targets.scalars
    return Elementwise.evaluate(
      shape: predictions.shape, count: predictions.scalars.count,
      elementwise: reduction == .none, scale: scale(count: pairs.count),
      wantsGradient: wantsGradient, broadcast: pairs, upstream: upstreamGradient?.scalars
    ) { i in
      Self.term(Double(x[pairs.first[i]]), Double(y[pairs.second[i]]))
    }
  }

  /// One element's squared error and its derivative with respect to the prediction.
  @inline(__always)
  private static func term(_ x: Double, _ y: Double) -> (value: Double, derivative: Double) {
    let difference = x - y
    return (difference * difference, 2 * difference)
  }
}

// MARK: - Caller-owned memory

extension MeanSquaredError {
  /// Writes the squared error of the predictions into a caller buffer, without copying:
  /// per element `(x - y)^2`, reduced as ``reduction`` says.
  ///
  /// The buffers hold same-shaped operands (no broadcasting).
  ///
  /// - Parameters:
  ///   - predictions: The predicted values in row-major order.
  ///   - shape: The shape of both.
  ///   - targets: The expected values, laid out like `predictions`.
  ///   - loss: Receives the loss: one element per prediction for `.none`, else 1.
  /// - Throws: ``LossError`` of kind `shapeMismatch` for buffers whose sizes do not match
  ///   `shape` (naming both sizes), of kind `invalidOption` for a ``normalizer`` that is not
  ///   finite and > 0.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    predictions: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      predictions, targets: targets, shape: shape, loss: loss, gradient: nil, gradientCount: nil,
      upstream: nil)
  }

  /// Writes the squared error and its gradient `2 (x - y)` (times `1 / numel` for `.mean`)
  /// with respect to the predictions into caller buffers.
  ///
  /// - Parameters:
  ///   - predictions: The predicted values in row-major order.
  ///   - shape: The shape of both.
  ///   - targets: The expected values, laid out like `predictions`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per prediction for `.none`, 1 for `.mean` and `.sum`): the gradient written is
  ///     the vector-Jacobian product. Default nil (ones).
  ///   - loss: Receives the loss: one element per prediction for `.none`, else 1.
  ///   - gradient: Receives the gradient (of the sum for `.none`), as many elements as
  ///     `predictions`; it may be the same memory (see
  ///     ``lossAndGradient(overwriting:shape:targets:upstreamGradient:loss:)``).
  /// - Throws: ``LossError``, as ``loss(predictions:shape:targets:into:)``, and for an upstream
  ///   gradient of the wrong count.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    predictions: UnsafeBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      predictions, targets: targets, shape: shape, loss: loss, gradient: gradient.baseAddress,
      gradientCount: gradient.count, upstream: upstreamGradient)
  }

  /// Computes the squared error and overwrites the predictions with its gradient.
  ///
  /// - Parameters:
  ///   - predictions: The predicted values in row-major order; on return, the gradient with
  ///     respect to them.
  ///   - shape: The shape of both.
  ///   - targets: The expected values, laid out like `predictions`.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as in
  ///     ``lossAndGradient(predictions:shape:targets:upstreamGradient:loss:gradient:)``.
  ///   - loss: Receives the loss: one element per prediction for `.none`, else 1.
  /// - Throws: ``LossError``, as ``loss(predictions:shape:targets:into:)``; the predictions are
  ///   unchanged when it throws.
  /// - Complexity: O(n) in the number of elements; O(1) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting predictions: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    targets: UnsafeBufferPointer<Scalar>, upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      UnsafeBufferPointer(predictions), targets: targets, shape: shape, loss: loss,
      gradient: predictions.baseAddress, gradientCount: nil, upstream: upstreamGradient)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func compute<Scalar: BinaryFloatingPoint>(
    _ predictions: UnsafeBufferPointer<Scalar>, targets: UnsafeBufferPointer<Scalar>,
    shape: [Int], loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?, gradientCount: Int?,
    upstream: UnsafeBufferPointer<Scalar>?
  ) throws(LossError) {
    try checkNormalizer(normalizer)
    let reduction = self.reduction
    try ElementwiseBuffers.run(
      input: predictions, name: "predictions", targets: targets, shape: shape, loss: loss,
      gradient: gradient, gradientCount: gradientCount, upstream: upstream,
      reduction: "\(reduction)",
      elementwise: reduction == .none, scale: { scale(count: $0) }
    ) { x, y in
      Self.term(x, y)
    }
  }
}
