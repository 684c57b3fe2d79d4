import RealModule

/// The fused Double softmax cross-entropy kernel: class-index labels, classes on the last axis,
/// class weights, ignore index and label smoothing, as ``FusedSoftmax`` does for fp32.
///
/// Per row, forward + backward: a max pass; `exp(x - max)` (``VectorMathDouble/exp(_:)``) stored
/// into the gradient (which may be the logits) and summed in Double lanes; a scale pass. Forward
/// only: the max pass and the summing exp pass. No allocation besides O(N) for the row terms.
/// Results agree with ``Reference`` to about 1e-15 relative (the vector exp is within about
/// 1 ULP of libm's, and sums run in another order); rows whose maximum is not finite take
/// ``scalarRow(_:gradient:label:)``, the reference's formulas element by element.
struct FusedSoftmaxDouble {
  let classes: Int
  let ignoreIndex: Int
  let smoothing: Double
  let weights: UnsafeBufferPointer<Double>?
  /// The reduction's scale of the gradient: 1 / denominator for `.mean`, else 1 (times the
  /// row's gradient factor in a kernel of ``scaled(by:)``).
  var scale: Double
  /// The sum of the class weights (the class count without weights).
  let weightTotal: Double
  /// `smoothing / C * (w[c] * -scale)`, the smoothing part of each gradient element, if the
  /// weights differ per class; else nil and ``constantAddend`` holds it.
  let addends: UnsafeBufferPointer<Double>?
  var constantAddend: Double
  /// The sum of the smoothing parts over the classes.
  var addendTotal: Double

  @inline(__always)
  func weight(_ c: Int) -> Double { weights.map { $0[c] } ?? 1 }

  /// Runs the kernel (the loss and, if `gradient` is not nil, the gradient, which may be
  /// `logits`).
  static func run(
    logits: UnsafePointer<Double>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Double>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Double>, gradient: UnsafeMutablePointer<Double>?
  ) {
    let classes = problem.layout.classes
    let rows = problem.layout.rows
    let smoothing = problem.labelSmoothing
    func weight(_ c: Int) -> Double { classWeights.map { $0[c] } ?? 1 }
    var denominator = 0.0
    for label in labels where label != problem.ignoreIndex { denominator += weight(label) }
    if let given = problem.denominators { denominator = given.loss }
    let scale = problem.reduction == .mean ? 1 / denominator : 1

    var weightTotal = Double(classes)
    var addendTotal = 0.0
    var constantAddend = 0.0
    var addends: UnsafeMutableBufferPointer<Double>? = nil
    defer { addends?.deallocate() }
    if smoothing > 0 {
      if let classWeights {
        weightTotal = 0
        for w in classWeights { weightTotal += w }
        let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: classes)
        for c in 0..<classes {
          values[c] = smoothing / Double(classes) * (weight(c) * -scale)
          addendTotal += values[c]
        }
        addends = values
      } else {
        constantAddend = smoothing / Double(classes) * -scale
        addendTotal = constantAddend * Double(classes)
      }
    }
    let kernel = FusedSoftmaxDouble(
      classes: classes, ignoreIndex: problem.ignoreIndex, smoothing: smoothing,
      weights: classWeights, scale: scale, weightTotal: weightTotal,
      addends: addends.map { UnsafeBufferPointer($0) }, constantAddend: constantAddend,
      addendTotal: addendTotal)

    let perRow = problem.reduction == .none
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: perRow ? 0 : 2 * rows)
    defer { terms.deallocate() }
    let threads = Threads.count(rows: rows, elementsPerRow: classes)
    Threads.forEachRange(rows: rows, threads: threads) { range in
      for r in range {
        let ignored = labels[r] == problem.ignoreIndex
        // A row with a sample weight or an upstream gradient: the kernel with its factor.
        let rowKernel =
          if let rowScales = problem.rowScales, !ignored {
            kernel.scaled(by: rowScales.gradientFactor(r))
          } else {
            kernel
          }
        var (nll, smooth) = rowKernel.row(
          logits + r * classes, gradient: gradient.map { $0 + r * classes }, label: labels[r])
        if let rowScales = problem.rowScales, !ignored {
          let s = rowScales.lossFactor(r)
          nll *= s
          smooth *= s
        }
        if perRow {
          loss[r] = kernel.combine(nll, smooth)
        } else {
          terms[2 * r] = nll
          terms[2 * r + 1] = smooth
        }
      }
    }
    if !perRow {
      var nllTotal = 0.0
      var smoothTotal = 0.0
      for r in 0..<rows {
        nllTotal += terms[2 * r]
        smoothTotal += terms[2 * r + 1]
      }
      if problem.reduction == .mean {
        nllTotal /= denominator
        smoothTotal /= denominator
      }
      loss[0] = kernel.combine(nllTotal, smoothTotal)
    }
  }

  /// Whether ``scaled(by:)`` can scale this kernel's gradient: not with per-class smoothing
  /// addends (weighted label smoothing), which the dispatch leaves to the reference.
  static func takesRowScales(_ problem: SoftmaxProblem, weighted: Bool) -> Bool {
    !(weighted && problem.labelSmoothing > 0)
  }

  /// This kernel for a row whose gradient is multiplied by `factor` (its sample weight times
  /// its upstream gradient): the reduction's scale and the smoothing addend multiplied by it.
  /// A factor of 1 gives this kernel's values bit for bit.
  func scaled(by factor: Double) -> FusedSoftmaxDouble {
    assert(addends == nil, "per-class addends take the reference")
    var kernel = self
    kernel.scale = scale * factor
    if smoothing > 0 {
      kernel.constantAddend = smoothing / Double(classes) * -kernel.scale
      kernel.addendTotal = kernel.constantAddend * Double(classes)
    }
    return kernel
  }

  /// The reference's combination of the NLL and smoothing terms.
  @inline(__always)
  func combine(_ nll: Double, _ smooth: Double) -> Double {
    smoothing > 0 ? (1 - smoothing) * nll + smooth * (smoothing / Double(classes)) : nll
  }

  /// One row: its NLL and smoothing terms, and its gradient if `g` is not nil.
  func row(
    _ x: UnsafePointer<Double>, gradient g: UnsafeMutablePointer<Double>?, label: Int
  ) -> (nll: Double, smooth: Double) {
    let ignored = label == ignoreIndex
    if ignored && g == nil { return (0, 0) }
    let m = maximum(x)
    guard m.isFinite else { return scalarRow(x, gradient: g, label: label) }
    let labelLogit = ignored ? 0 : x[label]  // read before the gradient overwrites it
    let (sum, side) = expSum(x, shift: m, store: g, side: smoothing > 0 && !ignored)
    let logSum = Double.log(sum)
    var nll = 0.0
    var smooth = 0.0
    if !ignored {
      nll = -weight(label) * ((labelLogit - m) - logSum)
      // sum_c w[c] ((x[c] - m) - logSum), the reference's smoothing sum, from the side sum.
      if smoothing > 0 { smooth = -(side - logSum * weightTotal) }
    }
    guard let g else { return (nll, smooth) }
    let gradientLabel = ignored ? 0 : (1 - smoothing) * (weight(label) * -scale)
    let total = ignored ? 0 : gradientLabel + addendTotal
    scale(
      g, by: -total / sum, addends: ignored ? nil : addends, constant: ignored ? 0 : constantAddend)
    if !ignored {
      // The label's element as the reference evaluates it, p = exp(log-probability).
      var direct = gradientLabel
      if smoothing > 0 { direct += smoothing / Double(classes) * (weight(label) * -scale) }
      let p = VectorMathDouble.exp(DoubleVector(repeating: (labelLogit - m) - logSum))[0]
      g[label] = direct - p * total
    }
    return (nll, smooth)
  }

  /// The maximum of a row, ignoring NaN; -inf for a row of -inf and NaN.
  @inline(never)
  func maximum(_ x: UnsafePointer<Double>) -> Double {
    var m0 = DoubleVector(repeating: -.infinity)
    var m1 = m0
    var m2 = m0
    var m3 = m0
    var i = 0
    while i + 32 <= classes {
      m0 = VectorMathDouble.maximum(m0, VectorMathDouble.load(x, i))
      m1 = VectorMathDouble.maximum(m1, VectorMathDouble.load(x, i + 8))
      m2 = VectorMathDouble.maximum(m2, VectorMathDouble.load(x, i + 16))
      m3 = VectorMathDouble.maximum(m3, VectorMathDouble.load(x, i + 24))
      i += 32
    }
    while i + 8 <= classes {
      m0 = VectorMathDouble.maximum(m0, VectorMathDouble.load(x, i))
      i += 8
    }
    if i < classes {
      m1 = VectorMathDouble.maximum(
        m1, VectorMathDouble.loadPartial(x, i, count: classes - i, fill: -.infinity))
    }
    m0 = VectorMathDouble.maximum(m0, m1)
    m2 = VectorMathDouble.maximum(m2, m3)
    return VectorMathDouble.maximum(VectorMathDouble.maximum(m0, m2))
  }

  /// Sums `exp(x[i] - shift)` over a row, storing each in `store` if not nil (it may be `x`),
  /// and, if `side`, sums `w[i] * (x[i] - shift)`.
  @inline(never)
  func expSum(
    _ x: UnsafePointer<Double>, shift: Double, store: UnsafeMutablePointer<Double>?, side: Bool
  ) -> (sum: Double, side: Double) {
    let m = DoubleVector(repeating: shift)
    var s0 = DoubleVector.zero
    var s1 = DoubleVector.zero
    var t0 = DoubleVector.zero
    var t1 = DoubleVector.zero
    var i = 0
    while i + 16 <= classes {
      let d0 = VectorMathDouble.load(x, i) - m
      let d1 = VectorMathDouble.load(x, i + 8) - m
      let e0 = VectorMathDouble.exp(d0)
      let e1 = VectorMathDouble.exp(d1)
      s0 += e0
      s1 += e1
      if side {
        if let w = weights?.baseAddress {
          t0 = VectorMathDouble.multiplyAdd(VectorMathDouble.load(w, i), d0, t0)
          t1 = VectorMathDouble.multiplyAdd(VectorMathDouble.load(w, i + 8), d1, t1)
        } else {
          t0 += d0
          t1 += d1
        }
      }
      if let store {
        VectorMathDouble.store(e0, store, i)
        VectorMathDouble.store(e1, store, i + 8)
      }
      i += 16
    }
    var sum = VectorMathDouble.sum(s0 + s1)
    var sideSum = VectorMathDouble.sum(t0 + t1)
    while i < classes {
      let d = x[i] - shift
      let e = VectorMathDouble.exp(DoubleVector(repeating: d))[0]
      sum += e
      if side { sideSum += weight(i) * d }
      store?[i] = e
      i += 1
    }
    return (sum, sideSum)
  }

  /// `g[i] = g[i] * k + addend[i]` over a row (`g` holds the exponentials).
  @inline(never)
  func scale(
    _ g: UnsafeMutablePointer<Double>, by k: Double, addends: UnsafeBufferPointer<Double>?,
    constant: Double
  ) {
    let kv = DoubleVector(repeating: k)
    let cv = DoubleVector(repeating: constant)
    var i = 0
    while i + 8 <= classes {
      let a = addends.map { VectorMathDouble.load($0.baseAddress!, i) } ?? cv
      VectorMathDouble.store(VectorMathDouble.multiplyAdd(VectorMathDouble.load(g, i), kv, a), g, i)
      i += 8
    }
    while i < classes {
      g[i] = g[i] * k + (addends?[i] ?? constant)
      i += 1
    }
  }
}
