import RealModule

extension Reference {
  /// The z-loss `scale * lse^2` of every kept row of (optionally soft-capped) logits, reduced.
  static func zLoss<Scalar: BinaryFloatingPoint>(
    logits: [Scalar], layout: ClassLayout, scale: Double, softCap: Double?,
    reduction: Reduction, mean: MeanRule = MeanRule(), keeps: (Int) -> Bool
  ) -> ShapedArray<Scalar> {
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    var losses = [Scalar](repeating: 0, count: reduction == .none ? layout.rows : 1)
    var total = 0.0
    var kept = 0
    for r in 0..<layout.rows where keeps(r) {
      kept += 1
      let base = layout.base(ofRow: r)
      for c in 0..<layout.classes {
        let x = Double(logits[base + c * layout.inner])
        row[c] = softCap.map { $0 * .tanh(x / $0) } ?? x
      }
      var lse = row.withUnsafeBufferPointer(logSumExp)
      if lse == .infinity { lse = .nan }  // as the loss: a +inf logit makes the row NaN
      let value = scale == 0 ? 0 : scale * lse * lse
      if reduction == .none { losses[r] = Scalar(value) } else { total += value }
    }
    switch reduction {
    case .none: break
    case .sum: losses[0] = Scalar(total)
    case .mean: losses[0] = Scalar(total / mean.denominator(counted: Double(kept)))
    }
    return ShapedArray(
      uncheckedShape: reduction == .none ? layout.labelShape : [], scalars: losses)
  }
}
