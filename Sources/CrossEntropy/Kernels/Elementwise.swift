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
    broadcast: BroadcastPairs? = nil, term: (Int) -> (value: Double, derivative: Double)
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let lossShape = broadcast?.shape ?? shape
    let lossCount = broadcast?.count ?? count
    var losses = [Scalar](repeating: 0, count: elementwise ? lossCount : 1)
    var gradient = wantsGradient ? [Double](repeating: 0, count: count) : nil
    let gradientScale = elementwise ? 1 : scale
    var total = 0.0
    for i in 0..<lossCount {
      let (value, derivative) = term(i)
      if elementwise { losses[i] = Scalar(value) } else { total += value }
      if wantsGradient {
        // A broadcast input element receives the sum of the derivatives of its copies.
        gradient![broadcast?.first[i] ?? i] += derivative * gradientScale
      }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    return (
      ShapedArray(uncheckedShape: elementwise ? lossShape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: shape, scalars: $0.map { Scalar($0) }) }
    )
  }

  /// `x * log(y)`, defined as 0 where `x == 0` (unless `y` is NaN), as `torch.xlogy`.
  @inline(__always)
  static func xlogy(_ x: Double, _ y: Double) -> Double {
    if y.isNaN { return .nan }
    if x == 0 { return 0 }
    return x * .log(y)
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

/// Two arrays broadcast against each other with NumPy's right-aligned rules (as
/// `torch.broadcast_tensors`): the common shape and, for each of its elements, the flat index of
/// the element of each array.
struct BroadcastPairs {
  /// The broadcast shape.
  let shape: [Int]
  /// The number of elements of ``shape``.
  var count: Int { first.count }
  /// For each element of the broadcast shape, the index into the first array.
  let first: [Int]
  /// For each element of the broadcast shape, the index into the second array.
  let second: [Int]

  /// Broadcasts `a` against `b`, or returns nil when the shapes are equal (no mapping needed).
  ///
  /// - Throws: ``LossError`` naming both shapes when they do not broadcast.
  static func make(
    _ a: [Int], _ b: [Int], name: String, otherName: String
  ) throws(LossError) -> BroadcastPairs? {
    guard a != b else { return nil }
    let rank = Swift.max(a.count, b.count)
    var shape = [Int](repeating: 1, count: rank)
    for k in 0..<rank {
      let x = k < a.count ? a[a.count - 1 - k] : 1
      let y = k < b.count ? b[b.count - 1 - k] : 1
      guard x == y || x == 1 || y == 1 else {
        throw .shapeMismatch(
          "\(otherName) shape \(describe(shape: b)) does not broadcast with \(name) shape"
            + " \(describe(shape: a)) (right-aligned broadcasting: axis \(rank - 1 - k) has"
            + " \(y) and \(x))")
      }
      shape[rank - 1 - k] = x == 1 ? y : x
    }
    func indices(_ source: [Int], _ label: String) throws(LossError) -> [Int] {
      var result = [Int]()
      result.reserveCapacity(shape.reduce(1, *))
      try BroadcastIndex(source: source, target: shape, name: label).forEach { _, index in
        result.append(index)
      }
      return result
    }
    return BroadcastPairs(
      shape: shape, first: try indices(a, name), second: try indices(b, otherName))
  }
}
