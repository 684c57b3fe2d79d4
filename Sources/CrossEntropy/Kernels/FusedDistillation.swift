import RealModule

/// The fused fp32 distillation kernel (see ``DistillationLoss``): classes on the last axis (or
/// any axis with nothing after it), every option of ``Reference/distillation``.
///
/// Per row, with `a = (t - max t) / T`, `b = (s - max s) / T` (the shifted, softened logits):
/// a max pass over both rows; one pass that sums `e^a`, `e^b` and `e^a (a - b)` (and `e^(s -
/// max s)` for the hard term when `T != 1`), storing the exponentials; a gradient pass
/// `g = k_s e^b - k_t e^a (+ k_1 e^(s - max s))`. That is two exps per element (three with a
/// hard term at `T` other than 1 and 2; at 2 it is the square of `e^b`) and O(C) scratch per
/// thread; no `N × C` temporaries. With
/// `Z_t = sum e^a`, `Z_s = sum e^b`:
///
/// ```
/// KL(p || q) = sum_c e^a_c (a_c - b_c) / Z_t + log Z_s - log Z_t
/// ```
///
/// Working in shifted coordinates keeps the cancellation in KL to the size of the difference
/// between the two distributions (a student that equals the teacher gives exactly 0).
///
/// Rows holding a NaN or an infinity (or a temperature that overflows the softened logits)
/// take a scalar Double path that evaluates the reference's formulas, so the special values
/// come out exactly as the reference's.
struct FusedDistillation {
  let classes: Int
  let temperature: Double
  let hardLabelWeight: Double
  let ignoreIndex: Int
  /// The factor of each row's gradient: 1 / kept rows for `.mean`, else 1.
  let gradientScale: Double

  /// Whether the hard term needs exponentials of its own (`T != 1`).
  var separateHard: Bool { hardLabelWeight != 0 && temperature != 1 }

  /// Runs the kernel over `rows` rows. `labels` is nil when there are none (then every row
  /// counts); `loss` holds `rows` values for `.none`, else 1. `threads` overrides the thread
  /// count (tests).
  static func run(
    student: UnsafePointer<Float>, teacher: UnsafePointer<Float>,
    labels: UnsafeBufferPointer<Int>?, rows: Int, classes: Int, temperature: Double,
    hardLabelWeight: Double, ignoreIndex: Int, reduction: Reduction,
    loss: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?,
    threads: Int? = nil
  ) {
    var kept = rows
    if let labels {
      kept = 0
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    let perRow = reduction == .none
    let scale = reduction == .mean ? 1 / Double(kept) : 1
    let kernel = FusedDistillation(
      classes: classes, temperature: temperature, hardLabelWeight: hardLabelWeight,
      ignoreIndex: ignoreIndex, gradientScale: perRow ? 1 : scale)
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows)
    defer { terms.deallocate() }
    let threads = threads ?? Threads.count(rows: rows, elementsPerRow: 2 * classes)
    let needsScratch = gradient != nil
    let scratchRows = needsScratch ? (kernel.separateHard ? 2 : 1) : 0
    Threads.forEachRange(rows: rows, threads: threads) { range in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchRows * classes)
      defer { scratch.deallocate() }
      for r in range {
        let offset = r * classes
        terms[r] = kernel.row(
          student + offset, teacher + offset, label: labels?[r],
          gradient: gradient.map { $0 + offset }, teacherScratch: scratch,
          hardScratch: scratch + classes)
      }
    }
    if perRow {
      for r in 0..<rows { loss[r] = Float(terms[r]) }
    } else {
      var total = 0.0
      for r in 0..<rows { total += terms[r] }
      loss[0] = Float(total * scale)
    }
  }

  /// One row: its loss, and its gradient if `g` is not nil (the scratch rows then hold
  /// `classes` floats each; the second is used only with a separate hard term).
  @inline(__always)
  func row(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, label: Int?,
    gradient g: UnsafeMutablePointer<Float>?, teacherScratch: UnsafeMutablePointer<Float>,
    hardScratch: UnsafeMutablePointer<Float>
  ) -> Double {
    if let label, label == ignoreIndex {
      if let g { g.update(repeating: 0, count: classes) }
      return 0
    }
    let y = label ?? 0
    let w = hardLabelWeight
    let (ms, mt) = maxima(s, t)
    guard ms.isFinite, mt.isFinite else { return scalarRow(s, t, label: y, gradient: g) }
    let sums = exponentialSums(
      s, t, ms: ms, mt: mt, gradient: g, teacherScratch: teacherScratch,
      hardScratch: hardScratch)
    guard sums.teacher.isFinite, sums.student.isFinite, sums.cross.isFinite, sums.hard.isFinite
    else { return scalarRow(s, t, label: y, gradient: g) }
    let hardSum = separateHard ? sums.hard : sums.student
    var value = 0.0
    if w != 1 {
      let kl = sums.cross / sums.teacher + .log(sums.student) - .log(sums.teacher)
      value = (1 - w) * temperature * temperature * kl
    }
    if w != 0 { value += w * (Double(ms) + .log(hardSum) - Double(s[y])) }
    guard let g else { return value }

    // The label's element, evaluated in Double from the stored exponentials before the pass.
    let soft = (1 - w) * temperature
    var labelGradient = 0.0
    if w != 0 {
      let e1 = Double(separateHard ? hardScratch[y] : g[y])
      labelGradient =
        soft * (Double(g[y]) / sums.student - Double(teacherScratch[y]) / sums.teacher)
        + w * (e1 / hardSum - 1)
    }
    var ks = gradientScale * soft / sums.student
    let kt = gradientScale * soft / sums.teacher
    let k1 = gradientScale * w / hardSum
    if w != 0 && !separateHard { ks += k1 }
    gradientPass(
      g, teacherScratch, hard: separateHard ? UnsafePointer(hardScratch) : nil, ks: Float(ks),
      kt: Float(kt), k1: Float(k1))
    if w != 0 { g[y] = Float(labelGradient * gradientScale) }
    return value
  }

  /// The maxima of the student's and the teacher's row in one sweep over both, ignoring NaN
  /// (as ``FusedRows/maximum(_:count:_:)``).
  @inline(__always)
  func maxima(_ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>) -> (Float, Float) {
    var s0 = Vector(repeating: -.infinity)
    var s1 = s0
    var t0 = s0
    var t1 = s0
    var i = 0
    while i + 32 <= classes {
      s0 = VectorMath.maximum(s0, VectorMath.load(s, i))
      t0 = VectorMath.maximum(t0, VectorMath.load(t, i))
      s1 = VectorMath.maximum(s1, VectorMath.load(s, i + 16))
      t1 = VectorMath.maximum(t1, VectorMath.load(t, i + 16))
      i += 32
    }
    while i + 16 <= classes {
      s0 = VectorMath.maximum(s0, VectorMath.load(s, i))
      t0 = VectorMath.maximum(t0, VectorMath.load(t, i))
      i += 16
    }
    if i < classes {
      let n = classes - i
      s1 = VectorMath.maximum(s1, VectorMath.loadPartial(s, i, count: n, fill: -.infinity))
      t1 = VectorMath.maximum(t1, VectorMath.loadPartial(t, i, count: n, fill: -.infinity))
    }
    return (
      VectorMath.maximum(VectorMath.maximum(s0, s1)), VectorMath.maximum(VectorMath.maximum(t0, t1))
    )
  }

  /// The sums of one row: `Z_s = sum e^b`, `Z_t = sum e^a`, `sum e^a (a - b)` and, with a
  /// separate hard term, `sum e^(s - max s)` (else 0). With a gradient, `e^b` goes to `g`,
  /// `e^a` to `teacherScratch` and `e^(s - max s)` to `hardScratch`. fp32 lanes, flushed to
  /// Double every ``FusedRows/block`` elements.
  @inline(__always)
  func exponentialSums(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, ms: Float, mt: Float,
    gradient g: UnsafeMutablePointer<Float>?, teacherScratch: UnsafeMutablePointer<Float>,
    hardScratch: UnsafeMutablePointer<Float>
  ) -> (student: Double, teacher: Double, cross: Double, hard: Double) {
    // The variants are policy types, so that the hot loop has no branch (a branch there splits
    // the 16-lane code into 4-lane pieces).
    // At T = 2 the hard term's e^(s - max s) is the square of the student's e^b.
    let square = temperature == 2
    switch (g, separateHard) {
    case (nil, false):
      return exponentialSums(s, t, ms, mt, NoStore(), NoStore(), NoStore(), NoHardTerm.self)
    case (nil, true) where square:
      return exponentialSums(s, t, ms, mt, NoStore(), NoStore(), NoStore(), SquaredHardTerm.self)
    case (nil, true):
      return exponentialSums(s, t, ms, mt, NoStore(), NoStore(), NoStore(), HardTerm.self)
    case (let g?, false):
      return exponentialSums(
        s, t, ms, mt, Store(pointer: g), Store(pointer: teacherScratch), NoStore(),
        NoHardTerm.self)
    case (let g?, true) where square:
      return exponentialSums(
        s, t, ms, mt, Store(pointer: g), Store(pointer: teacherScratch),
        Store(pointer: hardScratch), SquaredHardTerm.self)
    case (let g?, true):
      return exponentialSums(
        s, t, ms, mt, Store(pointer: g), Store(pointer: teacherScratch),
        Store(pointer: hardScratch), HardTerm.self)
    }
  }

  // Not inlined: each variant keeps its own branch-free loop (inlined into the switch above,
  // the forward-only variant's loop was split into 4-lane pieces).
  @inline(never)
  func exponentialSums<S: StorePolicy, T: StorePolicy, H: StorePolicy, Hard: HardExponential>(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ ms: Float, _ mt: Float,
    _ studentStore: S, _ teacherStore: T, _ hardStore: H, _: Hard.Type
  ) -> (student: Double, teacher: Double, cross: Double, hard: Double) {
    let invT = Vector(repeating: Float(1 / temperature))
    let msv = Vector(repeating: ms)
    let mtv = Vector(repeating: mt)
    var student = 0.0
    var teacher = 0.0
    var cross = 0.0
    var hardTotal = 0.0
    var start = 0
    while start < classes {
      let end = min(start + FusedRows.block, classes)
      var zs = Vector.zero
      var zt = Vector.zero
      var zc = Vector.zero
      var z1 = Vector.zero
      var i = start
      while i + 16 <= end {
        let sv = VectorMath.load(s, i)
        let tv = VectorMath.load(t, i)
        let a = (tv - mtv) * invT
        let b = (sv - msv) * invT
        let et = VectorMath.exp(a)
        let es = VectorMath.exp(b)
        zt += et
        zs += es
        zc = VectorMath.multiplyAdd(et, a - b, zc)
        if Hard.isOn {
          let e1 = Hard.exponential(sv - msv, student: es)
          z1 += e1
          hardStore.store(e1, i)
        }
        studentStore.store(es, i)
        teacherStore.store(et, i)
        i += 16
      }
      if i < end {
        let n = end - i
        let sv = VectorMath.loadPartial(s, i, count: n, fill: ms)
        let tv = VectorMath.loadPartial(t, i, count: n, fill: mt)
        let a = (tv - mtv) * invT
        let b = (sv - msv) * invT
        var et = VectorMath.exp(a)
        var es = VectorMath.exp(b)
        var e1 = Hard.isOn ? Hard.exponential(sv - msv, student: es) : .zero
        for j in n..<16 {
          et[j] = 0
          es[j] = 0
          e1[j] = 0
        }
        zt += et
        zs += es
        zc = VectorMath.multiplyAdd(et, a - b, zc)
        z1 += e1
        studentStore.storePartial(es, i, count: n)
        teacherStore.storePartial(et, i, count: n)
        hardStore.storePartial(e1, i, count: n)
      }
      student += Double(VectorMath.sum(zs))
      teacher += Double(VectorMath.sum(zt))
      cross += Double(VectorMath.sum(zc))
      hardTotal += Double(VectorMath.sum(z1))
      start = end
    }
    return (student, teacher, cross, hardTotal)
  }

  /// `g = ks * g - kt * teacher (+ k1 * hard)` over the row.
  @inline(__always)
  func gradientPass(
    _ g: UnsafeMutablePointer<Float>, _ teacher: UnsafePointer<Float>,
    hard: UnsafePointer<Float>?, ks: Float, kt: Float, k1: Float
  ) {
    let ksv = Vector(repeating: ks)
    let ktv = Vector(repeating: -kt)
    let k1v = Vector(repeating: k1)
    var i = 0
    if let hard {
      while i + 16 <= classes {
        var v = VectorMath.load(g, i) * ksv
        v = VectorMath.multiplyAdd(VectorMath.load(teacher, i), ktv, v)
        v = VectorMath.multiplyAdd(VectorMath.load(hard, i), k1v, v)
        VectorMath.store(v, g, i)
        i += 16
      }
      while i < classes {
        g[i] = g[i] * ks - teacher[i] * kt + hard[i] * k1
        i += 1
      }
      return
    }
    while i + 32 <= classes {
      let v0 = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i), ktv, VectorMath.load(g, i) * ksv)
      let v1 = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i + 16), ktv, VectorMath.load(g, i + 16) * ksv)
      VectorMath.store(v0, g, i)
      VectorMath.store(v1, g, i + 16)
      i += 32
    }
    while i + 16 <= classes {
      let v = VectorMath.multiplyAdd(VectorMath.load(teacher, i), ktv, VectorMath.load(g, i) * ksv)
      VectorMath.store(v, g, i)
      i += 16
    }
    while i < classes {
      g[i] = g[i] * ks - teacher[i] * kt
      i += 1
    }
  }

  /// A row with a NaN or an infinity: the reference's formulas in Double.
  func scalarRow(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, label: Int,
    gradient g: UnsafeMutablePointer<Float>?
  ) -> Double {
    let w = hardLabelWeight
    let softStudent = (0..<classes).map { Double(s[$0]) / temperature }
    let softTeacher = (0..<classes).map { Double(t[$0]) / temperature }
    var q = [Double](repeating: 0, count: classes)
    var p = [Double](repeating: 0, count: classes)
    let lseStudent = Reference.softmax(softStudent, into: &q)
    let lseTeacher = Reference.softmax(softTeacher, into: &p)
    var kl = 0.0
    for c in 0..<classes where p[c] != 0 {
      kl += p[c] * ((softTeacher[c] - lseTeacher) - (softStudent[c] - lseStudent))
    }
    var value = w == 1 ? 0 : (1 - w) * temperature * temperature * kl
    var raw = [Double]()
    var rawProbabilities = [Double]()
    if w != 0 {
      raw = (0..<classes).map { Double(s[$0]) }
      rawProbabilities = [Double](repeating: 0, count: classes)
      let lseRaw = Reference.softmax(raw, into: &rawProbabilities)
      value += w * (lseRaw - raw[label])
    }
    if let g {
      let soft = (1 - w) * temperature
      for c in 0..<classes {
        var d = soft * (q[c] - p[c])
        if w != 0 { d += w * (rawProbabilities[c] - (c == label ? 1 : 0)) }
        g[c] = Float(d * gradientScale)
      }
    }
    return value
  }
}

/// How the distillation kernel gets the hard term's `e^(s - max s)` (a generic parameter, so
/// each variant is its own specialisation with no branch in its loops).
protocol HardExponential {
  /// Whether there is a separate hard term at all.
  static var isOn: Bool { get }
  /// `e^d` for `d = s - max s`, given the student's softened `e^(d / T)`.
  static func exponential(_ d: Vector, student: Vector) -> Vector
}

/// No separate hard term (weight 0, or T = 1 where it is the student's own softmax).
enum NoHardTerm: HardExponential {
  static var isOn: Bool { false }
  @inline(__always) static func exponential(_ d: Vector, student: Vector) -> Vector { .zero }
}

/// A hard term with its own exponential.
enum HardTerm: HardExponential {
  static var isOn: Bool { true }
  @inline(__always) static func exponential(_ d: Vector, student: Vector) -> Vector {
    VectorMath.exp(d)
  }
}

/// A hard term at T = 2: `e^d = (e^(d / 2))^2`, one multiplication instead of an exponential.
enum SquaredHardTerm: HardExponential {
  static var isOn: Bool { true }
  @inline(__always) static func exponential(_ d: Vector, student: Vector) -> Vector {
    student * student
  }
}
