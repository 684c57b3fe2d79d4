import RealModule

/// The fused fp32 distillation kernel (see ``DistillationLoss``): classes on the last axis (or
/// any axis with nothing after it), every option of ``Reference/distillation``.
///
/// Forward only, per row: one read of both rows (``onlineSums(_:_:_:)``: per block of
/// ``FusedRows/block`` classes, the block maxima, one rescale of the running sums, then the
/// block's exponentials while it is in L1), two exps per element.
///
/// With the gradient, per row, with `a = (t - max t) / T`, `b = (s - max s) / T` (the shifted,
/// softened logits): a max pass over both rows; one pass that sums `e^a`, `e^b` and
/// `e^a (a - b)` (and `e^(s - max s)` for the hard term when `T != 1`), storing the
/// exponentials; a gradient pass `g = k_s e^b - k_t e^a (+ k_1 e^(s - max s))`. That is two
/// exps per element (three with a hard term at a `T` other than 1, 2, 3 and 4; at those it is
/// `e^b` to the power `T`) and O(C) scratch per thread; no `N × C` temporaries. With
/// `Z_t = sum e^a`, `Z_s = sum e^b`:
///
/// ```
/// KL(p || q) = sum_c e^a_c (a_c - b_c) / Z_t + log Z_s - log Z_t
/// ```
///
/// Working in shifted coordinates keeps the cancellation in KL to the size of the difference
/// between the two distributions (a student that equals the teacher gives exactly 0 when
/// `1 / T` is a power of two, else a rounding error of the softened logits).
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

  /// How the hard term's `e^(s - max s)` is computed: not at all, as a power of the student's
  /// `e^((s - max s) / T)` for T = 2, 3, 4 (one or two multiplications), or by its own exp.
  enum HardPolicy { case none, square, cube, fourthPower, exponential }

  /// This kernel's ``HardPolicy``.
  var hardPolicy: HardPolicy {
    guard separateHard else { return .none }
    switch temperature {
    case 2: return .square
    case 3: return .cube
    case 4: return .fourthPower
    default: return .exponential
    }
  }

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
    // With a gradient: the teacher's exponentials, the hard term's if separate, and the
    // student's when the gradient overwrites the student (else they go to the gradient row).
    let inPlace = gradient.map { Int(bitPattern: $0) == Int(bitPattern: student) } ?? false
    let scratchRows =
      gradient == nil ? 0 : 1 + (kernel.separateHard ? 1 : 0) + (inPlace ? 1 : 0)
    Threads.forEachRange(rows: rows, threads: threads) { range in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchRows * classes)
      defer { scratch.deallocate() }
      for r in range {
        let offset = r * classes
        terms[r] = kernel.row(
          student + offset, teacher + offset, label: labels?[r],
          gradient: gradient.map { $0 + offset }, teacherScratch: scratch,
          hardScratch: scratch + classes,
          studentScratch: inPlace ? scratch + (scratchRows - 1) * classes : nil)
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
  /// `classes` floats each; `hardScratch` is used only with a separate hard term). `g` may be
  /// `s`: then `studentScratch` holds the student's exponentials (else they go to `g`), so that
  /// `s` is read whole before the gradient pass writes it (the scalar path needs it).
  @inline(__always)
  func row(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, label: Int?,
    gradient g: UnsafeMutablePointer<Float>?, teacherScratch: UnsafeMutablePointer<Float>,
    hardScratch: UnsafeMutablePointer<Float>, studentScratch: UnsafeMutablePointer<Float>?
  ) -> Double {
    if let label, label == ignoreIndex {
      if let g { g.update(repeating: 0, count: classes) }
      return 0
    }
    let y = label ?? 0
    let w = hardLabelWeight
    guard let g else { return forwardRow(s, t, label: y) }
    let (ms, mt) = maxima(s, t, count: classes)
    guard ms.isFinite, mt.isFinite else { return scalarRow(s, t, label: y, gradient: g) }
    let es = studentScratch ?? g
    let sums = exponentialSums(
      s, t, ms: ms, mt: mt, gradient: es, teacherScratch: teacherScratch,
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

    // The label's element, evaluated in Double from the stored exponentials before the pass.
    let soft = (1 - w) * temperature
    var labelGradient = 0.0
    if w != 0 {
      let e1 = Double(separateHard ? hardScratch[y] : es[y])
      labelGradient =
        soft * (Double(es[y]) / sums.student - Double(teacherScratch[y]) / sums.teacher)
        + w * (e1 / hardSum - 1)
    }
    var ks = gradientScale * soft / sums.student
    let kt = gradientScale * soft / sums.teacher
    let k1 = gradientScale * w / hardSum
    if w != 0 && !separateHard { ks += k1 }
    gradientPass(
      g, UnsafePointer(es), teacherScratch,
      hard: separateHard ? UnsafePointer(hardScratch) : nil, ks: Float(ks), kt: Float(kt),
      k1: Float(k1))
    if w != 0 { g[y] = Float(labelGradient * gradientScale) }
    return value
  }

  /// The loss of one row without its gradient: one read of both rows (``onlineSums(_:_:_:)``).
  @inline(__always)
  func forwardRow(_ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, label y: Int) -> Double {
    let sums: OnlineSums
    switch hardPolicy {
    case .none: sums = onlineSums(s, t, NoHardTerm.self)
    case .square: sums = onlineSums(s, t, PowerHardTerm<Two>.self)
    case .cube: sums = onlineSums(s, t, PowerHardTerm<Three>.self)
    case .fourthPower: sums = onlineSums(s, t, PowerHardTerm<Four>.self)
    case .exponential: sums = onlineSums(s, t, HardTerm.self)
    }
    guard sums.ms.isFinite, sums.mt.isFinite, sums.teacher.isFinite, sums.student.isFinite,
      sums.cross.isFinite, sums.hard.isFinite
    else { return scalarRow(s, t, label: y, gradient: nil) }
    let w = hardLabelWeight
    var value = 0.0
    if w != 1 {
      let kl = sums.cross / sums.teacher + .log(sums.student) - .log(sums.teacher)
      value = (1 - w) * temperature * temperature * kl
    }
    if w != 0 {
      let hardSum = separateHard ? sums.hard : sums.student
      value += w * (Double(sums.ms) + .log(hardSum) - Double(s[y]))
    }
    return value
  }

  /// The row maxima `ms`, `mt` and the row's sums `Z_s`, `Z_t`, `sum e^a (a - b)` and the hard
  /// term's `sum e^(s - ms)`, relative to them.
  struct OnlineSums {
    var ms: Float
    var mt: Float
    var student: Double
    var teacher: Double
    var cross: Double
    var hard: Double
  }

  /// The sums of one row in one read of both rows (online softmax, per ``FusedRows/block``):
  /// each block's maxima update the running maxima, the running sums are rescaled in Double,
  /// then the block's exponentials are summed while it is in L1. With `d_s`, `d_t` the increase
  /// of the softened maxima (`(new max - old max) / T`), the cross term rescales as
  ///
  /// ```
  /// sum e^(a - d_t) ((a - d_t) - (b - d_s)) = e^(-d_t) (cross + (d_s - d_t) Z_t)
  /// ```
  ///
  /// A non-finite maximum or sum is the caller's to handle (the scalar path).
  @inline(never)
  func onlineSums<Hard: HardExponential>(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _: Hard.Type
  ) -> OnlineSums {
    var sums = OnlineSums(ms: -.infinity, mt: -.infinity, student: 0, teacher: 0, cross: 0, hard: 0)
    var start = 0
    while start < classes {
      let count = min(FusedRows.block, classes - start)
      let (bs, bt) = maxima(s + start, t + start, count: count)
      let ms = bs > sums.ms ? bs : sums.ms
      let mt = bt > sums.mt ? bt : sums.mt
      if start > 0 && (ms != sums.ms || mt != sums.mt) {
        let ds = (Double(ms) - Double(sums.ms)) / temperature
        let dt = (Double(mt) - Double(sums.mt)) / temperature
        let ft = Double.exp(-dt)
        sums.cross = ft * (sums.cross + (ds - dt) * sums.teacher)
        sums.teacher *= ft
        sums.student *= .exp(-ds)
        if Hard.isOn { sums.hard *= .exp(Double(sums.ms) - Double(ms)) }
      }
      sums.ms = ms
      sums.mt = mt
      let block = exponentialSums(
        s + start, t + start, ms, mt, count: count, NoStore(), NoStore(), NoStore(), Hard.self)
      sums.student += block.student
      sums.teacher += block.teacher
      sums.cross += block.cross
      sums.hard += block.hard
      start += count
    }
    return sums
  }

  /// The maxima of the student's and the teacher's row in one sweep over both, ignoring NaN
  /// (as ``FusedRows/maximum(_:count:_:)``).
  @inline(__always)
  func maxima(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int
  ) -> (Float, Float) {
    var s0 = Vector(repeating: -.infinity)
    var s1 = s0
    var t0 = s0
    var t1 = s0
    var i = 0
    while i + 32 <= count {
      s0 = VectorMath.maximum(s0, VectorMath.load(s, i))
      t0 = VectorMath.maximum(t0, VectorMath.load(t, i))
      s1 = VectorMath.maximum(s1, VectorMath.load(s, i + 16))
      t1 = VectorMath.maximum(t1, VectorMath.load(t, i + 16))
      i += 32
    }
    while i + 16 <= count {
      s0 = VectorMath.maximum(s0, VectorMath.load(s, i))
      t0 = VectorMath.maximum(t0, VectorMath.load(t, i))
      i += 16
    }
    if i < count {
      let n = count - i
      s1 = VectorMath.maximum(s1, VectorMath.loadPartial(s, i, count: n, fill: -.infinity))
      t1 = VectorMath.maximum(t1, VectorMath.loadPartial(t, i, count: n, fill: -.infinity))
    }
    return (
      VectorMath.maximum(VectorMath.maximum(s0, s1)), VectorMath.maximum(VectorMath.maximum(t0, t1))
    )
  }

  /// The sums of one row with its gradient: `Z_s = sum e^b`, `Z_t = sum e^a`,
  /// `sum e^a (a - b)` and, with a separate hard term, `sum e^(s - max s)` (else 0); `e^b` goes
  /// to `g`, `e^a` to `teacherScratch` and `e^(s - max s)` to `hardScratch`. fp32 lanes,
  /// flushed to Double every ``FusedRows/block`` elements.
  @inline(__always)
  func exponentialSums(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, ms: Float, mt: Float,
    gradient g: UnsafeMutablePointer<Float>, teacherScratch: UnsafeMutablePointer<Float>,
    hardScratch: UnsafeMutablePointer<Float>
  ) -> (student: Double, teacher: Double, cross: Double, hard: Double) {
    // The variants are policy types, so that the hot loop has no branch (a branch there splits
    // the 16-lane code into 4-lane pieces).
    let student = Store(pointer: g)
    let teacher = Store(pointer: teacherScratch)
    let hard = Store(pointer: hardScratch)
    switch hardPolicy {
    case .none:
      return exponentialSums(
        s, t, ms, mt, count: classes, student, teacher, NoStore(), NoHardTerm.self)
    case .square:
      return exponentialSums(
        s, t, ms, mt, count: classes, student, teacher, hard, PowerHardTerm<Two>.self)
    case .cube:
      return exponentialSums(
        s, t, ms, mt, count: classes, student, teacher, hard, PowerHardTerm<Three>.self)
    case .fourthPower:
      return exponentialSums(
        s, t, ms, mt, count: classes, student, teacher, hard, PowerHardTerm<Four>.self)
    case .exponential:
      return exponentialSums(s, t, ms, mt, count: classes, student, teacher, hard, HardTerm.self)
    }
  }

  // Not inlined: each variant keeps its own branch-free loop (inlined into the switch above,
  // the forward-only variant's loop was split into 4-lane pieces). The cross term's `a - b` is
  // `fma(s - max s, -1/T, a)`: written as `a - b`, Swift 6.3's LLVM split both 16-lane chains
  // into shuffled 4-lane pieces (twice the instructions); the FMA also rounds once, not twice.
  @inline(never)
  func exponentialSums<S: StorePolicy, T: StorePolicy, H: StorePolicy, Hard: HardExponential>(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ ms: Float, _ mt: Float,
    count: Int, _ studentStore: S, _ teacherStore: T, _ hardStore: H, _: Hard.Type
  ) -> (student: Double, teacher: Double, cross: Double, hard: Double) {
    let invT = Vector(repeating: Float(1 / temperature))
    let negativeInvT = -invT
    let msv = Vector(repeating: ms)
    let mtv = Vector(repeating: mt)
    var student = 0.0
    var teacher = 0.0
    var cross = 0.0
    var hardTotal = 0.0
    var start = 0
    while start < count {
      let end = min(start + FusedRows.block, count)
      var zs = Vector.zero
      var zt = Vector.zero
      var zc = Vector.zero
      var z1 = Vector.zero
      var i = start
      while i + 16 <= end {
        let sv = VectorMath.load(s, i)
        let tv = VectorMath.load(t, i)
        let a = (tv - mtv) * invT
        let d = sv - msv
        let b = d * invT
        let et = Self.exponential(a)
        let es = Self.exponential(b)
        zt += et
        zs += es
        zc = VectorMath.multiplyAdd(et, VectorMath.multiplyAdd(d, negativeInvT, a), zc)
        if Hard.isOn {
          let e1 = Hard.exponential(d, student: es)
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
        let d = sv - msv
        let b = d * invT
        var et = Self.exponential(a)
        var es = Self.exponential(b)
        var e1 = Hard.isOn ? Hard.exponential(d, student: es) : .zero
        for j in n..<16 {
          et[j] = 0
          es[j] = 0
          e1[j] = 0
        }
        zt += et
        zs += es
        zc = VectorMath.multiplyAdd(et, VectorMath.multiplyAdd(d, negativeInvT, a), zc)
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

  /// `e^x` for `x <= 0` (or NaN), as `VectorMath.exp(_:)` computes it, bit for bit,
  /// without its clamps: the range reduction and polynomial run on every lane, then lanes
  /// below `VectorMath.expLowerBound` (-inf included, whose lanes hold NaN by then) are
  /// cleared with a bit mask. The kernel's arguments are shifted by their maximum, so never
  /// positive; two compares and blends fewer per exp (4 of about 22 instructions).
  @inline(__always)
  static func exponential(_ x: Vector) -> Vector {
    let log2e: Float = 1.442_695_04
    let magic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer.
    let ln2High: Float = 0.693_359_375
    let ln2Low: Float = -2.121_944_4e-4
    let shifted = VectorMath.multiplyAdd(x, Vector(repeating: log2e), Vector(repeating: magic))
    let n = shifted - magic
    var f = VectorMath.multiplyAdd(n, Vector(repeating: -ln2High), x)
    f = VectorMath.multiplyAdd(n, Vector(repeating: -ln2Low), f)
    var p = VectorMath.multiplyAdd(
      Vector(repeating: 1.987_569_15e-4), f, Vector(repeating: 1.398_199_950_7e-3))
    p = VectorMath.multiplyAdd(p, f, Vector(repeating: 8.333_451_907_3e-3))
    p = VectorMath.multiplyAdd(p, f, Vector(repeating: 4.166_579_589_4e-2))
    p = VectorMath.multiplyAdd(p, f, Vector(repeating: 1.666_666_545_9e-1))
    p = VectorMath.multiplyAdd(p, f, Vector(repeating: 5.000_000_120_1e-1))
    let f2 = f * f
    p = VectorMath.multiplyAdd(p, f2, f) + 1
    let bits = unsafeBitCast(shifted, to: SIMD16<UInt32>.self)
    let scale = unsafeBitCast((bits &+ 127) &<< 23, to: Vector.self)
    let result = unsafeBitCast(p * scale, to: SIMD16<UInt32>.self)
    let keep = unsafeBitCast(.!(x .< VectorMath.expLowerBound), to: SIMD16<UInt32>.self)
    return unsafeBitCast(result & keep, to: Vector.self)
  }

  /// `g = ks * student - kt * teacher (+ k1 * hard)` over the row (`student` may be `g`).
  @inline(__always)
  func gradientPass(
    _ g: UnsafeMutablePointer<Float>, _ student: UnsafePointer<Float>,
    _ teacher: UnsafePointer<Float>,
    hard: UnsafePointer<Float>?, ks: Float, kt: Float, k1: Float
  ) {
    let ksv = Vector(repeating: ks)
    let ktv = Vector(repeating: -kt)
    let k1v = Vector(repeating: k1)
    var i = 0
    if let hard {
      while i + 16 <= classes {
        var v = VectorMath.load(student, i) * ksv
        v = VectorMath.multiplyAdd(VectorMath.load(teacher, i), ktv, v)
        v = VectorMath.multiplyAdd(VectorMath.load(hard, i), k1v, v)
        VectorMath.store(v, g, i)
        i += 16
      }
      while i < classes {
        g[i] = student[i] * ks - teacher[i] * kt + hard[i] * k1
        i += 1
      }
      return
    }
    while i + 32 <= classes {
      let v0 = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i), ktv, VectorMath.load(student, i) * ksv)
      let v1 = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i + 16), ktv, VectorMath.load(student, i + 16) * ksv)
      VectorMath.store(v0, g, i)
      VectorMath.store(v1, g, i + 16)
      i += 32
    }
    while i + 16 <= classes {
      let v = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i), ktv, VectorMath.load(student, i) * ksv)
      VectorMath.store(v, g, i)
      i += 16
    }
    while i < classes {
      g[i] = student[i] * ks - teacher[i] * kt
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
    FusedDistillation.exponential(d)
  }
}

/// A whole temperature `T` in 2...4 (a type, so that ``PowerHardTerm`` specialises per `T`).
protocol WholeTemperature {
  /// `v^T`, by multiplication.
  static func power(_ v: Vector) -> Vector
}

/// T = 2.
enum Two: WholeTemperature {
  @inline(__always) static func power(_ v: Vector) -> Vector { v * v }
}

/// T = 3.
enum Three: WholeTemperature {
  @inline(__always) static func power(_ v: Vector) -> Vector { v * v * v }
}

/// T = 4.
enum Four: WholeTemperature {
  @inline(__always) static func power(_ v: Vector) -> Vector {
    let square = v * v
    return square * square
  }
}

/// A hard term at a whole temperature `T` in 2...4: `e^d = (e^(d / T))^T`, one or two
/// multiplications instead of an exponential (the relative error grows to about `T` times the
/// exp's; below `T * expLowerBound` both give 0, between them the power may keep a subnormal
/// that the exp flushes, far below anything the row's sum can see).
enum PowerHardTerm<T: WholeTemperature>: HardExponential {
  static var isOn: Bool { true }
  @inline(__always) static func exponential(_ d: Vector, student: Vector) -> Vector {
    T.power(student)
  }
}
