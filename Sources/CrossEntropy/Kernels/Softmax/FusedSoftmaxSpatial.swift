import RealModule

/// The fused softmax cross-entropy kernel for a class axis that is not last: logits laid out
/// `outer × classes × inner` with `inner > 1` (an (N, C, d1, ..., dk) input), every option of
/// the reference at full speed.
///
/// Softmax runs over the strided class axis, so the kernel vectorises across the contiguous
/// positions instead: a *column* is 16 neighbouring positions of one outer index, whose class
/// `c` values are the 16 contiguous elements at `(o * classes + c) * inner + p0`. Per column:
///
/// 1. walking the classes at a stride of `inner`, the running maximum per lane, while the column
///    is copied as fp32 into a contiguous `classes × 16` per-thread scratch;
/// 2. on the scratch: `exp(x - max)` per lane, summed (with the label-smoothing or target side
///    sums) and stored back into the scratch;
/// 3. the gradient, `e * k + addend`, written at the stride of `inner` (it may overwrite the
///    logits), then the label's element rewritten per lane.
///
/// One exp per element; the logits are read from memory once and the gradient written once.
/// The scratch is what keeps passes 2 and 3 in cache: a column's own elements lie `inner * 4`
/// bytes apart, a power of two in most images, and would all compete for a few cache sets.
/// Per-lane statistics are fp32 (sums flushed to Double every ``block`` classes); the mean and
/// sum reductions add the per-lane terms of each column into Double partials per fixed chunk of
/// columns, combined in chunk order, so results do not depend on the thread count.
///
/// Columns with a lane whose maximum is not finite take the reference's formulas in Double
/// (``FusedSoftmax/scalarRow(_:gradient:label:_:)``) position by position.
struct FusedSoftmaxSpatial {
  /// The per-row constants (weights, smoothing, the mean's scale) and the scalar fallback.
  let row: FusedSoftmax
  let outer: Int
  let classes: Int
  let inner: Int
  /// Columns (of up to 16 positions) per outer index.
  let columnsPerOuter: Int

  /// The floats of per-lane scratch a column uses (label logits, weights, addends, the active
  /// mask's bits, the label gradients, a partial column's lanes), so that lanes are filled and
  /// read through memory: a SIMD lane written at a run-time index spills the whole vector.
  static let laneScratch = 6 * 16

  /// Classes summed in fp32 lanes before the sums are flushed into Double.
  static let block = 512

  /// Logits per chunk of columns, the unit of thread partitioning and of the reductions'
  /// partial sums (about PyTorch's grain); it depends only on the problem's shape.
  static let chunkElements = 1 << 15

  init(row: FusedSoftmax, layout: ClassLayout) {
    self.row = row
    self.outer = layout.outer
    self.classes = layout.classes
    self.inner = layout.inner
    self.columnsPerOuter = (layout.inner + 15) / 16
  }

  /// Class-index labels: the kernel's entry point, with the reduction. `gradient` may be
  /// `logits`.
  static func run<E: KernelStorage>(
    logits: UnsafePointer<E.Stored>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?,
    _ e: E.Type
  ) {
    let classes = problem.layout.classes
    let smoothing = problem.labelSmoothing
    let ignoreIndex = problem.ignoreIndex

    // The mean's denominator first, from the labels alone (in the reference's order when
    // weighted; a count is exact in any order).
    var denominator = 0.0
    if let classWeights {
      for label in labels where label != ignoreIndex { denominator += Double(classWeights[label]) }
    } else {
      var count = 0
      for label in labels where label != ignoreIndex { count += 1 }
      denominator = Double(count)
    }
    if let given = problem.denominators { denominator = given.loss }
    let scale = problem.reduction == .mean ? 1 / denominator : 1

    let smoothingTerms = problem.smoothingTerms(classWeights: classWeights, scale: scale)
    defer { smoothingTerms.perClass?.deallocate() }
    let kernel = FusedSoftmaxSpatial(
      row: FusedSoftmax(
        classes: classes, ignoreIndex: ignoreIndex, smoothing: smoothing, weights: classWeights,
        scale: scale, side: smoothingTerms.side, sideWeightTotal: smoothingTerms.sideWeightTotal,
        addend: smoothingTerms.addend, addendTotal: smoothingTerms.addendTotal),
      layout: problem.layout)
    let perRow = problem.reduction == .none
    let (nll, smooth) = kernel.forEachColumn {
      o, p0, count, scratch, lanes in
      kernel.labelColumn(
        logits, labels: labels, o: o, p0: p0, count: count, gradient: gradient, scratch: scratch,
        lanes: lanes, loss: perRow ? loss.baseAddress : nil, e)
    }
    if !perRow {
      var nllTotal = nll
      var smoothTotal = smooth
      if problem.reduction == .mean {
        nllTotal /= denominator
        smoothTotal /= denominator
      }
      loss[0] = Float(kernel.row.combine(nllTotal, smoothTotal))
    }
  }

  /// Probability targets laid out like the logits (see ``FusedSoftmax/runProbabilities``);
  /// `.mean` divides by the number of positions.
  static func runProbabilities<E: KernelStorage>(
    logits: UnsafePointer<E.Stored>, targets: UnsafePointer<E.Stored>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?,
    _ e: E.Type
  ) {
    let rows = Double(problem.layout.rows)
    let denominator = problem.denominators?.loss ?? rows
    let scale = problem.reduction == .mean ? 1 / denominator : 1
    let kernel = FusedSoftmaxSpatial(
      row: FusedSoftmax(
        classes: problem.layout.classes, ignoreIndex: problem.ignoreIndex,
        smoothing: problem.labelSmoothing, weights: classWeights, scale: scale, side: .none,
        sideWeightTotal: 0, addend: .none, addendTotal: 0),
      layout: problem.layout)
    let perRow = problem.reduction == .none
    let (total, _) = kernel.forEachColumn {
      o, p0, count, scratch, lanes in
      kernel.probabilityColumn(
        logits, targets: targets, o: o, p0: p0, count: count, gradient: gradient, scratch: scratch,
        lanes: lanes, loss: perRow ? loss.baseAddress : nil, e)
    }
    if !perRow { loss[0] = Float(problem.reduction == .mean ? total / denominator : total) }
  }

  /// Runs `body(o, p0, count, scratch, lanes)` on every column (`count` positions from `p0`),
  /// chunk by chunk over threads, and returns the sums of its two results in chunk order.
  /// `scratch` is a per-thread buffer of `2 * classes * 16` floats (the column and the
  /// probability targets' terms), `lanes` one of ``laneScratch`` floats for per-lane values.
  @inline(__always)
  func forEachColumn(
    _ body: (Int, Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> (
      Double, Double
    )
  ) -> (Double, Double) {
    let units = outer * columnsPerOuter
    if units == 0 { return (0, 0) }  // no scratch for an empty batch, whatever the class count
    let perChunk = max(1, Self.chunkElements / (classes * 16))
    let chunks = (units + perChunk - 1) / perChunk
    let partials = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * chunks)
    defer { partials.deallocate() }
    let threads = Threads.count(rows: chunks, elementsPerRow: perChunk * classes * 16)
    Threads.forEachRange(rows: chunks, threads: threads) { range in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * classes * 16)
      defer { scratch.deallocate() }
      let lanes = UnsafeMutablePointer<Float>.allocate(capacity: Self.laneScratch)
      defer { lanes.deallocate() }
      for chunk in range {
        var a = 0.0
        var b = 0.0
        for unit in chunk * perChunk..<min(units, (chunk + 1) * perChunk) {
          let (o, column) = unit.quotientAndRemainder(dividingBy: columnsPerOuter)
          let p0 = column * 16
          let (x, y) = body(o, p0, min(16, inner - p0), scratch, lanes)
          a += x
          b += y
        }
        partials[2 * chunk] = a
        partials[2 * chunk + 1] = b
      }
    }
    var a = 0.0
    var b = 0.0
    for chunk in 0..<chunks {
      a += partials[2 * chunk]
      b += partials[2 * chunk + 1]
    }
    return (a, b)
  }
}
