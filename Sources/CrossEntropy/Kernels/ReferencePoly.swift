import RealModule

extension Reference {
  /// Poly-1 cross-entropy against class-index `labels` (rows labelled `ignoreIndex` skipped) or
  /// against `probabilities` laid out like the logits; see ``PolyLoss``.
  static func polyLoss<Scalar: BinaryFloatingPoint>(
    logits: [Scalar], layout: ClassLayout, epsilon: Double, reduction: Reduction,
    wantsGradient: Bool, labels: [Int]?, ignoreIndex: Int, probabilities targets: [Scalar]?
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let classes = layout.classes
    var kept = layout.rows
    if let labels {
      kept = 0
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / Double(kept) : 1
    var losses = [Scalar](repeating: 0, count: elementwise ? layout.rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: layout.count) : nil
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    var t = [Double](repeating: 0, count: layout.scratchClasses)
    var probabilities = [Double](repeating: 0, count: layout.scratchClasses)
    var total = 0.0
    for r in 0..<layout.rows {
      if let labels, labels[r] == ignoreIndex { continue }
      let base = layout.base(ofRow: r)
      for c in 0..<classes {
        row[c] = Double(logits[base + c * layout.inner])
        if let targets { t[c] = Double(targets[base + c * layout.inner]) }
      }
      if let labels {
        for c in 0..<classes { t[c] = 0 }
        t[labels[r]] = 1
      }
      let lse = softmax(row, into: &probabilities)
      var crossEntropy = 0.0
      var pT = 0.0
      var targetSum = 0.0
      for c in 0..<classes where t[c] != 0 {
        crossEntropy -= t[c] * (row[c] - lse)
        pT += t[c] * probabilities[c]
        targetSum += t[c]
      }
      let value = crossEntropy + epsilon * (targetSum - pT)  // optax: sum_c t_c * (1 - p_c)
      if elementwise { losses[r] = Scalar(value) } else { total += value }
      if wantsGradient {
        let factor = elementwise ? 1 : scale
        for c in 0..<classes {
          let p = probabilities[c]
          let g = p * targetSum - t[c] - epsilon * p * (t[c] - pT)
          gradient![base + c * layout.inner] = Scalar(g * factor)
        }
      }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    return (
      ShapedArray(uncheckedShape: elementwise ? layout.labelShape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: layout.shape, scalars: $0) }
    )
  }
}
