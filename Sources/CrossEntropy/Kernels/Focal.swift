import RealModule

extension Reference {
  /// torchvision's sigmoid focal loss of one element and its derivative with respect to `x`.
  static func sigmoidFocal(
    _ x: Double, _ y: Double, alpha: Double, gamma: Double
  ) -> (value: Double, derivative: Double) {
    let p = Elementwise.sigmoid(x)
    let ce = Elementwise.binaryCrossEntropyWithLogits(x, y)
    let oneMinusPt = 1 - (p * y + (1 - p) * (1 - y))
    let modulation = gamma == 0 ? 1 : Double.pow(oneMinusPt, gamma)
    var derivative = (p - y) * modulation
    if gamma != 0 {
      // d(1 - p_t)/dx = -p (1 - p) (2y - 1); pow's derivative as PyTorch's autograd takes it.
      let power = gamma == 1 ? 1 : Double.pow(oneMinusPt, gamma - 1)
      derivative -= ce * gamma * power * p * (1 - p) * (2 * y - 1)
    }
    var value = ce * modulation
    if alpha >= 0 {
      let alphaT = alpha * y + (1 - alpha) * (1 - y)
      value *= alphaT
      derivative *= alphaT
    }
    return (value, derivative)
  }

  /// The softmax focal loss over class-index labels; see ``SoftmaxFocalLoss``.
  static func softmaxFocal<Scalar: BinaryFloatingPoint>(
    logits: [Scalar], labels: [Int], alpha: [Double]?, layout: ClassLayout, ignoreIndex: Int,
    gamma: Double, reduction: Reduction, wantsGradient: Bool
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let classes = layout.classes
    var kept = 0
    for label in labels where label != ignoreIndex { kept += 1 }
    let scale = reduction == .mean ? 1 / Double(kept) : 1
    let elementwise = reduction == .none
    var losses = [Scalar](repeating: 0, count: elementwise ? layout.rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: layout.count) : nil
    var row = [Double](repeating: 0, count: classes)
    var total = 0.0
    for r in 0..<layout.rows {
      let label = labels[r]
      guard label != ignoreIndex else { continue }
      let base = layout.base(ofRow: r)
      for c in 0..<classes { row[c] = Double(logits[base + c * layout.inner]) }
      let lse = row.withUnsafeBufferPointer(logSumExp)
      let weight = alpha?[label] ?? 1
      let logP = row[label] - lse
      let p = Double.exp(logP)
      let oneMinusP = 1 - p
      let modulation = gamma == 0 ? 1 : Double.pow(oneMinusP, gamma)
      let value = -weight * modulation * logP
      if elementwise { losses[r] = Scalar(value) } else { total += value }
      if wantsGradient {
        // d/du of -(1 - e^u)^gamma * u at u = log p.
        var dU = -modulation
        if gamma != 0 {
          let power = gamma == 1 ? 1 : Double.pow(oneMinusP, gamma - 1)
          dU += gamma * power * p * logP
        }
        let factor = weight * dU * (elementwise ? 1 : scale)
        for c in 0..<classes {
          let indicator: Double = c == label ? 1 : 0
          let softmax = Double.exp(row[c] - lse)
          gradient![base + c * layout.inner] = Scalar(factor * (indicator - softmax))
        }
      }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    return (
      ShapedArray(
        uncheckedShape: elementwise ? layout.labelShape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: layout.shape, scalars: $0) }
    )
  }
}
