/// The column passes of ``FusedSoftmaxSpatial``: each walks the classes of 16 neighbouring
/// positions at a stride of `inner`, one 16-lane vector per class. None allocates; none calls
/// libm. The variants (lanes, side sums, where the exponentials go, gradient addend) are generic
/// policy types, so that each loop is specialised with no branch inside.
extension FusedSoftmaxSpatial {
  /// Class-index labels: one column's terms (the sums over its lanes of the NLL and smoothing
  /// terms), its losses if `loss` is not nil (`.none`), its gradient if `gradient` is not nil.
  @inline(__always)
  func labelColumn<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, labels: UnsafeBufferPointer<Int>, o: Int, p0: Int, count: Int,
    gradient: UnsafeMutablePointer<E.Stored>?, exps: Exps, loss: UnsafeMutablePointer<Float>?,
    _ e: E.Type
  ) -> (Double, Double) {
    if count == 16 {
      return labelColumn(x, labels, o, p0, FullColumn(), gradient, exps, loss, e)
    }
    return labelColumn(x, labels, o, p0, PartialColumn(count: count), gradient, exps, loss, e)
  }

  @inline(__always)
  func labelColumn<E: KernelStorage, A: ColumnAccess>(
    _ x: UnsafePointer<E.Stored>, _ labels: UnsafeBufferPointer<Int>, _ o: Int, _ p0: Int,
    _ a: A, _ gradient: UnsafeMutablePointer<E.Stored>?, _ exps: Exps,
    _ loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    switch (row.side, row.addend) {
    case (.plain, .constant(let value)):
      return labelColumn(
        x, labels, o, p0, a, gradient, exps, loss, PlainColumnSide(),
        ConstantColumnAddend(value: value, lanes: .zero), e)
    case (.weighted(let w), .perClass(let values)):
      return labelColumn(
        x, labels, o, p0, a, gradient, exps, loss, WeightedColumnSide(weights: w),
        PerClassColumnAddend(values: values, active: .zero), e)
    default:
      return labelColumn(
        x, labels, o, p0, a, gradient, exps, loss, NoColumnSide(), NoColumnAddend(), e)
    }
  }

  @inline(__always)
  func labelColumn<
    E: KernelStorage, A: ColumnAccess, T: ColumnSide, D: ColumnAddend
  >(
    _ x: UnsafePointer<E.Stored>, _ labels: UnsafeBufferPointer<Int>, _ o: Int, _ p0: Int,
    _ a: A, _ gradient: UnsafeMutablePointer<E.Stored>?, _ exps: Exps,
    _ loss: UnsafeMutablePointer<Float>?, _ side: T, _ add: D, _ e: E.Type
  ) -> (Double, Double) {
    let base = o * classes * inner + p0
    let xc = x + base
    let firstRow = o * inner + p0
    let m = Self.columnMaximum(xc, classes, inner, a, e)
    // A lane whose maximum is +inf or -inf (only -inf and NaN): the reference's formulas.
    if VectorMath.sum(m * 0).isNaN {
      return scalarSpatialRows(
        x, labels: labels, targets: nil, o: o, p0: p0, count: a.count, gradient: gradient,
        loss: loss, e)
    }
    // Per lane: the label's logit, weight and smoothing addend (read before the exp pass, which
    // may overwrite the logits), and whether the label counts.
    var labelLogit = Vector.zero
    var labelWeight = Vector.zero
    var labelAddend = Vector.zero
    var active = SIMD16<UInt32>.zero
    for k in 0..<a.count {
      let label = labels[firstRow + k]
      if label == row.ignoreIndex { continue }
      active[k] = ~0
      labelLogit[k] = E.float(xc[label * inner + k])
      labelWeight[k] = row.weights.map { $0[label] } ?? 1
      labelAddend[k] = add.value(at: label)
    }
    let stats: (sum: Vector, side: Vector, side2: Vector)
    switch (gradient, exps) {
    case (let g?, .gradient):
      let pointer = UnsafeMutableRawPointer(g + base).assumingMemoryBound(to: Float.self)
      stats = Self.columnStatistics(
        xc, classes, inner, m, side, ColumnExps(pointer: pointer, stride: inner), a, e)
    case (_?, .scratch(let pointer)):
      stats = Self.columnStatistics(
        xc, classes, inner, m, side, ColumnExps(pointer: pointer, stride: 16), a, e)
    default:
      stats = Self.columnStatistics(xc, classes, inner, m, side, NoColumnStore(), a, e)
    }
    let logSum = VectorMath.log(stats.sum)
    let nll = VectorMath.select(active, labelWeight * ((m - labelLogit) + logSum), .zero)
    var smooth = Vector.zero
    let smoothing = row.smoothing
    if smoothing > 0 {
      smooth = VectorMath.select(
        active, logSum * Float(row.sideWeightTotal) - stats.side, .zero)
    }
    if let loss {
      var lanes = nll
      if smoothing > 0 {
        lanes = Float(1 - smoothing) * nll + Float(smoothing / Double(classes)) * smooth
      }
      a.store(lanes, loss, firstRow, FloatStorage.self)
    }
    if let g = gradient {
      let labelGradient = labelWeight * Float(-row.scale) * Float(1 - smoothing)
      let total = VectorMath.select(active, labelGradient + Float(row.addendTotal), .zero)
      let ratio = total / stats.sum
      let activeOnes = VectorMath.select(active, Vector(repeating: 1), .zero)
      let gc = g + base
      switch exps {
      case .scratch(let pointer):
        Self.columnGradient(
          ColumnExps(pointer: pointer, stride: 16), gc, classes, inner, -ratio,
          add.masked(by: activeOnes), a, e)
      default:
        let pointer = UnsafeMutableRawPointer(gc).assumingMemoryBound(to: Float.self)
        Self.columnGradient(
          ColumnExps(pointer: pointer, stride: inner), gc, classes, inner, -ratio,
          add.masked(by: activeOnes), a, e)
      }
      // The label's element as the reference evaluates it, `(dlogp[y] + smoothing part) -
      // p[y] * total`, so that it cancels to exactly 0 where the reference's does.
      let labelValue =
        (labelGradient + labelAddend) - VectorMath.exp(labelLogit - m) * ratio
      for k in 0..<a.count where active[k] != 0 {
        gc[labels[firstRow + k] * inner + k] = E.stored(labelValue[k])
      }
    }
    return (Double(VectorMath.sum(nll)), Double(VectorMath.sum(smooth)))
  }

  /// Probability targets (laid out like the logits): one column's loss terms (summed over its
  /// lanes), its losses if `loss` is not nil, its gradient if `gradient` is not nil.
  @inline(__always)
  func probabilityColumn<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets: UnsafePointer<E.Stored>, o: Int, p0: Int,
    count: Int, gradient: UnsafeMutablePointer<E.Stored>?, exps: Exps,
    loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    if count == 16 {
      return probabilityColumn(x, targets, o, p0, FullColumn(), gradient, exps, loss, e)
    }
    return probabilityColumn(
      x, targets, o, p0, PartialColumn(count: count), gradient, exps, loss, e)
  }

  @inline(__always)
  func probabilityColumn<E: KernelStorage, A: ColumnAccess>(
    _ x: UnsafePointer<E.Stored>, _ targets: UnsafePointer<E.Stored>, _ o: Int, _ p0: Int,
    _ a: A, _ gradient: UnsafeMutablePointer<E.Stored>?, _ exps: Exps,
    _ loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    let base = o * classes * inner + p0
    let xc = x + base
    let firstRow = o * inner + p0
    let m = Self.columnMaximum(xc, classes, inner, a, e)
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
      uniform: smoothing > 0 ? Float(smoothing / Double(classes)) : 0, access: a)
    let stats: (sum: Vector, side: Vector, side2: Vector)
    switch (gradient, exps) {
    case (let g?, .gradient):
      let pointer = UnsafeMutableRawPointer(g + base).assumingMemoryBound(to: Float.self)
      stats = Self.columnStatistics(
        xc, classes, inner, m, side, ColumnExps(pointer: pointer, stride: inner), a, e)
    case (_?, .scratch(let pointer)):
      stats = Self.columnStatistics(
        xc, classes, inner, m, side, ColumnExps(pointer: pointer, stride: 16), a, e)
    default:
      stats = Self.columnStatistics(xc, classes, inner, m, side, NoColumnStore(), a, e)
    }
    // l = -sum_c w t' (x - lse) = -(A - (lse - m) B).
    let lanes = a.masked(VectorMath.log(stats.sum) * stats.side2 - stats.side)
    if let loss { a.store(lanes, loss, firstRow, FloatStorage.self) }
    if let g = gradient {
      let k = Float(row.scale) * stats.side2 / stats.sum
      let add = TargetColumnAddend(side: side, negativeScale: Vector(repeating: Float(-row.scale)))
      let gc = g + base
      switch exps {
      case .scratch(let pointer):
        Self.columnGradient(
          ColumnExps(pointer: pointer, stride: 16), gc, classes, inner, k, add, a, e)
      default:
        let pointer = UnsafeMutableRawPointer(gc).assumingMemoryBound(to: Float.self)
        Self.columnGradient(
          ColumnExps(pointer: pointer, stride: inner), gc, classes, inner, k, add, a, e)
      }
    }
    return (Double(VectorMath.sum(lanes)), 0)
  }

  // MARK: - Passes

  /// The maximum per lane over the classes, ignoring NaN (like the reference's `x > maximum`
  /// scan).
  @inline(__always)
  static func columnMaximum<E: KernelStorage, A: ColumnAccess>(
    _ x: UnsafePointer<E.Stored>, _ classes: Int, _ stride: Int, _ a: A, _: E.Type
  ) -> Vector {
    var m0 = Vector(repeating: -.infinity)
    var m1 = m0
    var offset = 0
    var c = 0
    while c + 2 <= classes {
      m0 = VectorMath.maximum(m0, a.load(x, offset, E.self))
      m1 = VectorMath.maximum(m1, a.load(x, offset + stride, E.self))
      offset += 2 * stride
      c += 2
    }
    if c < classes { m0 = VectorMath.maximum(m0, a.load(x, offset, E.self)) }
    return VectorMath.maximum(m0, m1)
  }

  /// The sums per lane of `exp(x - m)` and of the side terms over all classes, storing each
  /// exponential through `store`; fp32 lanes, flushed into Double every ``block`` classes.
  @inline(__always)
  static func columnStatistics<E: KernelStorage, A: ColumnAccess, T: ColumnSide, S: ColumnStore>(
    _ x: UnsafePointer<E.Stored>, _ classes: Int, _ stride: Int, _ m: Vector, _ side: T,
    _ store: S, _ a: A, _ e: E.Type
  ) -> (sum: Vector, side: Vector, side2: Vector) {
    if classes <= block { return columnExpSum(x, 0, classes, stride, m, side, store, a, e) }
    var sum = WideLanes()
    var sideSum = WideLanes()
    var side2Sum = WideLanes()
    var start = 0
    while start < classes {
      let end = min(start + block, classes)
      let (s, t, u) = columnExpSum(x, start, end, stride, m, side, store, a, e)
      sum.add(s)
      sideSum.add(t)
      side2Sum.add(u)
      start = end
    }
    return (sum.narrowed, sideSum.narrowed, side2Sum.narrowed)
  }

  /// Classes `start..<end` of the exp pass, in fp32.
  @inline(__always)
  static func columnExpSum<E: KernelStorage, A: ColumnAccess, T: ColumnSide, S: ColumnStore>(
    _ x: UnsafePointer<E.Stored>, _ start: Int, _ end: Int, _ stride: Int, _ m: Vector,
    _ side: T, _ store: S, _ a: A, _: E.Type
  ) -> (Vector, Vector, Vector) {
    var s0 = Vector.zero
    var s1 = Vector.zero
    var t = Vector.zero
    var u = Vector.zero
    var c = start
    while c + 2 <= end {
      let d0 = a.load(x, c * stride, E.self) - m
      let d1 = a.load(x, (c + 1) * stride, E.self) - m
      let e0 = VectorMath.exp(d0)
      let e1 = VectorMath.exp(d1)
      s0 += e0
      s1 += e1
      side.accumulate(&t, &u, d0, c)
      side.accumulate(&t, &u, d1, c + 1)
      store.store(e0, c, a)
      store.store(e1, c + 1, a)
      c += 2
    }
    if c < end {
      let d = a.load(x, c * stride, E.self) - m
      let ex = VectorMath.exp(d)
      s0 += ex
      side.accumulate(&t, &u, d, c)
      store.store(ex, c, a)
    }
    return (s0 + s1, t, u)
  }

  /// The gradient pass: `g[c] = e[c] * k + addend[c]` per lane, `e` read back from `exps`
  /// (which may be the gradient itself).
  @inline(__always)
  static func columnGradient<E: KernelStorage, A: ColumnAccess, D: ColumnAddend>(
    _ exps: ColumnExps, _ g: UnsafeMutablePointer<E.Stored>, _ classes: Int, _ stride: Int,
    _ k: Vector, _ add: D, _ a: A, _: E.Type
  ) {
    var c = 0
    while c + 2 <= classes {
      let e0 = exps.load(c, a)
      let e1 = exps.load(c + 1, a)
      a.store(add.apply(e0, k, c), g, c * stride, E.self)
      a.store(add.apply(e1, k, c + 1), g, (c + 1) * stride, E.self)
      c += 2
    }
    if c < classes { a.store(add.apply(exps.load(c, a), k, c), g, c * stride, E.self) }
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

/// The first `count < 16` lanes.
struct PartialColumn: ColumnAccess {
  let count: Int
  @inline(__always)
  func load<E: KernelStorage>(_ p: UnsafePointer<E.Stored>, _ i: Int, _: E.Type) -> Vector {
    E.loadPartial(p, i, count: count, fill: 0)
  }
  @inline(__always)
  func store<E: KernelStorage>(
    _ v: Vector, _ p: UnsafeMutablePointer<E.Stored>, _ i: Int, _: E.Type
  ) {
    E.storePartial(v, p, i, count: count)
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
    for k in 0..<8 {
      low[k] += Double(v[k])
      high[k] += Double(v[k + 8])
    }
  }

  var narrowed: Vector {
    var r = Vector()
    for k in 0..<8 {
      r[k] = Float(low[k])
      r[k + 8] = Float(high[k])
    }
    return r
  }
}

/// Where the exp pass keeps a column's exponentials (class `c` at `c * stride`).
protocol ColumnStore {
  func store<A: ColumnAccess>(_ e: Vector, _ c: Int, _ a: A)
}

/// The exponentials are not kept (forward only).
struct NoColumnStore: ColumnStore {
  @inline(__always) func store<A: ColumnAccess>(_ e: Vector, _ c: Int, _ a: A) {}
}

/// The exponentials in fp32: in the gradient column (stride `inner`) or a scratch (stride 16).
struct ColumnExps: ColumnStore {
  let pointer: UnsafeMutablePointer<Float>
  let stride: Int
  @inline(__always) func store<A: ColumnAccess>(_ e: Vector, _ c: Int, _ a: A) {
    a.store(e, pointer, c * stride, FloatStorage.self)
  }
  @inline(__always) func load<A: ColumnAccess>(_ c: Int, _ a: A) -> Vector {
    a.load(UnsafePointer(pointer), c * stride, FloatStorage.self)
  }
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
/// `sum w t' (x - shift)` and `sum w t'`.
struct TargetColumnSide<E: KernelStorage, A: ColumnAccess>: ColumnSide {
  /// The column's targets (class `c` at `c * stride`).
  let targets: UnsafePointer<E.Stored>
  let weights: UnsafePointer<Float>?
  let stride: Int
  let keep: Float
  let uniform: Float
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
  }
}

/// The additive part of a gradient element of class `c`: `e * k + addend`, zero in the lanes
/// of ignored positions.
protocol ColumnAddend {
  /// The addend of class `c` in a lane that counts.
  func value(at c: Int) -> Float
  /// This addend for a column whose counting lanes hold 1 in `active` (the others 0).
  func masked(by active: Vector) -> Self
  func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector
}

/// No addend.
struct NoColumnAddend: ColumnAddend {
  @inline(__always) func value(at c: Int) -> Float { 0 }
  @inline(__always) func masked(by active: Vector) -> Self { self }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector { e * k }
}

/// The same addend for every class (label smoothing without weights).
struct ConstantColumnAddend: ColumnAddend {
  let value: Float
  /// `value` in the counting lanes.
  let lanes: Vector
  @inline(__always) func value(at c: Int) -> Float { value }
  @inline(__always) func masked(by active: Vector) -> Self {
    ConstantColumnAddend(value: value, lanes: active * value)
  }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector {
    VectorMath.multiplyAdd(e, k, lanes)
  }
}

/// One addend per class (label smoothing with weights).
struct PerClassColumnAddend: ColumnAddend {
  let values: UnsafePointer<Float>
  let active: Vector
  @inline(__always) func value(at c: Int) -> Float { values[c] }
  @inline(__always) func masked(by active: Vector) -> Self {
    PerClassColumnAddend(values: values, active: active)
  }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector {
    VectorMath.multiplyAdd(e, k, active * values[c])
  }
}

/// The gradient addend of probability targets: `-scale * w[c] t'[c]`.
struct TargetColumnAddend<E: KernelStorage, A: ColumnAccess>: ColumnAddend {
  let side: TargetColumnSide<E, A>
  let negativeScale: Vector
  @inline(__always) func value(at c: Int) -> Float { 0 }
  @inline(__always) func masked(by active: Vector) -> Self { self }
  @inline(__always) func apply(_ e: Vector, _ k: Vector, _ c: Int) -> Vector {
    VectorMath.multiplyAdd(e, k, side.weighted(c) * negativeScale)
  }
}
