/// The caller-buffer forms shared by the elementwise losses over same-shaped operands
/// (``KLDivergence``, ``MeanSquaredError``): their size checks, then one pass of
/// ``Elementwise/run(count:elementwise:scale:loss:gradient:term:)`` straight into the buffers.
enum ElementwiseBuffers {
  /// Checks the buffers against `shape`, then evaluates `term` on every pair of elements into
  /// `loss` and `gradient`.
  ///
  /// The checks, in order: the gradient buffer's size (when `gradientCount` is given), the
  /// input's, the targets', the loss buffer's, the upstream gradient's. Nothing is written when one fails.
  ///
  /// - Parameters:
  ///   - input: The input elements in row-major order, called `name` in messages.
  ///   - targets: The target elements, laid out like `input`.
  ///   - shape: The shape of both.
  ///   - loss: Receives one term per element when `elementwise`, else the reduced loss.
  ///   - gradient: Receives the gradient, or nil; it may be the input's memory.
  ///   - gradientCount: The size of the caller's gradient buffer, checked against `shape`; nil
  ///     when there is none or it is the input.
  ///   - upstream: The upstream gradient, or nil (ones): one value per element when
  ///     `elementwise`, else 1; read only when there is a gradient.
  ///   - reduction: The reduction's name in messages.
  ///   - elementwise: Whether the reduction keeps one term per element.
  ///   - scale: The reduction's factor of the sum of the terms of `count` elements.
  ///   - term: An element's term and its derivative, from the input and target values.
  /// - Throws: ``LossError`` of kind `shapeMismatch` naming both sizes.
  @inline(__always)
  static func run<Scalar: BinaryFloatingPoint>(
    input: UnsafeBufferPointer<Scalar>, name: String, targets: UnsafeBufferPointer<Scalar>,
    shape: [Int], loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?, gradientCount: Int?,
    upstream: UnsafeBufferPointer<Scalar>? = nil, reduction: String,
    elementwise: Bool, scale: (_ count: Int) -> Double,
    term: (Double, Double) -> (value: Double, derivative: Double)
  ) throws(LossError) {
    if let gradientCount { try checkGradientCount(gradientCount, shape: shape, name: name) }
    let count = input.count
    try checkCount(count, shape: shape, name: name)
    try checkCount(targets.count, shape: shape, name: "targets")
    try checkElementwiseLossCount(
      loss.count, reduction: reduction, elements: count, elementwise: elementwise)
    try checkUpstreamGradient(
      count: upstream?.count, reduction: reduction, elementwise: elementwise, elements: count)
    let x = startAddress(input.baseAddress)
    let y = startAddress(targets.baseAddress)
    Elementwise.run(
      count: count, elementwise: elementwise, scale: scale(count),
      loss: mutableStartAddress(loss.baseAddress), gradient: gradient,
      upstream: gradient == nil ? nil : upstream.map { startAddress($0.baseAddress) }
    ) { i in
      term(Double(x[i]), Double(y[i]))
    }
  }
}

// MARK: - Upstream gradients of the elementwise losses

/// Checks an array-form upstream gradient of an elementwise loss: nil, or shaped like the loss
/// (`lossShape` when `elementwise`, else 0-dimensional).
func checkUpstreamGradient(
  shape: [Int]?, reduction: String, elementwise: Bool, lossShape: [Int]
) throws(LossError) {
  let expected = elementwise ? lossShape : []
  if let shape, shape != expected {
    throw .shapeMismatch(
      "upstream gradient shape \(describe(shape: shape)) does not match the loss shape"
        + " \(describe(shape: expected)) of reduction \(reduction)")
  }
}

/// Checks a buffer-form upstream gradient of an elementwise loss: nil, or as many elements as
/// the loss (`elements` when `elementwise`, else 1).
func checkUpstreamGradient(
  count: Int?, reduction: String, elementwise: Bool, elements: Int
) throws(LossError) {
  let expected = elementwise ? elements : 1
  if let count, count != expected {
    throw .shapeMismatch(
      "upstream gradient holds \(describe(elementCount: count)) but the loss of reduction"
        + " \(reduction) holds \(expected)")
  }
}
