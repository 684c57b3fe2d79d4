import RealModule

/// The fused kernel for probability (soft) targets, classes on the last axis:
///
/// ```
/// t'   = t (1 - e) + e / C                  (label smoothing e)
/// l_n  = -sum_c w[c] t'[c] (x[c] - lse)     = -(A - (lse - m) B)
///        with A = sum w t' (x - m), B = sum w t', accumulated in the exp pass
/// grad = -scale w t' + p * scale * B        (p = softmax(x))
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
    let scale = problem.reduction == .mean ? 1 / Double(rows) : 1
    let kernel = FusedSoftmax(
      classes: classes, ignoreIndex: problem.ignoreIndex, smoothing: smoothing,
      weights: classWeights, scale: scale, side: .none, sideWeightTotal: 0, addend: .none,
      addendTotal: 0)
    let perRow = problem.reduction == .none
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: perRow ? 0 : rows)
    defer { terms.deallocate() }
    let needsScratch = gradient != nil && E.self != FloatStorage.self
    let threads = Threads.count(rows: rows, elementsPerRow: classes)
    Threads.forEachRange(rows: rows, threads: threads) { range in
      let scratch = needsScratch ? UnsafeMutablePointer<Float>.allocate(capacity: classes) : nil
      defer { scratch?.deallocate() }
      for r in range {
        let nll = kernel.probabilityRow(
          logits + r * classes, targets: targets + r * classes,
          gradient: gradient.map { $0 + r * classes }, scratch: scratch, E.self)
        if perRow { loss[r] = Float(nll) } else { terms[r] = nll }
      }
    }
    if !perRow {
      var total = 0.0
      for r in 0..<rows { total += terms[r] }
      loss[0] = Float(problem.reduction == .mean ? total / Double(rows) : total)
    }
  }

  /// One row of probability targets: its loss, and its gradient if `gradient` is not nil.
  @inline(__always)
  func probabilityRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets t: UnsafePointer<E.Stored>,
    gradient g: UnsafeMutablePointer<E.Stored>?, scratch: UnsafeMutablePointer<Float>?,
    _ e: E.Type
  ) -> Double {
    let side = TargetSide<E>(
      targets: t, weights: weights?.baseAddress,
      keep: smoothing > 0 ? Float(1 - smoothing) : 1,
      uniform: smoothing > 0 ? Float(smoothing / Double(classes)) : 0)
    let addend = TargetAddend(side: side, negativeScale: Vector(repeating: Float(-scale)))
    let inPlace = g.map { Int(bitPattern: $0) == Int(bitPattern: x) } ?? false
    let rowBytes =
      classes * MemoryLayout<E.Stored>.stride * (inPlace ? 2 : 3)
      + (scratch == nil ? 0 : classes * MemoryLayout<Float>.stride)
    // One class: the reference's gradient cancels to exactly 0 (p = 1); keep that exactness.
    if classes == 1 { return scalarProbabilityRow(x, targets: t, gradient: g, e) }
    if let g, rowBytes <= Self.cachedRowBytes {
      let m = FusedRows.maximum(x, count: classes, e)
      guard m.isFinite else { return scalarProbabilityRow(x, targets: t, gradient: g, e) }
      let exps = scratch ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
      let (sum, a, b) = FusedRows.expSum3(x, classes, m, Store(pointer: exps), side, e)
      let lse = Double(m) + .log(sum)
      let total = -scale * b
      FusedRows.scale(UnsafePointer(exps), g, classes, Float(-total / sum), addend, e)
      return -(a - (lse - Double(m)) * b)
    }
    let stats = FusedRows.onlineStatistics3(x, classes, side, e)
    guard stats.maximum.isFinite else {
      return scalarProbabilityRow(x, targets: t, gradient: g, e)
    }
    let lse = Double(stats.maximum) + .log(stats.sum)
    if let g {
      let total = -scale * stats.side2
      FusedRows.exponentialGradient(
        x, g, classes, stats.maximum, Float(-total / stats.sum), addend, e)
    }
    return -(stats.side - (lse - Double(stats.sideShift)) * stats.side2)
  }
}
