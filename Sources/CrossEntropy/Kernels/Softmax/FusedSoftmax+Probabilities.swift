import RealModule

/// The fused kernel for probability (soft) targets, classes on the last axis:
///
/// ```
/// t'   = t (1 - e) + e / C                  (label smoothing e)
/// l_n  = -sum_c w[c] t'[c] (x[c] - lse)     = -(A - (lse - m) B)
///        with A = sum w t' (x - m), B = sum w t', accumulated in the exp pass
/// grad = -scale w t' + p * scale * B        (p = softmax(x))
///        + p * dz                           (z-loss s lse^2: dz = 2 s lse, / N for .mean)
/// ```
///
/// The same passes as class-index labels (max; exp stored + summed; scale), reading the targets
/// in the exp pass and again (from cache) in the scale pass. `.mean` divides by the row count.
extension FusedSoftmax {
  static func runProbabilities<E: KernelStorage>(
    logits: UnsafePointer<E.Stored>, targets: UnsafePointer<E.Stored>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?,
    _: E.Type
  ) {
    let classes = problem.layout.classes
    let rows = problem.layout.rows
    let smoothing = problem.labelSmoothing
    let denominator =
      problem.denominators ?? MeanDenominators(loss: Double(rows), zLoss: Double(rows))
    let scale = problem.reduction == .mean ? 1 / denominator.loss : 1
    var kernel = FusedSoftmax(
      classes: classes, ignoreIndex: problem.ignoreIndex, smoothing: smoothing,
      weights: classWeights, scale: scale, side: .none, sideWeightTotal: 0, addend: .none,
      addendTotal: 0)
    // The z-loss counts every row.
    let zScale = problem.zLossScale
    if zScale != 0 {
      kernel.zGradient = problem.reduction == .mean ? 2 * zScale / denominator.zLoss : 2 * zScale
    }
    let softCap = problem.logitSoftCap.map(FusedRows.SoftCap.init)
    let perRow = problem.reduction == .none
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: perRow ? 0 : 2 * rows)
    defer { terms.deallocate() }
    let needsScratch = gradient != nil && E.self != FloatStorage.self
    let threads = Threads.count(rows: rows, elementsPerRow: classes)
    Threads.forEachRange(rows: rows, threads: threads) { range in
      let scratch = needsScratch ? UnsafeMutablePointer<Float>.allocate(capacity: classes) : nil
      defer { scratch?.deallocate() }
      withCapScratch(
        softCap: softCap, classes: classes, gradient: gradient != nil, wide: scratch
      ) { capScratch in
        for r in range {
          let x = logits + r * classes
          let t = targets + r * classes
          let g = gradient.map { $0 + r * classes }
          // A row with a sample weight or an upstream gradient: the kernel with its factor.
          let rowKernel =
            problem.rowScales.map { kernel.scaled(by: $0.gradientFactor(r)) } ?? kernel
          var (nll, lse) =
            if let softCap, let capScratch {
              rowKernel.cappedProbabilityRow(
                x, targets: t, gradient: g, softCap: softCap, scratch: capScratch, E.self)
            } else {
              rowKernel.probabilityRow(
                x, targets: t, gradient: g, scratch: scratch, E.self, E.self)
            }
          var z = zScale == 0 ? 0 : zScale * lse * lse
          if let rowScales = problem.rowScales {
            let s = rowScales.lossFactor(r)
            nll *= s
            z *= s
          }
          if perRow {
            loss[r] = Float(nll + z)
          } else {
            terms[2 * r] = nll
            terms[2 * r + 1] = z
          }
        }
      }
    }
    if !perRow {
      var total = 0.0
      var zTotal = 0.0
      for r in 0..<rows {
        total += terms[2 * r]
        zTotal += terms[2 * r + 1]
      }
      if problem.reduction == .mean {
        total /= denominator.loss
        zTotal /= denominator.zLoss
      }
      loss[0] = Float(total + (zScale == 0 ? 0 : zTotal))
    }
  }

  /// One row of probability targets: its loss and log-sum-exp, and its gradient if `gradient`
  /// is not nil. The logits and gradient are of element type `E`, the targets of `T`.
  @inline(__always)
  func probabilityRow<E: KernelStorage, T: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets t: UnsafePointer<T.Stored>,
    gradient g: UnsafeMutablePointer<E.Stored>?, scratch: UnsafeMutablePointer<Float>?,
    _ e: E.Type, _ targetType: T.Type
  ) -> (loss: Double, lse: Double) {
    let side = FusedRows.TargetSide<T>(
      targets: t, weights: weights?.baseAddress,
      keep: smoothing > 0 ? Float(1 - smoothing) : 1,
      uniform: smoothing > 0 ? Float(smoothing / Double(classes)) : 0)
    let addend = FusedRows.TargetAddend(side: side, negativeScale: Vector(repeating: Float(-scale)))
    let inPlace = g.map { Int(bitPattern: $0) == Int(bitPattern: x) } ?? false
    let rowBytes =
      classes * MemoryLayout<E.Stored>.stride * (inPlace ? 2 : 3)
      + (scratch == nil ? 0 : classes * MemoryLayout<Float>.stride)
    // One class: the reference's gradient cancels to exactly 0 (p = 1); keep that exactness.
    if classes == 1 { return scalarProbabilityRow(x, targets: t, gradient: g, e, targetType) }
    if let g, rowBytes <= Self.cachedRowBytes {
      let m = FusedRows.maximum(x, count: classes, e)
      guard m.isFinite else {
        return scalarProbabilityRow(x, targets: t, gradient: g, e, targetType)
      }
      let exps = scratch ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
      let (sum, a, b) = FusedRows.expSum3(x, classes, m, FusedRows.Store(pointer: exps), side, e)
      let lse = Double(m) + .log(sum)
      // The z-loss adds dz * p to every class: -total becomes dz - total.
      let net = -scale * b - zGradient * lse
      FusedRows.scale(UnsafePointer(exps), g, classes, Float(-net / sum), addend, e)
      return (-(a - (lse - Double(m)) * b), lse)
    }
    let stats = FusedRows.onlineStatistics3(x, classes, side, e)
    guard stats.maximum.isFinite else {
      return scalarProbabilityRow(x, targets: t, gradient: g, e, targetType)
    }
    let lse = Double(stats.maximum) + .log(stats.sum)
    if let g {
      let net = -scale * stats.side2 - zGradient * lse
      FusedRows.exponentialGradient(
        x, g, classes, stats.maximum, Float(-net / stats.sum), addend, e)
    }
    return (-(stats.side - (lse - Double(stats.sideShift)) * stats.side2), lse)
  }
}
