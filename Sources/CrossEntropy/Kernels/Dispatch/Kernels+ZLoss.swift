import RealModule

extension Kernels {
  /// The z-loss `scale * lse^2` of every kept row of (optionally soft-capped) logits, reduced
  /// as ``Reference/zLoss(logits:layout:scale:softCap:reduction:mean:keeps:)`` defines
  /// it (`mean`: the caller's normaliser, if given, instead of the kept row count). Float and
  /// Float16 logits with the classes last take the fused row statistics (one read per row,
  /// threads over rows); everything else the reference.
  static func zLoss<Scalar: BinaryFloatingPoint>(
    logits: [Scalar], layout: ClassLayout, scale: Double, softCap: Double?,
    reduction: Reduction, mean: MeanRule = MeanRule(), keeps: (Int) -> Bool
  ) -> ShapedArray<Scalar> {
    let rows = layout.rows
    var lse: [Double]? = nil
    if layout.inner == 1, rows > 0 {
      let kept = (0..<rows).map(keeps)
      if Scalar.self == Float.self {
        lse = logits.withUnsafeBufferPointer { buffer in
          buffer.withMemoryRebound(to: Float.self) {
            FusedSoftmax.logSumExps(
              $0.baseAddress!, rows: rows, classes: layout.classes, softCap: softCap, kept: kept,
              FloatStorage.self)
          }
        }
      }
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        if Scalar.self == Float16.self {
          lse = logits.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: Float16.self) {
              FusedSoftmax.logSumExps(
                $0.baseAddress!, rows: rows, classes: layout.classes, softCap: softCap,
                kept: kept, HalfStorage.self)
            }
          }
        }
      #endif
    }
    guard let lse else {
      return Reference.zLoss(
        logits: logits, layout: layout, scale: scale, softCap: softCap, reduction: reduction,
        mean: mean, keeps: keeps)
    }
    // The reduction, in the reference's order.
    var losses = [Scalar](repeating: 0, count: reduction == .none ? rows : 1)
    var total = 0.0
    var count = 0
    for r in 0..<rows where keeps(r) {
      count += 1
      let value = scale == 0 ? 0 : scale * lse[r] * lse[r]
      if reduction == .none { losses[r] = Scalar(value) } else { total += value }
    }
    switch reduction {
    case .none: break
    case .sum: losses[0] = Scalar(total)
    case .mean: losses[0] = Scalar(total / mean.denominator(counted: Double(count)))
    }
    return ShapedArray(
      uncheckedShape: reduction == .none ? layout.labelShape : [], scalars: losses)
  }
}
