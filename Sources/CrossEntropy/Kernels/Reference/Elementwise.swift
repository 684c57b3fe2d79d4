import RealModule

/// The driver for losses that are a sum of independent per-element terms (KL divergence, MSE).
/// Each term and its derivative are evaluated in Double.
enum Elementwise {
  /// Evaluates `term` at every element of the broadcast shape and reduces (operands of the
  /// same shape take the caller-buffer core instead).
  ///
  /// - Parameters:
  ///   - shape: The shape of the input.
  ///   - count: The number of input elements.
  ///   - elementwise: Keep one loss per element of the broadcast shape (reduction `none`).
  ///   - scale: The factor applied to the sum when not elementwise (1 for sum, 1 / n for mean).
  ///   - wantsGradient: Whether to produce the gradient.
  ///   - broadcast: How the two operands pair up.
  ///   - upstream: The upstream gradient (checked by the caller): one value per element of the
  ///     broadcast shape when elementwise, else one value that scales the gradient; nil for
  ///     ones.
  ///   - term: The loss of element `i` and its derivative with respect to the input element.
  /// - Returns: The loss (0-dimensional unless elementwise) and, if wanted, the gradient of the
  ///   returned loss (of the sum of losses, each times its upstream gradient, when
  ///   elementwise), shaped like the input: a broadcast input element receives the sum of the
  ///   derivatives of its copies.
  static func evaluate<Scalar: BinaryFloatingPoint>(
    shape: [Int], count: Int, elementwise: Bool, scale: Double, wantsGradient: Bool,
    broadcast: BroadcastPairs, upstream: [Scalar]? = nil,
    term: (Int) -> (value: Double, derivative: Double)
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let lossShape = broadcast.shape
    let lossCount = broadcast.count
    var losses = [Scalar](repeating: 0, count: elementwise ? lossCount : 1)
    var gradient = wantsGradient ? [Double](repeating: 0, count: count) : nil
    var gradientScale = elementwise ? 1 : scale
    let perElement = elementwise ? upstream : nil
    if !elementwise, let upstream { gradientScale *= Double(upstream[0]) }
    var total = 0.0
    for i in 0..<lossCount {
      let (value, derivative) = term(i)
      if elementwise { losses[i] = Scalar(value) } else { total += value }
      if wantsGradient {
        let factor = perElement.map { gradientScale * Double($0[i]) } ?? gradientScale
        gradient![broadcast.first[i]] += derivative * factor
      }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    return (
      ShapedArray(uncheckedShape: elementwise ? lossShape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: shape, scalars: $0.map { Scalar($0) }) }
    )
  }

  /// Evaluates `term` at every index of same-shaped operands straight into the outputs: one
  /// pass, no temporaries (the array form and the caller-buffer forms).
  ///
  /// - Parameters:
  ///   - count: The number of elements.
  ///   - elementwise: Keep one loss per element (reduction `none`).
  ///   - scale: The factor applied to the sum when not elementwise.
  ///   - loss: Receives `count` losses when elementwise, else 1.
  ///   - gradient: Receives the gradient (of the sum when elementwise), or nil. `term(i)` may
  ///     read the memory of `gradient[i]` (it is written after).
  ///   - upstream: The upstream gradient (checked by the caller): `count` values when
  ///     elementwise, each multiplying its element's derivative, else one value that scales the
  ///     gradient; nil for ones. Element `i` is read before `gradient[i]` is written.
  ///   - term: The loss of element `i` and its derivative with respect to the input element.
  static func run<Scalar: BinaryFloatingPoint>(
    count: Int, elementwise: Bool, scale: Double, loss: UnsafeMutablePointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?, upstream: UnsafePointer<Scalar>? = nil,
    term: (Int) -> (value: Double, derivative: Double)
  ) {
    var gradientScale = elementwise ? 1 : scale
    if !elementwise, let upstream { gradientScale *= Double(upstream[0]) }
    var total = 0.0
    if elementwise, let upstream, let gradient {
      for i in 0..<count {
        let (value, derivative) = term(i)
        loss[i] = Scalar(value)
        gradient[i] = Scalar(derivative * Double(upstream[i]) + 0)
      }
      return
    }
    for i in 0..<count {
      let (value, derivative) = term(i)
      if elementwise { loss[i] = Scalar(value) } else { total += value }
      // `+ 0` turns -0 into +0, as the sum into a zeroed gradient did.
      if let gradient { gradient[i] = Scalar(derivative * gradientScale + 0) }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }

  /// `x * log(y)`, defined as 0 where `x == 0` (unless `y` is NaN), as `torch.xlogy`.
  @inline(__always)
  static func xlogy(_ x: Double, _ y: Double) -> Double {
    if y.isNaN { return .nan }
    if x == 0 { return 0 }
    return x * .log(y)
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
