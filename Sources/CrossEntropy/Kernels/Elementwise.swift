import RealModule

/// The driver for losses that are a sum of independent per-element terms (KL divergence, MSE,
/// sigmoid focal loss). Each term and its derivative are evaluated in Double.
enum Elementwise {
  /// Evaluates `term` at every index and reduces.
  ///
  /// - Parameters:
  ///   - shape: The shape of the input (and of the loss when `elementwise` is true).
  ///   - elementwise: Keep one loss per element (reduction `none`).
  ///   - scale: The factor applied to the sum when not elementwise (1 for sum, 1 / n for mean).
  ///   - wantsGradient: Whether to produce the gradient.
  ///   - term: The loss of element `i` and its derivative with respect to the input element.
  /// - Returns: The loss (0-dimensional unless elementwise) and, if wanted, the gradient of the
  ///   returned loss (of the sum of losses when elementwise), shaped like the input.
  static func evaluate<Scalar: BinaryFloatingPoint>(
    shape: [Int], count: Int, elementwise: Bool, scale: Double, wantsGradient: Bool,
    term: (Int) -> (value: Double, derivative: Double)
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    var losses = [Scalar](repeating: 0, count: elementwise ? count : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: count) : nil
    let gradientScale = elementwise ? 1 : scale
    var total = 0.0
    for i in 0..<count {
      let (value, derivative) = term(i)
      if elementwise { losses[i] = Scalar(value) } else { total += value }
      if wantsGradient { gradient![i] = Scalar(derivative * gradientScale) }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    return (
      ShapedArray(uncheckedShape: elementwise ? shape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: shape, scalars: $0) }
    )
  }

  /// `x * log(y)`, defined as 0 where `x == 0` (unless `y` is NaN), as `torch.xlogy`.
  @inline(__always)
  static func xlogy(_ x: Double, _ y: Double) -> Double {
    if y.isNaN { return .nan }
    if x == 0 { return 0 }
    return x * .log(y)
  }

  /// The logistic sigmoid, evaluated without overflow.
  @inline(__always)
  static func sigmoid(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + .exp(-x)) }
    let e = Double.exp(x)
    return e / (1 + e)
  }

  /// Binary cross-entropy with logits, `max(x, 0) - x * y + log1p(exp(-|x|))`.
  @inline(__always)
  static func binaryCrossEntropyWithLogits(_ x: Double, _ y: Double) -> Double {
    (1 - y) * x + (Double.log(onePlus: .exp(-Swift.abs(x))) + Swift.max(-x, 0))
  }
}

/// Checks that two arrays the elementwise losses pair up have the same shape.
func checkSameShape(
  _ shape: [Int], _ otherShape: [Int], name: String, otherName: String, loss: String
) throws(LossError) {
  guard shape == otherShape else {
    throw .shapeMismatch(
      "\(otherName) shape \(describe(shape: otherShape)) does not match \(name) shape"
        + " \(describe(shape: shape)); \(loss) expects the same shape (no broadcasting)")
  }
}
