/// Row primitives of the fused fp32 softmax kernels: each sweeps one contiguous row of `count`
/// floats with four 16-lane accumulators, then a 16-lane step, then a masked tail.
///
/// None allocates; none calls libm. Sums are flushed from the fp32 lanes into a Double every
/// ``block`` elements, so a row of 256K classes loses no more than a short fp32 sum does.
enum FusedRows {
  /// Elements per block: the unit of the online softmax and of fp32 → Double flushes.
  /// 2048 floats (8 KiB) stay in L1 between a block's max pass and its exp pass.
  static let block = 2048

  /// The maximum of a row, ignoring NaN (like the reference's `x > maximum` scan); -inf for a
  /// row of -inf and NaN.
  @inline(__always)
  static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var m0 = Vector(repeating: -.infinity)
    var m1 = m0
    var m2 = m0
    var m3 = m0
    var i = 0
    while i + 64 <= count {
      m0 = VectorMath.maximum(m0, VectorMath.load(x, i))
      m1 = VectorMath.maximum(m1, VectorMath.load(x, i + 16))
      m2 = VectorMath.maximum(m2, VectorMath.load(x, i + 32))
      m3 = VectorMath.maximum(m3, VectorMath.load(x, i + 48))
      i += 64
    }
    while i + 16 <= count {
      m0 = VectorMath.maximum(m0, VectorMath.load(x, i))
      i += 16
    }
    if i < count {
      m1 = VectorMath.maximum(
        m1, VectorMath.loadPartial(x, i, count: count - i, fill: -.infinity))
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
  static func expSum(
    _ x: UnsafePointer<Float>, count: Int, shift: Float, store: UnsafeMutablePointer<Float>?,
    side: Side
  ) -> (sum: Double, side: Double) {
    var total = 0.0
    var sideTotal = 0.0
    var start = 0
    while start < count {
      let end = min(start + block, count)
      let (s, t) = expSumBlock(
        x, from: start, to: end, shift: shift, sideShift: shift, store: store, side: side)
      total += Double(s)
      sideTotal += Double(t)
      start = end
    }
    return (total, sideTotal)
  }

  /// One block of ``expSum(_:count:shift:store:side:)`` in fp32, the side term taken relative
  /// to `sideShift`: `sum w[i] * (x[i] - sideShift)`.
  @inline(__always)
  static func expSumBlock(
    _ x: UnsafePointer<Float>, from start: Int, to end: Int, shift: Float, sideShift: Float,
    store: UnsafeMutablePointer<Float>?, side: Side
  ) -> (Float, Float) {
    let m = Vector(repeating: shift)
    let ms = Vector(repeating: sideShift)
    var s0 = Vector.zero
    var s1 = Vector.zero
    var s2 = Vector.zero
    var s3 = Vector.zero
    var t0 = Vector.zero
    var t1 = Vector.zero
    var i = start
    @inline(__always) func step(_ i: Int, _ s: inout Vector, _ t: inout Vector) {
      let v = VectorMath.load(x, i)
      let e = VectorMath.exp(v - m)
      s += e
      switch side {
      case .none: break
      case .plain: t += v - ms
      case .weighted(let w): t = VectorMath.multiplyAdd(VectorMath.load(w, i), v - ms, t)
      }
      if let store { VectorMath.store(e, store, i) }
    }
    while i + 64 <= end {
      step(i, &s0, &t0)
      step(i + 16, &s1, &t1)
      step(i + 32, &s2, &t0)
      step(i + 48, &s3, &t1)
      i += 64
    }
    while i + 16 <= end {
      step(i, &s0, &t0)
      i += 16
    }
    if i < end {
      let n = end - i
      let v = VectorMath.loadPartial(x, i, count: n, fill: -.infinity)
      let e = VectorMath.exp(v - m)
      s1 += e
      switch side {
      case .none: break
      case .plain: for j in 0..<n { t1[j] += v[j] - sideShift }
      case .weighted(let w): for j in 0..<n { t1[j] += w[i + j] * (v[j] - sideShift) }
      }
      if let store { VectorMath.storePartial(e, store, i, count: n) }
    }
    return (VectorMath.sum((s0 + s1) + (s2 + s3)), VectorMath.sum(t0 + t1))
  }

  /// Online (blocked) softmax statistics of a row in one read: per block, the block maximum,
  /// one rescale of the running sum, then `exp(x - max)` summed while the block is in L1.
  ///
  /// The side term is accumulated relative to `sideShift` (a fixed value, so blocks add up).
  ///
  /// - Returns: The row maximum (ignoring NaN), the sum of `exp(x - max)` (NaN if the row holds
  ///   a NaN), the side sum and its shift. A non-finite maximum is the caller's to handle.
  @inline(__always)
  static func onlineStatistics(
    _ x: UnsafePointer<Float>, count: Int, side: Side
  ) -> (maximum: Float, sum: Double, side: Double, sideShift: Float) {
    var runningMax = -Float.infinity
    var runningSum = 0.0
    var sideTotal = 0.0
    var sideShift: Float = 0
    var start = 0
    while start < count {
      let end = min(start + block, count)
      let blockMax = maximum(x + start, count: end - start)
      if blockMax == .infinity { return (blockMax, .nan, .nan, 0) }
      if start == 0, blockMax.isFinite { sideShift = blockMax }
      if blockMax > runningMax {
        if runningSum != 0 {
          runningSum *= Double(VectorMath.exp(runningMax - blockMax))
        }
        runningMax = blockMax
      }
      // Before any finite value, the shift is 0 and the block adds 0 (or NaN) to the sum.
      let (s, t) = expSumBlock(
        x, from: start, to: end, shift: runningMax == -.infinity ? 0 : runningMax,
        sideShift: sideShift, store: nil, side: side)
      runningSum += Double(s)
      sideTotal += Double(t)
      start = end
    }
    return (runningMax, runningSum, sideTotal, sideShift)
  }

  /// `g[i] = g[i] * k + add[i]` over a row (the gradient's scale pass; `add` is the smoothing
  /// gradient: nothing, a constant, or one value per class).
  @inline(__always)
  static func scale(
    _ g: UnsafeMutablePointer<Float>, count: Int, by k: Float, add: Addend
  ) {
    let kv = Vector(repeating: k)
    var i = 0
    @inline(__always) func step(_ i: Int) {
      let e = VectorMath.load(g, i)
      switch add {
      case .none: VectorMath.store(e * kv, g, i)
      case .constant(let c):
        VectorMath.store(VectorMath.multiplyAdd(e, kv, Vector(repeating: c)), g, i)
      case .perClass(let a):
        VectorMath.store(VectorMath.multiplyAdd(e, kv, VectorMath.load(a, i)), g, i)
      }
    }
    while i + 64 <= count {
      step(i)
      step(i + 16)
      step(i + 32)
      step(i + 48)
      i += 64
    }
    while i + 16 <= count {
      step(i)
      i += 16
    }
    while i < count {
      switch add {
      case .none: g[i] = g[i] * k
      case .constant(let c): g[i] = VectorMath.multiplyAdd(g[i], k, c)
      case .perClass(let a): g[i] = VectorMath.multiplyAdd(g[i], k, a[i])
      }
      i += 1
    }
  }

  /// The additive part of the gradient: 0, the same value for every class, or one per class.
  enum Addend {
    case none
    case constant(Float)
    case perClass(UnsafePointer<Float>)
  }

  /// `g[i] = exp(x[i] - shift) * k + add[i]` over a row (the gradient pass of rows too large
  /// for the cache, one more exp per element; `g` may be `x`).
  @inline(__always)
  static func exponentialGradient(
    _ x: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count: Int, shift: Float,
    by k: Float, add: Addend
  ) {
    let kv = Vector(repeating: k)
    let m = Vector(repeating: shift)
    @inline(__always) func value(_ e: Vector, _ i: Int) -> Vector {
      switch add {
      case .none: return e * kv
      case .constant(let c): return VectorMath.multiplyAdd(e, kv, Vector(repeating: c))
      case .perClass(let a): return VectorMath.multiplyAdd(e, kv, VectorMath.load(a, i))
      }
    }
    var i = 0
    while i + 16 <= count {
      let e = VectorMath.exp(VectorMath.load(x, i) - m)
      VectorMath.store(value(e, i), g, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let e = VectorMath.exp(VectorMath.loadPartial(x, i, count: n, fill: -.infinity) - m)
      for j in 0..<n {
        switch add {
        case .none: g[i + j] = e[j] * k
        case .constant(let c): g[i + j] = VectorMath.multiplyAdd(e[j], k, c)
        case .perClass(let a): g[i + j] = VectorMath.multiplyAdd(e[j], k, a[i + j])
        }
      }
    }
  }
}
