import RealModule

extension Reference {
  /// Binary cross-entropy from logits or probabilities, in Double, as PyTorch evaluates it.
  /// `gradient` may be the same memory as `input` (each element is read before it is written);
  /// it is multiplied by `upstream` when there is one (one value per element for `.none`, else
  /// one value). `.mean` divides by `normalizer` when it is not nil, else by the element count.
  static func binaryCrossEntropy<Scalar: BinaryFloatingPoint>(
    _ kind: BinaryInputKind, input: UnsafeBufferPointer<Scalar>,
    targets: UnsafeBufferPointer<Scalar>, weight: (UnsafeBufferPointer<Scalar>, BroadcastIndex)?,
    positiveWeight: (UnsafeBufferPointer<Scalar>, BroadcastIndex)?,
    shape: [Int], reduction: Reduction, normalizer: Double? = nil,
    upstream: UnsafePointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) {
    let count = input.count
    var weights = [Double](repeating: 1, count: count)
    var positiveWeights = [Double]?.none
    if let (values, index) = weight {
      index.forEach { target, source in weights[target] = Double(values[source]) }
    }
    if let (values, index) = positiveWeight {
      var expanded = [Double](repeating: 1, count: count)
      index.forEach { target, source in expanded[target] = Double(values[source]) }
      positiveWeights = expanded
    }
    let mean = normalizer ?? Double(count)
    var scale = reduction == .mean ? 1 / mean : 1
    if reduction != .none, let upstream { scale *= Double(upstream[0]) }
    let perElement = reduction == .none ? upstream : nil
    var total = 0.0
    for i in 0..<count {
      let x = Double(input[i])
      let y = Double(targets[i])
      let value: Double
      let slope: Double
      switch kind {
      case .logits:
        // Each step rounded to the input precision, in PyTorch's order: with soft targets the
        // terms can cancel (x = -6, y = 0.0004: -5.9976 + 6.0025), and a Float sigmoid saturates
        // to 1, so computing these in Double would not give PyTorch's Float numbers. In Double
        // the rounding changes nothing.
        func r(_ value: Double) -> Double { Double(Scalar(value)) }
        let logSigmoid = r(Swift.min(x, 0) - r(.log(onePlus: r(.exp(-x.magnitude)))))
        let sigmoid = r(1 / r(1 + r(.exp(-x))))
        if let positiveWeights {
          let p = positiveWeights[i]
          let logWeight = r(r(r(p - 1) * y) + 1)
          value = r(r(r(1 - y) * x) - r(logWeight * logSigmoid))
          let t = r(p * y)
          slope = r(r(r(r(t + 1) - y) * sigmoid) - t)
        } else {
          value = r(r(r(1 - y) * x) - logSigmoid)
          slope = r(sigmoid - y)
        }
      case .probabilities:
        value =
          (y - 1) * Swift.max(.log(onePlus: -x), -100) - y * Swift.max(.log(x), -100)
        // PyTorch's EPSILON is the float constant 1e-12 (9.99999996e-13) for every dtype.
        slope = (x - y) / Swift.max((1 - x) * x, Double(Float(1e-12)))
      }
      let weighted = value * weights[i]
      total += weighted
      if reduction == .none { loss[i] = Scalar(weighted) }
      if let perElement {
        gradient?[i] = Scalar(slope * weights[i] * Double(perElement[i]))
      } else {
        gradient?[i] = Scalar(slope * weights[i] * scale)
      }
    }
    if reduction != .none { loss[0] = Scalar(reduction == .mean ? total / mean : total) }
  }
}
