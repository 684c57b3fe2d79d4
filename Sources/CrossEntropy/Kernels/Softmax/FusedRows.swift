/// Row primitives of the fused fp32 softmax kernels: each sweeps one contiguous row of `count`
/// floats with four 16-lane accumulators, then a 16-lane step, then a masked tail.
///
/// None allocates; none calls libm. Sums are flushed from the fp32 lanes into a Double every
/// ``block`` elements, so a row of 256K classes loses no more than a short fp32 sum does.
/// The variants (side term, store, gradient addend) are generic policy types, so each loop is
/// specialised with no branch inside (an enum switch or a nested function in a hot loop keeps
/// Swift from inlining it).
enum FusedRows {
  /// Elements per block: the unit of the online softmax and of fp32 → Double flushes.
  /// 2048 floats (8 KiB) stay in L1 between a block's max pass and its exp pass.
  static let block = 2048

  /// The maximum of a row, ignoring NaN (like the reference's `x > maximum` scan); -inf for a
  /// row of -inf and NaN.
  @inline(never)
  static func maximum<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, _: E.Type
  ) -> Float {
    var m0 = Vector(repeating: -.infinity)
    var m1 = m0
    var m2 = m0
    var m3 = m0
    var i = 0
    while i + 64 <= count {
      m0 = VectorMath.maximum(m0, E.load(x, i))
      m1 = VectorMath.maximum(m1, E.load(x, i + 16))
      m2 = VectorMath.maximum(m2, E.load(x, i + 32))
      m3 = VectorMath.maximum(m3, E.load(x, i + 48))
      i += 64
    }
    while i + 16 <= count {
      m0 = VectorMath.maximum(m0, E.load(x, i))
      i += 16
    }
    if i < count {
      m1 = VectorMath.maximum(
        m1, E.loadPartial(x, i, count: count - i, fill: -.infinity))
    }
    m0 = VectorMath.maximum(m0, m1)
    m2 = VectorMath.maximum(m2, m3)
    return VectorMath.maximum(VectorMath.maximum(m0, m2))
  }

  /// What the exp pass accumulates besides the sum of exponentials: nothing, the plain sum of
  /// the shifted logits, or their sum weighted by per-class weights (the label-smoothing term).
  enum Side {
    case none
    case plain
    case weighted(UnsafePointer<Float>)
  }

  /// Sums `exp(x[i] - shift)` over a row, optionally storing each exponential in `store`
  /// (which may be `x` itself), and sums the side term `w[i] * (x[i] - shift)`.
  ///
  /// - Returns: The sum of exponentials and the side sum, accumulated in Double per block.
  @inline(__always)
  static func expSum<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, shift: Float, store: UnsafeMutablePointer<Float>?,
    side: Side, _ e: E.Type
  ) -> (sum: Double, side: Double) {
    if let store {
      switch side {
      case .none: return expSum(x, count, shift, Store(pointer: store), NoSide(), e)
      case .plain: return expSum(x, count, shift, Store(pointer: store), PlainSide(), e)
      case .weighted(let w):
        return expSum(x, count, shift, Store(pointer: store), WeightedSide(weights: w), e)
      }
    }
    switch side {
    case .none: return expSum(x, count, shift, NoStore(), NoSide(), e)
    case .plain: return expSum(x, count, shift, NoStore(), PlainSide(), e)
    case .weighted(let w): return expSum(x, count, shift, NoStore(), WeightedSide(weights: w), e)
    }
  }

  @inline(__always)
  static func expSum<E: KernelStorage, S: StorePolicy, T: SidePolicy>(
    _ x: UnsafePointer<E.Stored>, _ count: Int, _ shift: Float, _ store: S, _ side: T,
    _ e: E.Type
  ) -> (sum: Double, side: Double) {
    let (sum, sideSum, _) = expSum3(x, count, shift, store, side, e)
    return (sum, sideSum)
  }

  /// ``expSum(_:_:_:_:_:_:)`` with the second side sum (``SidePolicy``'s `u`).
  @inline(__always)
  static func expSum3<E: KernelStorage, S: StorePolicy, T: SidePolicy>(
    _ x: UnsafePointer<E.Stored>, _ count: Int, _ shift: Float, _ store: S, _ side: T,
    _ e: E.Type
  ) -> (sum: Double, side: Double, side2: Double) {
    var total = 0.0
    var sideTotal = 0.0
    var side2Total = 0.0
    var start = 0
    while start < count {
      let end = min(start + block, count)
      let (s, t, u, _) = expSumBlock(x, start, end, shift, shift, store, side, NoEntropy(), e)
      total += Double(s)
      sideTotal += Double(t)
      side2Total += Double(u)
      start = end
    }
    return (total, sideTotal, side2Total)
  }

  /// One block of the exp pass in fp32, the side term taken relative to `sideShift`:
  /// `sum w[i] * (x[i] - sideShift)`, and the entropy's sum `sum e[i] * (x[i] - shift)` if the
  /// entropy policy keeps one (the statistics; ``NoEntropy`` for the plain passes, whose
  /// specialisation has no such accumulator).
  @inline(never)
  static func expSumBlock<E: KernelStorage, S: StorePolicy, T: SidePolicy, H: EntropyPolicy>(
    _ x: UnsafePointer<E.Stored>, _ start: Int, _ end: Int, _ shift: Float, _ sideShift: Float,
    _ store: S, _ side: T, _ entropy: H, _: E.Type
  ) -> (Float, Float, Float, Float) {
    let m = Vector(repeating: shift)
    let ms = Vector(repeating: sideShift)
    var s0 = Vector.zero
    var s1 = Vector.zero
    var s2 = Vector.zero
    var s3 = Vector.zero
    var t0 = Vector.zero
    var t1 = Vector.zero
    var u0 = Vector.zero
    var u1 = Vector.zero
    var h0 = Vector.zero
    var h1 = Vector.zero
    var i = start
    while i + 64 <= end {
      let v0 = E.load(x, i)
      let v1 = E.load(x, i + 16)
      let v2 = E.load(x, i + 32)
      let v3 = E.load(x, i + 48)
      let e0 = VectorMath.exp(v0 - m)
      let e1 = VectorMath.exp(v1 - m)
      let e2 = VectorMath.exp(v2 - m)
      let e3 = VectorMath.exp(v3 - m)
      s0 += e0
      s1 += e1
      s2 += e2
      s3 += e3
      side.accumulate(&t0, &u0, v0 - ms, i)
      side.accumulate(&t1, &u1, v1 - ms, i + 16)
      side.accumulate(&t0, &u0, v2 - ms, i + 32)
      side.accumulate(&t1, &u1, v3 - ms, i + 48)
      entropy.accumulate(&h0, e0, v0 - m, e2, v2 - m)
      entropy.accumulate(&h1, e1, v1 - m, e3, v3 - m)
      store.store(e0, i)
      store.store(e1, i + 16)
      store.store(e2, i + 32)
      store.store(e3, i + 48)
      i += 64
    }
    while i + 16 <= end {
      let v = E.load(x, i)
      let e = VectorMath.exp(v - m)
      s0 += e
      side.accumulate(&t0, &u0, v - ms, i)
      entropy.accumulate(&h0, e, v - m)
      store.store(e, i)
      i += 16
    }
    if i < end {
      let n = end - i
      let v = E.loadPartial(x, i, count: n, fill: -.infinity)
      let e = VectorMath.exp(v - m)
      s1 += e
      var t = Vector.zero
      var u = Vector.zero
      side.accumulate(&t, &u, v - ms, i, count: n)
      t1 += t
      u1 += u
      entropy.accumulate(&h1, e, v - m)
      store.storePartial(e, i, count: n)
    }
    return (
      VectorMath.sum((s0 + s1) + (s2 + s3)), VectorMath.sum(t0 + t1), VectorMath.sum(u0 + u1),
      VectorMath.sum(h0 + h1)
    )
  }

  /// Online (blocked) softmax statistics of a row in one read: per block, the block maximum,
  /// one rescale of the running sum, then `exp(x - max)` summed while the block is in L1.
  ///
  /// The side term is accumulated relative to `sideShift` (a fixed value, so blocks add up).
  ///
  /// - Returns: The row maximum (ignoring NaN), the sum of `exp(x - max)` (NaN if the row holds
  ///   a NaN), the side sum and its shift. A non-finite maximum is the caller's to handle.
  @inline(__always)
  static func onlineStatistics<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, side: Side, _ e: E.Type
  ) -> (maximum: Float, sum: Double, side: Double, sideShift: Float) {
    switch side {
    case .none: return onlineStatistics(x, count, NoSide(), e)
    case .plain: return onlineStatistics(x, count, PlainSide(), e)
    case .weighted(let w): return onlineStatistics(x, count, WeightedSide(weights: w), e)
    }
  }

  @inline(__always)
  static func onlineStatistics<E: KernelStorage, T: SidePolicy>(
    _ x: UnsafePointer<E.Stored>, _ count: Int, _ side: T, _ e: E.Type
  ) -> (maximum: Float, sum: Double, side: Double, sideShift: Float) {
    let stats = onlineStatistics3(x, count, side, e)
    return (stats.maximum, stats.sum, stats.side, stats.sideShift)
  }

  /// ``onlineStatistics(_:_:_:_:)`` with the second side sum (not shifted).
  @inline(__always)
  static func onlineStatistics3<E: KernelStorage, T: SidePolicy>(
    _ x: UnsafePointer<E.Stored>, _ count: Int, _ side: T, _ e: E.Type
  ) -> (maximum: Float, sum: Double, side: Double, side2: Double, sideShift: Float) {
    var side2Total = 0.0
    var runningMax = -Float.infinity
    var runningSum = 0.0
    var sideTotal = 0.0
    var sideShift: Float = 0
    var start = 0
    while start < count {
      let end = min(start + block, count)
      let blockMax = maximum(x + start, count: end - start, e)
      if blockMax == .infinity { return (blockMax, .nan, .nan, .nan, 0) }
      if start == 0, blockMax.isFinite { sideShift = blockMax }
      if blockMax > runningMax {
        if runningSum != 0 {
          runningSum *= Double(VectorMath.exp(runningMax - blockMax))
        }
        runningMax = blockMax
      }
      // Before any finite value, the shift is 0 and the block adds 0 (or NaN) to the sum.
      let (s, t, u, _) = expSumBlock(
        x, start, end, runningMax == -.infinity ? 0 : runningMax, sideShift, NoStore(), side,
        NoEntropy(), e)
      runningSum += Double(s)
      sideTotal += Double(t)
      side2Total += Double(u)
      start = end
    }
    return (runningMax, runningSum, sideTotal, side2Total, sideShift)
  }

  /// The additive part of the gradient: 0, the same value for every class, one per class, or
  /// one per class times a factor (the row's, for sample weights and upstream gradients).
  enum Addend {
    case none
    case constant(Float)
    case perClass(UnsafePointer<Float>)
    case scaledPerClass(UnsafePointer<Float>, Float)
  }

  /// `g[i] = e[i] * k + add[i]` over a row (the gradient's scale pass; `add` is the smoothing
  /// gradient: nothing, a constant, or one value per class). `e` holds the stored exponentials
  /// in fp32; it may be `g` itself when the elements are fp32.
  @inline(__always)
  static func scale<E: KernelStorage>(
    _ e: UnsafePointer<Float>, into g: UnsafeMutablePointer<E.Stored>, count: Int, by k: Float,
    add: Addend, _ s: E.Type
  ) {
    switch add {
    case .none: scale(e, g, count, k, NoAddend(), s)
    case .constant(let c): scale(e, g, count, k, ConstantAddend(value: Vector(repeating: c)), s)
    case .perClass(let a): scale(e, g, count, k, PerClassAddend(values: a), s)
    case .scaledPerClass(let a, let f):
      scale(e, g, count, k, ScaledPerClassAddend(values: a, factor: Vector(repeating: f)), s)
    }
  }

  @inline(never)
  static func scale<E: KernelStorage, A: AddendPolicy>(
    _ source: UnsafePointer<Float>, _ g: UnsafeMutablePointer<E.Stored>, _ count: Int,
    _ k: Float, _ add: A, _: E.Type
  ) {
    let kv = Vector(repeating: k)
    var i = 0
    while i + 64 <= count {
      let e0 = VectorMath.load(source, i)
      let e1 = VectorMath.load(source, i + 16)
      let e2 = VectorMath.load(source, i + 32)
      let e3 = VectorMath.load(source, i + 48)
      E.store(add.apply(e0, kv, i), g, i)
      E.store(add.apply(e1, kv, i + 16), g, i + 16)
      E.store(add.apply(e2, kv, i + 32), g, i + 32)
      E.store(add.apply(e3, kv, i + 48), g, i + 48)
      i += 64
    }
    while i + 16 <= count {
      E.store(add.apply(VectorMath.load(source, i), kv, i), g, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let e = VectorMath.loadPartial(source, i, count: n, fill: 0)
      E.storePartial(add.apply(e, kv, i, count: n), g, i, count: n)
    }
  }

  /// `g[i] = exp(x[i] - shift) * k + add[i]` over a row (the gradient pass of rows too large
  /// for the cache, one more exp per element; `g` may be `x`).
  @inline(__always)
  static func exponentialGradient<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, _ g: UnsafeMutablePointer<E.Stored>, count: Int, shift: Float,
    by k: Float, add: Addend, _ s: E.Type
  ) {
    switch add {
    case .none: exponentialGradient(x, g, count, shift, k, NoAddend(), s)
    case .constant(let c):
      exponentialGradient(x, g, count, shift, k, ConstantAddend(value: Vector(repeating: c)), s)
    case .perClass(let a):
      exponentialGradient(x, g, count, shift, k, PerClassAddend(values: a), s)
    case .scaledPerClass(let a, let f):
      exponentialGradient(
        x, g, count, shift, k, ScaledPerClassAddend(values: a, factor: Vector(repeating: f)), s)
    }
  }

  @inline(never)
  static func exponentialGradient<E: KernelStorage, A: AddendPolicy>(
    _ x: UnsafePointer<E.Stored>, _ g: UnsafeMutablePointer<E.Stored>, _ count: Int,
    _ shift: Float, _ k: Float, _ add: A, _: E.Type
  ) {
    let kv = Vector(repeating: k)
    let m = Vector(repeating: shift)
    var i = 0
    while i + 32 <= count {
      let e0 = VectorMath.exp(E.load(x, i) - m)
      let e1 = VectorMath.exp(E.load(x, i + 16) - m)
      E.store(add.apply(e0, kv, i), g, i)
      E.store(add.apply(e1, kv, i + 16), g, i + 16)
      i += 32
    }
    while i + 16 <= count {
      let e = VectorMath.exp(E.load(x, i) - m)
      E.store(add.apply(e, kv, i), g, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let e = VectorMath.exp(E.loadPartial(x, i, count: n, fill: -.infinity) - m)
      E.storePartial(add.apply(e, kv, i, count: n), g, i, count: n)
    }
  }
}

// MARK: - Policies

/// The policy types of the row passes (generic parameters, so that each variant is its own
/// specialisation with no branch in its loops).
extension FusedRows {
  /// Where the exp pass puts its exponentials.
  protocol StorePolicy {
    func store(_ e: Vector, _ i: Int)
    func storePartial(_ e: Vector, _ i: Int, count: Int)
  }

  /// The exponentials are not kept (forward only, online statistics).
  struct NoStore: StorePolicy {
    @inline(__always) func store(_ e: Vector, _ i: Int) {}
    @inline(__always) func storePartial(_ e: Vector, _ i: Int, count: Int) {}
  }

  /// The exponentials are written to a row (the gradient, or the logits themselves).
  struct Store: StorePolicy {
    let pointer: UnsafeMutablePointer<Float>
    @inline(__always) func store(_ e: Vector, _ i: Int) { VectorMath.store(e, pointer, i) }
    @inline(__always) func storePartial(_ e: Vector, _ i: Int, count: Int) {
      VectorMath.storePartial(e, pointer, i, count: count)
    }
  }

  /// What the exp pass sums besides the exponentials, from the shifted logits `d`.
  protocol SidePolicy {
    func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int)
    func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int, count: Int)
    /// Accumulates into two sums (`u` is a second side sum, unused by most policies).
    func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ i: Int)
    func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ i: Int, count: Int)
  }

  /// Nothing (no label smoothing).
  struct NoSide: SidePolicy {
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int) {}
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int, count: Int) {}
  }

  /// The plain sum of the shifted logits (label smoothing without class weights).
  struct PlainSide: SidePolicy {
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int) { t += d }
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int, count: Int) {
      for j in 0..<count { t[j] += d[j] }
    }
  }

  /// The class-weighted sum of the shifted logits (label smoothing with class weights).
  struct WeightedSide: SidePolicy {
    let weights: UnsafePointer<Float>
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int) {
      t = VectorMath.multiplyAdd(VectorMath.load(weights, i), d, t)
    }
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int, count: Int) {
      for j in 0..<count { t[j] += weights[i + j] * d[j] }
    }
  }

  /// What the exp pass sums besides the exponentials and the side terms, from the
  /// exponentials `e` and the logits shifted by the row's maximum `d`: the entropy's sum of
  /// the statistics (``EntropySum``), or nothing.
  protocol EntropyPolicy {
    /// Adds the terms of two steps of 16 lanes.
    func accumulate(_ h: inout Vector, _ e0: Vector, _ d0: Vector, _ e1: Vector, _ d1: Vector)
    /// Adds the terms of one step of 16 lanes (lanes past a partial step hold `e = 0`).
    func accumulate(_ h: inout Vector, _ e: Vector, _ d: Vector)
  }

  /// Nothing (the plain loss and gradient).
  struct NoEntropy: EntropyPolicy {
    @inline(__always) func accumulate(
      _ h: inout Vector, _ e0: Vector, _ d0: Vector, _ e1: Vector, _ d1: Vector
    ) {}
    @inline(__always) func accumulate(_ h: inout Vector, _ e: Vector, _ d: Vector) {}
  }

  /// The additive part of a gradient element: `e * k + add[i]`.
  protocol AddendPolicy {
    func apply(_ e: Vector, _ k: Vector, _ i: Int) -> Vector
    /// The tail form: only the first `count` lanes matter, and only they may be read.
    func apply(_ e: Vector, _ k: Vector, _ i: Int, count: Int) -> Vector
  }

  /// No addend.
  struct NoAddend: AddendPolicy {
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int) -> Vector { e * k }
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int, count: Int) -> Vector {
      e * k
    }
  }

  /// The same addend for every class.
  struct ConstantAddend: AddendPolicy {
    let value: Vector
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, value)
    }
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int, count: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, value)
    }
  }

  /// One addend per class.
  struct PerClassAddend: AddendPolicy {
    let values: UnsafePointer<Float>
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, VectorMath.load(values, i))
    }
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int, count: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, VectorMath.loadPartial(values, i, count: count, fill: 0))
    }
  }

  /// One addend per class times a factor: `e * k + add[i] * factor`.
  struct ScaledPerClassAddend: AddendPolicy {
    let values: UnsafePointer<Float>
    let factor: Vector
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, VectorMath.load(values, i) * factor)
    }
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int, count: Int) -> Vector {
      VectorMath.multiplyAdd(
        e, k, VectorMath.loadPartial(values, i, count: count, fill: 0) * factor)
    }
  }

  /// Probability targets: `t' = t (1 - e) + e / C` (with label smoothing `e`), times the class
  /// weight if any; accumulates `sum w t' (x - shift)` and `sum w t'`.
  struct TargetSide<E: KernelStorage>: SidePolicy {
    let targets: UnsafePointer<E.Stored>
    let weights: UnsafePointer<Float>?
    let keep: Float
    let uniform: Float

    /// `w[i] t'[i]` for 16 classes.
    @inline(__always) func weighted(_ i: Int) -> Vector {
      var t = VectorMath.multiplyAdd(
        E.load(targets, i), Vector(repeating: keep), .init(repeating: uniform))
      if let weights { t *= VectorMath.load(weights, i) }
      return t
    }

    @inline(__always) func weighted(_ i: Int, count: Int) -> Vector {
      var t =
        E.loadPartial(targets, i, count: count, fill: 0) * keep + Vector(repeating: uniform)
      if let weights { t *= VectorMath.loadPartial(weights, i, count: count, fill: 0) }
      for j in count..<16 { t[j] = 0 }
      return t
    }

    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int) {}
    @inline(__always) func accumulate(_ t: inout Vector, _ d: Vector, _ i: Int, count: Int) {}
    @inline(__always)
    func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ i: Int) {
      let wt = weighted(i)
      t = VectorMath.multiplyAdd(wt, d, t)
      u += wt
    }
    @inline(__always)
    func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ i: Int, count: Int) {
      let wt = weighted(i, count: count)
      for j in 0..<count { t[j] += wt[j] * d[j] }
      u += wt
    }
  }

  /// The gradient addend of probability targets: `-scale * w[i] t'[i]`.
  struct TargetAddend<E: KernelStorage>: AddendPolicy {
    let side: TargetSide<E>
    let negativeScale: Vector

    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, side.weighted(i) * negativeScale)
    }
    @inline(__always) func apply(_ e: Vector, _ k: Vector, _ i: Int, count: Int) -> Vector {
      VectorMath.multiplyAdd(e, k, side.weighted(i, count: count) * negativeScale)
    }
  }
}

extension FusedRows.SidePolicy {
  @inline(__always)
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ i: Int) {
    accumulate(&t, d, i)
  }
  @inline(__always)
  func accumulate(_ t: inout Vector, _ u: inout Vector, _ d: Vector, _ i: Int, count: Int) {
    accumulate(&t, d, i, count: count)
  }
}
