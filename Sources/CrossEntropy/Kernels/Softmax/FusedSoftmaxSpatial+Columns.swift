/// The column passes of ``FusedSoftmaxSpatial``: the first walks the classes of 16 neighbouring
/// positions at a stride of `inner`, one 16-lane vector per class, copying them into a
/// contiguous scratch that the others walk. None allocates; none calls libm. The variants
/// (lanes, side sums, gradient addend) are generic policy types, so that each loop is
/// specialised with no branch inside.
extension FusedSoftmaxSpatial {
  /// Class-index labels: one column's terms (the sums over its lanes of the NLL and smoothing
  /// terms), its losses if `loss` is not nil (`.none`), its gradient if `gradient` is not nil.
  @inline(__always)
  func labelColumn<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, labels: UnsafeBufferPointer<Int>, o: Int, p0: Int, count: Int,
    gradient: UnsafeMutablePointer<E.Stored>?, scratch: UnsafeMutablePointer<Float>,
    lanes: UnsafeMutablePointer<Float>, loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    if count == 16 {
      return labelColumn(x, labels, o, p0, FullColumn(), gradient, scratch, lanes, loss, e)
    }
    return labelColumn(
      x, labels, o, p0, PartialColumn(count: count, buffer: lanes + 80), gradient, scratch,
      lanes, loss, e)
  }

  @inline(__always)
  func labelColumn<E: KernelStorage, A: ColumnAccess>(
    _ x: UnsafePointer<E.Stored>, _ labels: UnsafeBufferPointer<Int>, _ o: Int, _ p0: Int,
    _ a: A, _ gradient: UnsafeMutablePointer<E.Stored>?, _ scratch: UnsafeMutablePointer<Float>,
    _ lanes: UnsafeMutablePointer<Float>, _ loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    switch (row.side, row.addend) {
    case (.plain, .constant(let value)):
      return labelColumn(
        x, labels, o, p0, a, gradient, scratch, lanes, loss, PlainColumnSide(),
        ConstantColumnAddend(value: value, lanes: .zero), e)
    case (.weighted(let w), .perClass(let values)):
      return labelColumn(
        x, labels, o, p0, a, gradient, scratch, lanes, loss, WeightedColumnSide(weights: w),
        PerClassColumnAddend(values: values, active: .zero), e)
    default:
      return labelColumn(
        x, labels, o, p0, a, gradient, scratch, lanes, loss, NoColumnSide(), NoColumnAddend(),
        e)
    }
  }

  @inline(__always)
  func labelColumn<
    E: KernelStorage, A: ColumnAccess, T: ColumnSide, D: ColumnAddend
  >(
    _ x: UnsafePointer<E.Stored>, _ labels: UnsafeBufferPointer<Int>, _ o: Int, _ p0: Int,
    _ a: A, _ gradient: UnsafeMutablePointer<E.Stored>?, _ copy: UnsafeMutablePointer<Float>,
    _ lanes: UnsafeMutablePointer<Float>, _ loss: UnsafeMutablePointer<Float>?, _ side: T,
    _ add: D, _ e: E.Type
  ) -> (Double, Double) {
    let base = o * classes * inner + p0
    let firstRow = o * inner + p0
    let m = Self.columnMaximum(x + base, classes, inner, copy, a, e)
    // A lane whose maximum is +inf or -inf (only -inf and NaN): the reference's formulas.
    if VectorMath.sum(m * 0).isNaN {
      return scalarSpatialRows(
        x, labels: labels, targets: nil, o: o, p0: p0, count: a.count, gradient: gradient,
        loss: loss, e)
    }
    // Per lane: the label's logit, weight and smoothing addend (read before the exp pass
    // overwrites the copy), and whether the label counts.
    let activeBits = UnsafeMutableRawPointer(lanes + 48).assumingMemoryBound(to: UInt32.self)
    for k in 0..<16 {
      lanes[k] = 0
      lanes[16 + k] = 0
      lanes[32 + k] = 0
      activeBits[k] = 0
    }
    for k in 0..<a.count {
      let label = labels[firstRow + k]
      if label == row.ignoreIndex { continue }
      lanes[k] = copy[label * 16 + k]
      lanes[16 + k] = row.weights.map { $0[label] } ?? 1
      lanes[32 + k] = add.value(at: label)
      activeBits[k] = ~0
    }
    let labelLogit = VectorMath.load(lanes, 0)
    let labelWeight = VectorMath.load(lanes, 16)
    let labelAddend = VectorMath.load(lanes, 32)
    let active = unsafeBitCast(VectorMath.load(lanes, 48), to: SIMD16<UInt32>.self)
    let stats =
      gradient == nil
      ? Self.columnStatistics(copy, classes, m, side, NoColumnStore())
      : Self.columnStatistics(copy, classes, m, side, ColumnExps(pointer: copy))
    let logSum = VectorMath.log(stats.sum)
    let nll = VectorMath.select(active, labelWeight * ((m - labelLogit) + logSum), .zero)
    var smooth = Vector.zero
    let smoothing = row.smoothing
    if smoothing > 0 {
      smooth = VectorMath.select(
        active, logSum * Float(row.sideWeightTotal) - stats.side, .zero)
    }
    if let loss {
      var values = nll
      if smoothing > 0 {
        values = Float(1 - smoothing) * nll + Float(smoothing / Double(classes)) * smooth
      }
      a.store(values, loss, firstRow, FloatStorage.self)
    }
    if let g = gradient {
      let labelGradient = labelWeight * Float(-row.scale) * Float(1 - smoothing)
      let total = VectorMath.select(active, labelGradient + Float(row.addendTotal), .zero)
      let ratio = total / stats.sum
      let gc = g + base
      Self.columnGradient(
        ColumnExps(pointer: copy), gc, classes, inner, -ratio, add.masked(by: active), a, e)
      // The label's element as the reference evaluates it, `(dlogp[y] + smoothing part) -
      // p[y] * total`, so that it cancels to exactly 0 where the reference's does.
      let labelValue =
        (labelGradient + labelAddend) - VectorMath.exp(labelLogit - m) * ratio
      VectorMath.store(labelValue, lanes, 64)
      for k in 0..<a.count {
        let label = labels[firstRow + k]
        if label != row.ignoreIndex { gc[label * inner + k] = E.stored(lanes[64 + k]) }
      }
    }
    return (Double(VectorMath.sum(nll)), Double(VectorMath.sum(smooth)))
  }

  /// Probability targets (laid out like the logits): one column's loss terms (summed over its
  /// lanes), its losses if `loss` is not nil, its gradient if `gradient` is not nil.
  @inline(__always)
  func probabilityColumn<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets: UnsafePointer<E.Stored>, o: Int, p0: Int,
    count: Int, gradient: UnsafeMutablePointer<E.Stored>?, scratch: UnsafeMutablePointer<Float>,
    lanes: UnsafeMutablePointer<Float>, loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    if count == 16 {
      return probabilityColumn(x, targets, o, p0, FullColumn(), gradient, scratch, loss, e)
    }
    return probabilityColumn(
      x, targets, o, p0, PartialColumn(count: count, buffer: lanes + 80), gradient, scratch,
      loss, e)
  }

  @inline(__always)
  func probabilityColumn<E: KernelStorage, A: ColumnAccess>(
    _ x: UnsafePointer<E.Stored>, _ targets: UnsafePointer<E.Stored>, _ o: Int, _ p0: Int,
    _ a: A, _ gradient: UnsafeMutablePointer<E.Stored>?, _ copy: UnsafeMutablePointer<Float>,
    _ loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    let base = o * classes * inner + p0
    let firstRow = o * inner + p0
    let m = Self.columnMaximum(x + base, classes, inner, copy, a, e)
    // One class: the reference's gradient cancels to exactly 0 (p = 1); keep that exactness.
    if classes == 1 || VectorMath.sum(m * 0).isNaN {
      return scalarSpatialRows(
        x, labels: nil, targets: targets, o: o, p0: p0, count: a.count, gradient: gradient,
        loss: loss, e)
    }
    let smoothing = row.smoothing
    let side = TargetColumnSide<E, A>(
      targets: targets + base, weights: row.weights?.baseAddress, stride: inner,
      keep: smoothing > 0 ? Float(1 - smoothing) : 1,
      uniform: smoothing > 0 ? Float(smoothing / Double(classes)) : 0,
      negativeScale: Vector(repeating: Float(-row.scale)), addends: copy + classes * 16,
      access: a)
    let stats =
      gradient == nil
      ? Self.columnStatistics(copy, classes, m, side, NoColumnStore())
      : Self.columnStatistics(copy, classes, m, side, ColumnExps(pointer: copy))
    // l = -sum_c w t' (x - lse) = -(A - (lse - m) B).
    let values = a.masked(VectorMath.log(stats.sum) * stats.side2 - stats.side)
    if let loss { a.store(values, loss, firstRow, FloatStorage.self) }
    if let g = gradient {
      let k = Float(row.scale) * stats.side2 / stats.sum
      Self.columnGradient(
        ColumnExps(pointer: copy), g + base, classes, inner, k,
        TargetColumnAddend(addends: copy + classes * 16), a, e)
    }
    return (Double(VectorMath.sum(values)), 0)
  }

  // MARK: - Passes

  /// The maximum per lane over the classes, ignoring NaN (like the reference's `x > maximum`
  /// scan), copying the column as fp32 into `copy` (class `c` at `c * 16`).
  @inline(never)
  static func columnMaximum<E: KernelStorage, A: ColumnAccess>(
    _ x: UnsafePointer<E.Stored>, _ classes: Int, _ stride: Int,
    _ copy: UnsafeMutablePointer<Float>,
    _ a: A, _: E.Type
  ) -> Vector {
    var m0 = Vector(repeating: -.infinity)
    var m1 = m0
    var offset = 0
    var c = 0
    while c + 2 <= classes {
      let v0 = a.load(x, offset, E.self)
      let v1 = a.load(x, offset + stride, E.self)
      VectorMath.store(v0, copy, c * 16)
      VectorMath.store(v1, copy, c * 16 + 16)
      m0 = VectorMath.maximum(m0, v0)
      m1 = VectorMath.maximum(m1, v1)
      offset += 2 * stride
      c += 2
    }
    if c < classes {
      let v = a.load(x, offset, E.self)
      VectorMath.store(v, copy, c * 16)
      m0 = VectorMath.maximum(m0, v)
    }
    return VectorMath.maximum(m0, m1)
  }

  /// The sums per lane of `exp(x - m)` and of the side terms over all classes of the copied
  /// column, storing each exponential through `store`; fp32 lanes, flushed into Double every
  /// ``block`` classes.
  @inline(never)
  static func columnStatistics<T: ColumnSide, S: ColumnStore>(
    _ x: UnsafeMutablePointer<Float>, _ classes: Int, _ m: Vector, _ side: T, _ store: S
  ) -> (sum: Vector, side: Vector, side2: Vector) {
    if classes <= block { return columnExpSum(x, 0, classes, m, side, store) }
    var sum = WideLanes()
    var sideSum = WideLanes()
    var side2Sum = WideLanes()
    var start = 0
    while start < classes {
      let end = min(start + block, classes)
      let (s, t, u) = columnExpSum(x, start, end, m, side, store)
      sum.add(s)
      sideSum.add(t)
      side2Sum.add(u)
      start = end
    }
    return (sum.narrowed, sideSum.narrowed, side2Sum.narrowed)
  }

  /// Classes `start..<end` of the exp pass, in fp32.
  @inline(never)
  static func columnExpSum<T: ColumnSide, S: ColumnStore>(
    _ x: UnsafeMutablePointer<Float>, _ start: Int, _ end: Int, _ m: Vector, _ side: T,
    _ store: S
  ) -> (Vector, Vector, Vector) {
    var s0 = Vector.zero
    var s1 = Vector.zero
    var t = Vector.zero
    var u = Vector.zero
    var c = start
    while c + 2 <= end {
      let d0 = VectorMath.load(x, c * 16) - m
      let d1 = VectorMath.load(x, c * 16 + 16) - m
      let e0 = VectorMath.exp(d0)
      let e1 = VectorMath.exp(d1)
      s0 += e0
      s1 += e1
      side.accumulate(&t, &u, d0, c)
      side.accumulate(&t, &u, d1, c + 1)
      store.store(e0, c)
      store.store(e1, c + 1)
      c += 2
    }
    if c < end {
      let d = VectorMath.load(x, c * 16) - m
      let ex = VectorMath.exp(d)
      s0 += ex
      side.accumulate(&t, &u, d, c)
      store.store(ex, c)
    }
    return (s0 + s1, t, u)
  }

  /// The gradient pass: `g[c] = e[c] * k + addend[c]` per lane, `e` read back from the copy,
  /// `g` written at the stride of `inner`.
  @inline(never)
  static func columnGradient<E: KernelStorage, A: ColumnAccess, D: ColumnAddend>(
    _ exps: ColumnExps, _ g: UnsafeMutablePointer<E.Stored>, _ classes: Int, _ stride: Int,
    _ k: Vector, _ add: D, _ a: A, _: E.Type
  ) {
    var c = 0
    while c + 2 <= classes {
      let e0 = exps.load(c)
      let e1 = exps.load(c + 1)
      a.store(add.apply(e0, k, c), g, c * stride, E.self)
      a.store(add.apply(e1, k, c + 1), g, (c + 1) * stride, E.self)
      c += 2
    }
    if c < classes { a.store(add.apply(exps.load(c), k, c), g, c * stride, E.self) }
  }
}

// MARK: - Policies

/// Which lanes of a column hold positions: all 16, or the first `count` (the last column of an
/// outer index). Loads fill the other lanes with 0; stores leave their memory alone.
protocol ColumnAccess {
  var count: Int { get }
  func load<E: KernelStorage>(_ p: UnsafePointer<E.Stored>, _ i: Int, _: E.Type) -> Vector
  func store<E: KernelStorage>(
    _ v: Vector, _ p: UnsafeMutablePointer<E.Stored>, _ i: Int, _: E.Type)
  /// `v` with the lanes past `count` set to 0.
  func masked(_ v: Vector) -> Vector
}

/// All 16 lanes.
struct FullColumn: ColumnAccess {
  @inline(__always) var count: Int { 16 }
  @inline(__always)
  func load<E: KernelStorage>(_ p: UnsafePointer<E.Stored>, _ i: Int, _: E.Type) -> Vector {
    E.load(p, i)
  }
  @inline(__always)
  func store<E: KernelStorage>(
    _ v: Vector, _ p: UnsafeMutablePointer<E.Stored>, _ i: Int, _: E.Type
  ) {
    E.store(v, p, i)
  }
  @inline(__always) func masked(_ v: Vector) -> Vector { v }
}

/// The first `count < 16` lanes, moved through a 16-float `buffer` (lanes written at run-time
/// indices would spill the whole vector each time).
struct PartialColumn: ColumnAccess {
  let count: Int
  let buffer: UnsafeMutablePointer<Float>
  @inline(__always)
  func load<E: KernelStorage>(_ p: UnsafePointer<E.Stored>, _ i: Int, _: E.Type) -> Vector {
    for k in 0..<count { buffer[k] = E.float(p[i + k]) }
    for k in count..<16 { buffer[k] = 0 }
    return VectorMath.load(buffer, 0)
  }
  @inline(__always)
  func store<E: KernelStorage>(
    _ v: Vector, _ p: UnsafeMutablePointer<E.Stored>, _ i: Int, _: E.Type
  ) {
    VectorMath.store(v, buffer, 0)
    for k in 0..<count { p[i + k] = E.stored(buffer[k]) }
  }
  @inline(__always) func masked(_ v: Vector) -> Vector {
    var r = v
    for k in count..<16 { r[k] = 0 }
    return r
  }
}

/// Per-lane sums in Double (the flush target of fp32 lane sums over long class axes).
struct WideLanes {
  var low = SIMD8<Double>()
  var high = SIMD8<Double>()

  @inline(__always)
  mutating func add(_ v: Vector) {
    low += v.lowHalf.widened
    high += v.highHalf.widened
  }

  var narrowed: Vector { Vector(lowHalf: low.narrowed, highHalf: high.narrowed) }
}

/// Where the exp pass keeps a column's exponentials (class `c` at `c * 16`).
protocol ColumnStore {
  func store(_ e: Vector, _ c: Int)
}

/// The exponentials are not kept (forward only).
struct NoColumnStore: ColumnStore {
  @inline(__always) func store(_ e: Vector, _ c: Int) {}
}

/// The exponentials over the copied column.
struct ColumnExps: ColumnStore {
  let pointer: UnsafeMutablePointer<Float>
  @inline(__always) func store(_ e: Vector, _ c: Int) { VectorMath.store(e, pointer, c * 16) }
  @inline(__always) func load(_ c: Int) -> Vector { VectorMath.load(pointer, c * 16) }
}

/// What the exp pass sums besides the exponentials, from the shifted logits `d` of class `c`.
protocol ColumnSide {
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ c: Int)
}

/// Nothing (no label smoothing).
struct NoColumnSide: ColumnSide {
  @inline(__always)
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ c: Int) {}
}

/// The plain sum of the shifted logits (label smoothing without class weights).
struct PlainColumnSide: ColumnSide {
  @inline(__always)
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ c: Int) { t += d }
}

/// The class-weighted sum of the shifted logits (label smoothing with class weights).
struct WeightedColumnSide: ColumnSide {
  let weights: UnsafePointer<Float>
  @inline(__always)
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ c: Int) {
    t = VectorMath.multiplyAdd(Vector(repeating: weights[c]), d, t)
  }
}

/// Probability targets: `t' = t (1 - e) + e / C`, times the class weight if any; accumulates
/// `sum w t' (x - shift)` and `sum w t'`, and keeps the gradient addends `-scale w t'` (class `c`
/// at `addends + c * 16`) so that the gradient pass does not read the strided targets again.
struct TargetColumnSide<E: KernelStorage, A: ColumnAccess>: ColumnSide {
  /// The column's targets (class `c` at `c * stride`).
  let targets: UnsafePointer<E.Stored>
  let weights: UnsafePointer<Float>?
  let stride: Int
  let keep: Float
  let uniform: Float
  let negativeScale: Vector
  let addends: UnsafeMutablePointer<Float>
  let access: A

  /// `w[c] t'[c]` per lane.
  @inline(__always) func weighted(_ c: Int) -> Vector {
    var t = VectorMath.multiplyAdd(
      access.load(targets, c * stride, E.self), Vector(repeating: keep),
      Vector(repeating: uniform))
    if let weights { t *= weights[c] }
    return t
  }

  @inline(__always)
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ c: Int) {
    let wt = weighted(c)
    t = VectorMath.multiplyAdd(wt, d, t)
    u += wt
    VectorMath.store(wt * negativeScale, addends, c * 16)
  }
}

/// The additive part of a gradient element of class `c`: `e * k + addend`, zero in the lanes
/// of ignored positions (selected, not multiplied by 0, so that an infinite addend of an
/// all-ignored `.mean` leaves them 0).
protocol ColumnAddend {
  /// The addend of class `c` in a lane that counts.
  func value(at c: Int) -> Float
  /// This addend for a column whose counting lanes are set in `active` (the others clear).
  func masked(by active: SIMD16<UInt32>) -> Self
  func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector
}

/// No addend.
struct NoColumnAddend: ColumnAddend {
  @inline(__always) func value(at c: Int) -> Float { 0 }
  @inline(__always) func masked(by active: SIMD16<UInt32>) -> Self { self }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector { e * k }
}

/// The same addend for every class (label smoothing without weights).
struct ConstantColumnAddend: ColumnAddend {
  let value: Float
  /// `value` in the counting lanes.
  let lanes: Vector
  @inline(__always) func value(at c: Int) -> Float { value }
  @inline(__always) func masked(by active: SIMD16<UInt32>) -> Self {
    ConstantColumnAddend(
      value: value, lanes: VectorMath.select(active, Vector(repeating: value), .zero))
  }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector {
    VectorMath.multiplyAdd(e, k, lanes)
  }
}

/// One addend per class (label smoothing with weights).
struct PerClassColumnAddend: ColumnAddend {
  let values: UnsafePointer<Float>
  let active: SIMD16<UInt32>
  @inline(__always) func value(at c: Int) -> Float { values[c] }
  @inline(__always) func masked(by active: SIMD16<UInt32>) -> Self {
    PerClassColumnAddend(values: values, active: active)
  }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector {
    VectorMath.multiplyAdd(e, k, VectorMath.select(active, Vector(repeating: values[c]), .zero))
  }
}

/// The gradient addend of probability targets, `-scale * w[c] t'[c]`, as the exp pass kept it.
struct TargetColumnAddend: ColumnAddend {
  let addends: UnsafeMutablePointer<Float>
  @inline(__always) func value(at c: Int) -> Float { 0 }
  @inline(__always) func masked(by active: SIMD16<UInt32>) -> Self { self }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector {
    VectorMath.multiplyAdd(e, k, VectorMath.load(addends, c * 16))
  }
}
