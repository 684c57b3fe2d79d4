import RealModule

/// The fused fp32 softmax cross-entropy kernel: class-index labels, classes on the last axis
/// (or any axis with nothing after it), every option of the reference at full speed.
///
/// The z-loss `s * lse^2` adds `dz * softmax(x)` to the gradient (`dz = 2 s lse`, over the
/// non-ignored row count for `.mean`), which is folded into the scale pass's factor; the soft
/// cap runs the same passes on a capped fp32 copy of the row (see FusedRows+SoftCap.swift).
///
/// Per row, forward + backward: a max pass; `exp(x - max)` stored into the gradient (which may
/// be the logits) and summed; a scale pass. One exp per element, O(C) scratch. Rows too large
/// for L2 take the blocked online softmax instead (one read for the statistics, one for the
/// gradient). Forward only reads the logits once (online softmax per row).
///
/// Semantics follow ``Reference`` exactly, NaN and infinity included: rows whose maximum is not
/// finite take a scalar Double path that evaluates the reference's formulas.
struct FusedSoftmax {
  /// Rows with at most this many classes keep their exponentials in cache between passes
  /// (in place: the row; with a separate gradient: the row and the gradient row).
  static let cachedRowBytes = 512 * 1024

  let classes: Int
  let ignoreIndex: Int
  let smoothing: Double
  let weights: UnsafeBufferPointer<Float>?
  /// The reduction's scale of the gradient: 1 / denominator for `.mean`, else 1 (times the
  /// row's gradient factor in a kernel of ``scaled(by:)``).
  var scale: Double
  /// The side sum of the exp pass (the smoothing term), if label smoothing is on.
  let side: FusedRows.Side
  /// The sum of the weights the side term uses (the class count without weights).
  let sideWeightTotal: Double
  /// The smoothing part of each gradient row, and its sum over the classes.
  var addend: FusedRows.Addend
  var addendTotal: Double
  /// The z-loss gradient factor: `dz = zGradient * lse` per non-ignored row (0: no z-loss).
  var zGradient = 0.0

  /// The weight of class `c` as the reference reads it.
  @inline(__always)
  func weight(_ c: Int) -> Double { weights.map { Double($0[c]) } ?? 1 }

  /// The reference's combination of the NLL and smoothing terms.
  @inline(__always)
  func combine(_ nll: Double, _ smooth: Double) -> Double {
    smoothing > 0 ? (1 - smoothing) * nll + smooth * (smoothing / Double(classes)) : nll
  }

  /// Runs the kernel on elements of type `E` (fp32 arithmetic; the loss in fp32, the gradient
  /// in `E`). `gradient` may be `logits`.
  static func run<E: KernelStorage>(
    logits: UnsafePointer<E.Stored>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?,
    _: E.Type
  ) {
    let classes = problem.layout.classes
    let rows = problem.layout.rows
    let smoothing = problem.labelSmoothing
    func weight(_ c: Int) -> Double { classWeights.map { Double($0[c]) } ?? 1 }

    // The mean's denominator first, from the labels alone, in the reference's order.
    var denominator = 0.0
    for label in labels where label != problem.ignoreIndex { denominator += weight(label) }
    if let given = problem.denominators { denominator = given.loss }
    let scale = problem.reduction == .mean ? 1 / denominator : 1

    let smoothingTerms = problem.smoothingTerms(classWeights: classWeights, scale: scale)
    defer { smoothingTerms.perClass?.deallocate() }
    // The z-loss (as the reference): its mean divides by the non-ignored row count.
    let zScale = problem.zLossScale
    var zCount = 0.0
    for label in labels where label != problem.ignoreIndex { zCount += 1 }
    if let given = problem.denominators { zCount = given.zLoss }
    var kernel = FusedSoftmax(
      classes: classes, ignoreIndex: problem.ignoreIndex, smoothing: smoothing,
      weights: classWeights, scale: scale, side: smoothingTerms.side,
      sideWeightTotal: smoothingTerms.sideWeightTotal,
      addend: smoothingTerms.addend, addendTotal: smoothingTerms.addendTotal)
    if zScale != 0 {
      kernel.zGradient = problem.reduction == .mean ? 2 * zScale / zCount : 2 * zScale
    }
    let softCap = problem.logitSoftCap.map(FusedRows.SoftCap.init)

    let perRow = problem.reduction == .none
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: perRow ? 0 : 3 * rows)
    defer { terms.deallocate() }
    let threads = Threads.count(rows: rows, elementsPerRow: classes)
    // Elements narrower than fp32 keep their exponentials (or, capped, their fp32 gradient) in
    // an fp32 row of scratch per thread; capped rows also need a row for the capped logits.
    let needsScratch = gradient != nil && E.self != FloatStorage.self
    Threads.forEachRange(rows: rows, threads: threads) { range in
      let scratch = needsScratch ? UnsafeMutablePointer<Float>.allocate(capacity: classes) : nil
      defer { scratch?.deallocate() }
      withCapScratch(
        softCap: softCap, classes: classes, gradient: gradient != nil, wide: scratch
      ) { capScratch in
        for r in range {
          let x = logits + r * classes
          let g = gradient.map { $0 + r * classes }
          let ignored = labels[r] == problem.ignoreIndex
          // A row with a sample weight or an upstream gradient: the kernel with its factor.
          let rowKernel =
            if let rowScales = problem.rowScales, !ignored {
              kernel.scaled(by: rowScales.gradientFactor(r))
            } else {
              kernel
            }
          var (nll, smooth, lse) =
            if let softCap, let capScratch {
              rowKernel.cappedRow(
                x, gradient: g, label: labels[r], softCap: softCap, scratch: capScratch, E.self)
            } else {
              rowKernel.row(
                x, gradient: g, label: labels[r], scratch: scratch,
                statistics: problem.statistics.map { $0.rows + r }, E.self)
            }
          var z = zScale == 0 || ignored ? 0 : zScale * lse * lse
          if let rowScales = problem.rowScales, !ignored {
            let s = rowScales.lossFactor(r)
            nll *= s
            smooth *= s
            z *= s
          }
          if perRow {
            loss[r] = Float(kernel.combine(nll, smooth) + z)
          } else {
            terms[3 * r] = nll
            terms[3 * r + 1] = smooth
            terms[3 * r + 2] = z
          }
        }
      }
    }
    if !perRow {
      var nllTotal = 0.0
      var smoothTotal = 0.0
      var zTotal = 0.0
      for r in 0..<rows {
        nllTotal += terms[3 * r]
        smoothTotal += terms[3 * r + 1]
        zTotal += terms[3 * r + 2]
      }
      if problem.reduction == .mean {
        nllTotal /= denominator
        smoothTotal /= denominator
        zTotal /= zCount
      }
      loss[0] = Float(kernel.combine(nllTotal, smoothTotal) + (zScale == 0 ? 0 : zTotal))
    }
  }

  /// This kernel for a row whose gradient is multiplied by `factor` (its sample weight times
  /// its upstream gradient): the reduction's scale, the z-loss factor and the smoothing addend
  /// multiplied by it. A factor of 1 gives this kernel's values bit for bit.
  func scaled(by factor: Double) -> FusedSoftmax {
    var kernel = self
    kernel.scale = scale * factor
    kernel.zGradient = zGradient * factor
    switch addend {
    case .none: break
    case .constant:
      // As ``SoftmaxProblem/smoothingTerms(classWeights:scale:)`` with the row's scale.
      let value = smoothing / Double(classes) * -kernel.scale
      kernel.addend = .constant(Float(value))
      kernel.addendTotal = value * Double(classes)
    case .perClass(let values):
      kernel.addend = .scaledPerClass(values, Float(factor))
      kernel.addendTotal = addendTotal * factor
    case .scaledPerClass(let values, let previous):
      kernel.addend = .scaledPerClass(values, Float(Double(previous) * factor))
      kernel.addendTotal = addendTotal * factor
    }
    return kernel
  }

  /// One row: its NLL and smoothing terms and its log-sum-exp (0 for an ignored row without a
  /// gradient), and its gradient if `gradient` is not nil; its statistics too if `statistics`
  /// is not nil (checked once per row: without them, the passes are the plain ones).
  @inline(__always)
  func row<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, gradient g: UnsafeMutablePointer<E.Stored>?, label: Int,
    scratch: UnsafeMutablePointer<Float>?, statistics: UnsafeMutablePointer<RowStatistics>? = nil,
    _ e: E.Type
  ) -> (nll: Double, smooth: Double, lse: Double) {
    let ignored = label == ignoreIndex
    let rowSide = ignored ? FusedRows.Side.none : side
    // The label's logit for the statistics (nil: ignored), read before the row is overwritten.
    let statisticsLabel: Float? = statistics == nil || ignored ? nil : E.float(x[label])
    guard let g else {
      if ignored && statistics == nil { return (0, 0, 0) }
      let stats = FusedRows.onlineStatistics(x, count: classes, side: rowSide, e)
      guard stats.maximum.isFinite else {
        statistics?.pointee = Self.scalarStatisticsRow(
          x, count: classes, label: ignored ? nil : label, e)
        if ignored { return (0, 0, 0) }
        return scalarRow(x, gradient: nil, label: label, e)
      }
      let lse = Double(stats.maximum) + .log(stats.sum)
      if let statistics {
        statistics.pointee = Self.finish(
          lse: lse, predicted: FusedRows.firstIndex(of: stats.maximum, x, count: classes, e),
          labelLogit: statisticsLabel, sum: stats.sum,
          entropySum: FusedRows.entropySum(x, count: classes, shift: stats.maximum, e),
          count: classes, value: { E.float(x[$0]) })
        if ignored { return (0, 0, 0) }
      }
      let (nll, smooth) = terms(
        label: label, labelLogit: E.float(x[label]), lse: lse, side: stats.side,
        sideShift: stats.sideShift)
      return (nll, smooth, lse)
    }
    let labelLogit = ignored ? 0 : E.float(x[label])
    let gradientLabel = ignored ? 0 : (1 - smoothing) * (weight(label) * -scale)
    let total = ignored ? 0 : gradientLabel + addendTotal
    let rowAddend = ignored ? FusedRows.Addend.none : addend
    let inPlace = Int(bitPattern: g) == Int(bitPattern: x)
    let rowBytes =
      classes * MemoryLayout<E.Stored>.stride * (inPlace ? 1 : 2)
      + (scratch == nil ? 0 : classes * MemoryLayout<Float>.stride)
    var result: (nll: Double, smooth: Double, lse: Double)
    if rowBytes <= Self.cachedRowBytes {
      let m = FusedRows.maximum(x, count: classes, e)
      guard m.isFinite else {
        statistics?.pointee = Self.scalarStatisticsRow(
          x, count: classes, label: ignored ? nil : label, e)
        return scalarRow(x, gradient: g, label: label, e)
      }
      // fp32 elements keep their exponentials in the gradient row itself.
      let exps = scratch ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
      let sum: Double
      let sideSum: Double
      if let statistics {
        // The argmax before the exp pass, which may overwrite the row.
        let predicted = FusedRows.firstIndex(of: m, x, count: classes, e)
        let entropySum: Double
        (sum, sideSum, entropySum) = FusedRows.expSumWithEntropy(
          x, count: classes, shift: m, store: exps, side: rowSide, e)
        statistics.pointee = Self.finish(
          lse: Double(m) + .log(sum), predicted: predicted, labelLogit: statisticsLabel,
          sum: sum, entropySum: entropySum, count: classes, value: { exps[$0] })
      } else {
        (sum, sideSum) = FusedRows.expSum(
          x, count: classes, shift: m, store: exps, side: rowSide, e)
      }
      let lse = Double(m) + .log(sum)
      let (nll, smooth) = terms(
        label: label, labelLogit: labelLogit, lse: lse, side: sideSum, sideShift: m)
      result = (nll, smooth, lse)
      // The z-loss adds dz * p to every class: -total becomes dz - total.
      let net = ignored ? total : total - zGradient * lse
      let labelExp = ignored ? 0 : exps[label]
      FusedRows.scale(
        UnsafePointer(exps), into: g, count: classes, by: Float(-net / sum), add: rowAddend, e)
      if !ignored { fixLabel(g, label, gradientLabel, labelExp, net / sum, e) }
    } else {
      let stats = FusedRows.onlineStatistics(x, count: classes, side: rowSide, e)
      guard stats.maximum.isFinite else {
        statistics?.pointee = Self.scalarStatisticsRow(
          x, count: classes, label: ignored ? nil : label, e)
        return scalarRow(x, gradient: g, label: label, e)
      }
      let lse = Double(stats.maximum) + .log(stats.sum)
      if let statistics {
        statistics.pointee = Self.finish(
          lse: lse, predicted: FusedRows.firstIndex(of: stats.maximum, x, count: classes, e),
          labelLogit: statisticsLabel, sum: stats.sum,
          entropySum: FusedRows.entropySum(x, count: classes, shift: stats.maximum, e),
          count: classes, value: { E.float(x[$0]) })
      }
      let (nll, smooth) = terms(
        label: label, labelLogit: labelLogit, lse: lse, side: stats.side, sideShift: stats.sideShift
      )
      result = (nll, smooth, lse)
      let net = ignored ? total : total - zGradient * lse
      let labelExp = ignored ? 0 : VectorMath.exp(labelLogit - stats.maximum)
      FusedRows.exponentialGradient(
        x, g, count: classes, shift: stats.maximum, by: Float(-net / stats.sum),
        add: rowAddend, e)
      if !ignored { fixLabel(g, label, gradientLabel, labelExp, net / stats.sum, e) }
    }
    return result
  }

  /// Rewrites the label's gradient in Double as the reference evaluates it,
  /// `(dlogp[y] + smoothing part) - p[y] * total`, so that it cancels to exactly 0 where the
  /// reference's does (one class, or p[y] = 1). With the z-loss, `total` is net of its `dz`.
  @inline(__always)
  func fixLabel<E: KernelStorage>(
    _ g: UnsafeMutablePointer<E.Stored>, _ label: Int, _ gradientLabel: Double,
    _ labelExp: Float, _ totalOverSum: Double, _: E.Type
  ) {
    var direct = gradientLabel
    if smoothing > 0 { direct += smoothing / Double(classes) * (weight(label) * -scale) }
    g[label] = E.stored(Float(direct - Double(labelExp) * totalOverSum))
  }

  /// The NLL and smoothing terms of a non-ignored row from its statistics:
  /// `nll = -w[y] (x[y] - lse)`, `smooth = -sum_c w[c] (x[c] - lse)` where the side sum is
  /// `sum_c w[c] (x[c] - sideShift)`.
  @inline(__always)
  func terms(
    label: Int, labelLogit: Float, lse: Double, side sideSum: Double, sideShift: Float
  ) -> (nll: Double, smooth: Double) {
    if label == ignoreIndex { return (0, 0) }
    let nll = -weight(label) * (Double(labelLogit) - lse)
    guard smoothing > 0 else { return (nll, 0) }
    return (nll, -(sideSum - (lse - Double(sideShift)) * sideWeightTotal))
  }
}
