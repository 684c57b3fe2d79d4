import RealModule

/// The fused fp32 distillation kernel (see ``DistillationLoss``): classes on the last axis (or
/// any axis with nothing after it), every option of ``Reference/distillation``.
///
/// Per row, with `a = (t - max t) / T`, `b = (s - max s) / T` (the shifted, softened logits):
/// one read of both rows (``onlineSums(_:_:_:_:_:_:blockMaxima:)``, an online softmax per block
/// of ``FusedRows/block`` classes): the block's maxima update the running maxima (the sweep of
/// the previous block took them, so that its loads from memory overlap that block's exps), the
/// running sums of `e^a`, `e^b` and `e^a (a - b)` (and `e^(s - max s)` for the hard term when
/// `T != 1`) are rescaled in Double, then the block's exponentials are summed while it is in L1.
/// That is two exps per element (three with a hard term at a `T` other than 1, 2, 3 and 4; at
/// those it is `e^b` to the power `T`).
///
/// Forward only, that is all. With the gradient, the same sweep stores the exponentials (`e^b`
/// to the gradient row, or to a scratch row when the gradient overwrites the student; `e^a` and
/// the hard term's to scratch rows), each block's relative to its running maxima, which are
/// kept (two floats per block); then one gradient pass `g = k_s e^b - k_t e^a (+ k_1 e^(s - max
/// s))` scales each block by its own factors (`k_s e^((m_k - max s) / T)` and so on, with `m_k`
/// the block's running maxima: 1 where the maxima did not rise after it). O(C) scratch per
/// thread; no `N × C` temporaries. With `Z_t = sum e^a`, `Z_s = sum e^b`:
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
  /// The factor of each row's gradient: 1 / kept rows for `.mean`, else 1 (times the row's
  /// upstream gradient, in the copy of the kernel that runs a row that has one).
  var gradientScale: Double

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
  /// counts); `loss` holds `rows` values for `.none`, else 1. `rowScales` holds the rows'
  /// upstream gradient, if any (its gradient factors; ignored rows do not read theirs);
  /// `.mean` divides by `normalizer` when it is not nil, else by the rows that count;
  /// `threads` overrides the thread count (tests).
  static func run(
    student: UnsafePointer<Float>, teacher: UnsafePointer<Float>,
    labels: UnsafeBufferPointer<Int>?, rows: Int, classes: Int, temperature: Double,
    hardLabelWeight: Double, ignoreIndex: Int, reduction: Reduction, normalizer: Double? = nil,
    loss: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?,
    rowScales: RowScales? = nil, threads: Int? = nil
  ) {
    var kept = rows
    if let labels {
      kept = 0
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    let perRow = reduction == .none
    let scale = reduction == .mean ? 1 / (normalizer ?? Double(kept)) : 1
    let kernel = FusedDistillation(
      classes: classes, temperature: temperature, hardLabelWeight: hardLabelWeight,
      ignoreIndex: ignoreIndex, gradientScale: perRow ? 1 : scale)
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows)
    defer { terms.deallocate() }
    let threads = threads ?? Threads.count(rows: rows, elementsPerRow: 2 * classes)
    // With a gradient: the teacher's exponentials, the hard term's if separate, and the
    // student's when the gradient overwrites the student (else they go to the gradient row);
    // then the running maxima of each block (two floats per block).
    let inPlace = gradient.map { Int(bitPattern: $0) == Int(bitPattern: student) } ?? false
    let scratchRows =
      gradient == nil ? 0 : 1 + (kernel.separateHard ? 1 : 0) + (inPlace ? 1 : 0)
    let blocks = (classes + FusedRows.block - 1) / FusedRows.block
    let scratchCount = scratchRows * classes + (gradient == nil ? 0 : 2 * blocks)
    Threads.forEachRange(rows: rows, threads: threads) { range in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
      defer { scratch.deallocate() }
      for r in range {
        let offset = r * classes
        var rowKernel = kernel
        if let rowScales { rowKernel.gradientScale *= rowScales.gradientFactor(r) }
        terms[r] = rowKernel.row(
          student + offset, teacher + offset, label: labels?[r],
          gradient: gradient.map { $0 + offset }, teacherScratch: scratch,
          hardScratch: scratch + classes,
          studentScratch: inPlace ? scratch + (scratchRows - 1) * classes : nil,
          blockMaxima: scratch + scratchRows * classes)
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
  /// `classes` floats each; `hardScratch` is used only with a separate hard term;
  /// `blockMaxima` holds two floats per ``FusedRows/block``). `g` may be `s`: then
  /// `studentScratch` holds the student's exponentials (else they go to `g`), so that `s` is
  /// read whole before the gradient pass writes it (the scalar path needs it).
  @inline(__always)
  func row(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, label: Int?,
    gradient g: UnsafeMutablePointer<Float>?, teacherScratch: UnsafeMutablePointer<Float>,
    hardScratch: UnsafeMutablePointer<Float>, studentScratch: UnsafeMutablePointer<Float>?,
    blockMaxima: UnsafeMutablePointer<Float>
  ) -> Double {
    if let label, label == ignoreIndex {
      if let g { g.update(repeating: 0, count: classes) }
      return 0
    }
    let y = label ?? 0
    let w = hardLabelWeight
    guard let g else { return forwardRow(s, t, label: y) }
    let es = studentScratch ?? g
    let sums = storedSums(
      s, t, student: es, teacher: teacherScratch, hard: hardScratch, blockMaxima: blockMaxima)
    guard sums.ms.isFinite, sums.mt.isFinite, sums.teacher.isFinite, sums.student.isFinite,
      sums.cross.isFinite, sums.hard.isFinite
    else { return scalarRow(s, t, label: y, gradient: g) }
    let hardSum = separateHard ? sums.hard : sums.student
    var value = 0.0
    if w != 1 {
      let kl = sums.cross / sums.teacher + .log(sums.student) - .log(sums.teacher)
      value = (1 - w) * temperature * temperature * kl
    }
    if w != 0 { value += w * (Double(sums.ms) + .log(hardSum) - Double(s[y])) }

    // The stored exponentials of block k are relative to that block's running maxima: the
    // gradient pass scales each block by its own factors (1 where the maxima did not rise
    // after it). The label's element is evaluated in Double before the pass.
    let soft = (1 - w) * temperature
    var labelGradient = 0.0
    if w != 0 {
      let f = factors(blockMaxima, y / FusedRows.block, sums)
      let e1 = separateHard ? Double(hardScratch[y]) * f.hard : Double(es[y]) * f.student
      labelGradient =
        soft
        * (Double(es[y]) * f.student / sums.student
          - Double(teacherScratch[y]) * f.teacher / sums.teacher)
        + w * (e1 / hardSum - 1)
    }
    var ks = gradientScale * soft / sums.student
    let kt = gradientScale * soft / sums.teacher
    let k1 = gradientScale * w / hardSum
    if w != 0 && !separateHard { ks += k1 }
    let hard = separateHard ? UnsafePointer(hardScratch) : nil
    var start = 0
    var k = 0
    while start < classes {
      let count = min(FusedRows.block, classes - start)
      let f = factors(blockMaxima, k, sums)
      gradientPass(
        g + start, UnsafePointer(es + start), teacherScratch + start, hard: hard.map { $0 + start },
        count: count, ks: Float(ks * f.student), kt: Float(kt * f.teacher),
        k1: Float(k1 * f.hard))
      start += count
      k += 1
    }
    if w != 0 { g[y] = Float(labelGradient * gradientScale) }
    return value
  }

  /// The factors that bring block `k`'s stored exponentials (relative to its running maxima
  /// `m_k`) to the row's maxima `m`: `e^((m_k - m) / T)` for the student and the teacher, and
  /// the hard term's `e^(m_k - m)` (the student's factor when the hard term has no
  /// exponentials of its own). Exactly 1 where the maxima did not rise after block k.
  @inline(__always)
  func factors(
    _ blockMaxima: UnsafeMutablePointer<Float>, _ k: Int, _ sums: OnlineSums
  ) -> (student: Double, teacher: Double, hard: Double) {
    let bs = blockMaxima[2 * k]
    let bt = blockMaxima[2 * k + 1]
    let ds = Double(bs) - Double(sums.ms)
    let student = bs == sums.ms ? 1 : Double.exp(ds / temperature)
    let teacher = bt == sums.mt ? 1 : Double.exp((Double(bt) - Double(sums.mt)) / temperature)
    let hard = !separateHard || bs == sums.ms ? student : Double.exp(ds)
    return (student, teacher, hard)
  }

  /// The loss of one row without its gradient: one read of both rows (``onlineSums``).
  @inline(__always)
  func forwardRow(_ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, label y: Int) -> Double {
    let sums: OnlineSums
    let none = FusedRows.NoStore()
    switch hardPolicy {
    case .none: sums = onlineSums(s, t, none, none, none, NoHardTerm.self, blockMaxima: nil)
    case .square:
      sums = onlineSums(
        s, t, none, none, none, PowerHardTerm<Temperature.Two>.self, blockMaxima: nil)
    case .cube:
      sums = onlineSums(
        s, t, none, none, none, PowerHardTerm<Temperature.Three>.self, blockMaxima: nil)
    case .fourthPower:
      sums = onlineSums(
        s, t, none, none, none, PowerHardTerm<Temperature.Four>.self, blockMaxima: nil)
    case .exponential:
      sums = onlineSums(s, t, none, none, none, HardTerm.self, blockMaxima: nil)
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

  /// The sums of one row with its gradient (``onlineSums``), storing the exponentials:
  /// `e^b` to `student`, `e^a` to `teacher`, the hard term's `e^(s - m_s)` to `hard` (each
  /// relative to its block's running maxima, which go to `blockMaxima`).
  @inline(__always)
  func storedSums(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, student: UnsafeMutablePointer<Float>,
    teacher: UnsafeMutablePointer<Float>, hard: UnsafeMutablePointer<Float>,
    blockMaxima: UnsafeMutablePointer<Float>
  ) -> OnlineSums {
    // The variants are policy types, so that the hot loop has no branch (a branch there splits
    // the 16-lane code into 4-lane pieces).
    let es = FusedRows.Store(pointer: student)
    let et = FusedRows.Store(pointer: teacher)
    let e1 = FusedRows.Store(pointer: hard)
    let m = blockMaxima
    switch hardPolicy {
    case .none:
      return onlineSums(s, t, es, et, FusedRows.NoStore(), NoHardTerm.self, blockMaxima: m)
    case .square:
      return onlineSums(s, t, es, et, e1, PowerHardTerm<Temperature.Two>.self, blockMaxima: m)
    case .cube:
      return onlineSums(s, t, es, et, e1, PowerHardTerm<Temperature.Three>.self, blockMaxima: m)
    case .fourthPower:
      return onlineSums(s, t, es, et, e1, PowerHardTerm<Temperature.Four>.self, blockMaxima: m)
    case .exponential: return onlineSums(s, t, es, et, e1, HardTerm.self, blockMaxima: m)
    }
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
  /// then the block's exponentials, relative to the running maxima, are summed (and stored, by
  /// the store policies) while the block is in L1. The sweep over block k also takes the
  /// maxima of block k + 1, so that its loads from memory overlap block k's exponentials. With
  /// `d_s`, `d_t` the increase of the softened maxima (`(new max - old max) / T`), the cross
  /// term rescales as
  ///
  /// ```
  /// sum e^(a - d_t) ((a - d_t) - (b - d_s)) = e^(-d_t) (cross + (d_s - d_t) Z_t)
  /// ```
  ///
  /// The running maxima each block's exponentials are relative to go to `blockMaxima` (student,
  /// teacher per block) when it is not nil. A non-finite maximum or sum is the caller's to
  /// handle (the scalar path).
  @inline(never)
  func onlineSums<
    S: FusedRows.StorePolicy, T: FusedRows.StorePolicy, H: FusedRows.StorePolicy,
    Hard: HardExponential
  >(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ studentStore: S, _ teacherStore: T,
    _ hardStore: H, _: Hard.Type, blockMaxima: UnsafeMutablePointer<Float>?
  ) -> OnlineSums {
    var sums = OnlineSums(ms: -.infinity, mt: -.infinity, student: 0, teacher: 0, cross: 0, hard: 0)
    let block = FusedRows.block
    var (bs, bt) = maxima(s, t, count: min(block, classes))
    var start = 0
    var k = 0
    while start < classes {
      let end = min(start + block, classes)
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
      if let blockMaxima {
        blockMaxima[2 * k] = ms
        blockMaxima[2 * k + 1] = mt
      }
      let sweep: BlockSums
      if end + block <= classes {
        sweep = exponentialSums(
          s, t, start: start, end: end, ms, mt, studentStore, teacherStore, hardStore, Hard.self,
          NextBlock.self)
        (bs, bt) = (sweep.nextStudent, sweep.nextTeacher)
      } else {
        sweep = exponentialSums(
          s, t, start: start, end: end, ms, mt, studentStore, teacherStore, hardStore, Hard.self,
          LastBlocks.self)
        if end < classes { (bs, bt) = maxima(s + end, t + end, count: classes - end) }
      }
      sums.student += sweep.student
      sums.teacher += sweep.teacher
      sums.cross += sweep.cross
      sums.hard += sweep.hard
      start = end
      k += 1
    }
    return sums
  }

  /// The sums of one block, and the maxima of the next block if the sweep took them (else
  /// -inf).
  struct BlockSums {
    var student: Double
    var teacher: Double
    var cross: Double
    var hard: Double
    var nextStudent: Float
    var nextTeacher: Float
  }

  /// One block `start..<end` of a row: `Z_s = sum e^b`, `Z_t = sum e^a`, `sum e^a (a - b)`
  /// and, with a separate hard term, `sum e^(s - ms)` (else 0), relative to `ms` and `mt`,
  /// summed in fp32 lanes; the stores get the exponentials at their classes. With
  /// ``NextBlock``, the same sweep takes the maxima of the ``FusedRows/block`` classes after
  /// `end` (which must all be in the row).
  ///
  /// Not inlined: each variant keeps its own branch-free loop (inlined into a switch, the
  /// forward-only variant's loop was split into 4-lane pieces). The cross term's `a - b` is
  /// `fma(s - max s, -1/T, a)`: written as `a - b`, Swift 6.3's LLVM split both 16-lane chains
  /// into shuffled 4-lane pieces (twice the instructions); the FMA also rounds once, not twice.
  @inline(never)
  func exponentialSums<
    S: FusedRows.StorePolicy, T: FusedRows.StorePolicy, H: FusedRows.StorePolicy,
    Hard: HardExponential, Next: BlockLookahead
  >(
    _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, start: Int, end: Int, _ ms: Float,
    _ mt: Float, _ studentStore: S, _ teacherStore: T, _ hardStore: H, _: Hard.Type,
    _: Next.Type
  ) -> BlockSums {
    let invT = Vector(repeating: Float(1 / temperature))
    let negativeInvT = -invT
    let msv = Vector(repeating: ms)
    let mtv = Vector(repeating: mt)
    let ahead = FusedRows.block
    var zs = Vector.zero
    var zt = Vector.zero
    var zc = Vector.zero
    var z1 = Vector.zero
    var ns = Vector(repeating: -.infinity)
    var nt = ns
    var i = start
    while i + 16 <= end {
      if Next.isOn {
        ns = VectorMath.maximum(ns, VectorMath.load(s, i + ahead))
        nt = VectorMath.maximum(nt, VectorMath.load(t, i + ahead))
      }
      let sv = VectorMath.load(s, i)
      let tv = VectorMath.load(t, i)
      let a = (tv - mtv) * invT
      let d = sv - msv
      let b = d * invT
      let et = VectorMath.expOfNonPositive(a)
      let es = VectorMath.expOfNonPositive(b)
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
      var et = VectorMath.expOfNonPositive(a)
      var es = VectorMath.expOfNonPositive(b)
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
    return BlockSums(
      student: Double(VectorMath.sum(zs)), teacher: Double(VectorMath.sum(zt)),
      cross: Double(VectorMath.sum(zc)), hard: Double(VectorMath.sum(z1)),
      nextStudent: VectorMath.maximum(ns), nextTeacher: VectorMath.maximum(nt))
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

  /// `g = ks * student - kt * teacher (+ k1 * hard)` over `count` classes (`student` may be
  /// `g`).
  @inline(__always)
  func gradientPass(
    _ g: UnsafeMutablePointer<Float>, _ student: UnsafePointer<Float>,
    _ teacher: UnsafePointer<Float>, hard: UnsafePointer<Float>?, count: Int, ks: Float,
    kt: Float, k1: Float
  ) {
    let ksv = Vector(repeating: ks)
    let ktv = Vector(repeating: -kt)
    let k1v = Vector(repeating: k1)
    var i = 0
    if let hard {
      while i + 16 <= count {
        var v = VectorMath.load(student, i) * ksv
        v = VectorMath.multiplyAdd(VectorMath.load(teacher, i), ktv, v)
        v = VectorMath.multiplyAdd(VectorMath.load(hard, i), k1v, v)
        VectorMath.store(v, g, i)
        i += 16
      }
      while i < count {
        g[i] = student[i] * ks - teacher[i] * kt + hard[i] * k1
        i += 1
      }
      return
    }
    while i + 32 <= count {
      let v0 = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i), ktv, VectorMath.load(student, i) * ksv)
      let v1 = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i + 16), ktv, VectorMath.load(student, i + 16) * ksv)
      VectorMath.store(v0, g, i)
      VectorMath.store(v1, g, i + 16)
      i += 32
    }
    while i + 16 <= count {
      let v = VectorMath.multiplyAdd(
        VectorMath.load(teacher, i), ktv, VectorMath.load(student, i) * ksv)
      VectorMath.store(v, g, i)
      i += 16
    }
    while i < count {
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
      kl +=
        p[c]
        * (lseTeacher.logProbability(softTeacher[c]) - lseStudent.logProbability(softStudent[c]))
    }
    var value = w == 1 ? 0 : (1 - w) * temperature * temperature * kl
    var raw = [Double]()
    var rawProbabilities = [Double]()
    if w != 0 {
      raw = (0..<classes).map { Double(s[$0]) }
      rawProbabilities = [Double](repeating: 0, count: classes)
      let lseRaw = Reference.softmax(raw, into: &rawProbabilities)
      value -= w * lseRaw.logProbability(raw[label])
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

// MARK: - Policies

/// The policy types of the kernel (generic parameters, so that each variant is its own
/// specialisation with no branch in its loops).
extension FusedDistillation {
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
      VectorMath.expOfNonPositive(d)
    }
  }

  /// A whole temperature `T` in 2...4 (a type, so that ``PowerHardTerm`` specialises per `T`).
  protocol WholeTemperature {
    /// `v^T`, by multiplication.
    static func power(_ v: Vector) -> Vector
  }

  /// The whole temperatures the hard term takes as powers.
  enum Temperature {
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

  /// Whether a block's sweep also takes the maxima of the next block (a generic parameter, so
  /// that the loop has no branch).
  protocol BlockLookahead {
    static var isOn: Bool { get }
  }

  /// The sweep takes the maxima of the next ``FusedRows/block`` classes.
  enum NextBlock: BlockLookahead {
    static var isOn: Bool { true }
  }

  /// The sweep takes no maxima (the next block is short, or there is none).
  enum LastBlocks: BlockLookahead {
    static var isOn: Bool { false }
  }
}
