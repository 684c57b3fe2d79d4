import RealModule

extension Reference {
  /// Poly-1 cross-entropy against class-index `labels` (rows labelled `ignoreIndex` skipped) or
  /// against `probabilities` laid out like the logits; see ``PolyLoss``.
  static func polyLoss<Scalar: BinaryFloatingPoint>(
    logits: [Scalar], layout: ClassLayout, epsilon: Double, reduction: Reduction,
    wantsGradient: Bool, labels: [Int]?, ignoreIndex: Int, probabilities targets: [Scalar]?
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let elementwise = reduction == .none
    let lossCount = elementwise ? layout.rows : 1
    var gradient: [Scalar]? = nil
    let losses = [Scalar](unsafeUninitializedCapacity: lossCount) { lossBuffer, initialized in
      logits.withUnsafeBufferPointer { x in
        withOptionalBuffer(labels) { l in
          withOptionalBuffer(targets) { t in
            func run(_ g: UnsafeMutablePointer<Scalar>?) {
              polyLoss(
                logits: startAddress(x.baseAddress), layout: layout, epsilon: epsilon,
                reduction: reduction, labels: l, ignoreIndex: ignoreIndex,
                probabilities: t.map { startAddress($0.baseAddress) },
                loss: mutableStartAddress(lossBuffer.baseAddress), gradient: g)
            }
            if wantsGradient {
              gradient = [Scalar](unsafeUninitializedCapacity: layout.count) { g, done in
                run(mutableStartAddress(g.baseAddress))
                done = layout.count
              }
            } else {
              run(nil)
            }
          }
        }
      }
      initialized = lossCount
    }
    return (
      ShapedArray(uncheckedShape: elementwise ? layout.labelShape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: layout.shape, scalars: $0) }
    )
  }

  /// ``polyLoss(logits:layout:epsilon:reduction:wantsGradient:labels:ignoreIndex:probabilities:)``
  /// over caller memory: `loss` receives one value per row for `.none`, else 1; `gradient`, if
  /// not nil, every element (0 for ignored rows). `gradient` may be `logits` (each row is read
  /// whole before it is written). O(C) scratch.
  static func polyLoss<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, layout: ClassLayout, epsilon: Double, reduction: Reduction,
    labels: UnsafeBufferPointer<Int>?, ignoreIndex: Int,
    probabilities targets: UnsafePointer<Scalar>?, loss: UnsafeMutablePointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let classes = layout.classes
    var kept = layout.rows
    if let labels {
      kept = 0
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / Double(kept) : 1
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    var t = [Double](repeating: 0, count: layout.scratchClasses)
    var probabilities = [Double](repeating: 0, count: layout.scratchClasses)
    var total = 0.0
    for r in 0..<layout.rows {
      let base = layout.base(ofRow: r)
      if let labels, labels[r] == ignoreIndex {
        if elementwise { loss[r] = 0 }
        if let gradient {
          for c in 0..<classes { gradient[base + c * layout.inner] = 0 }
        }
        continue
      }
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
      if elementwise { loss[r] = Scalar(value) } else { total += value }
      if let gradient {
        let factor = elementwise ? 1 : scale
        for c in 0..<classes {
          let p = probabilities[c]
          let g = p * targetSum - t[c] - epsilon * p * (t[c] - pT)
          gradient[base + c * layout.inner] = Scalar(g * factor)
        }
      }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }
}
