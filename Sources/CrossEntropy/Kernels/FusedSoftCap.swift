/// Logit soft-capping in the fused kernels (Gemma 2): `x' = c * tanh(x / c)` before the
/// softmax, and the chain-rule factor `dx'/dx = 1 - (x'/c)^2` on the gradient.
///
/// A capped row is first written in fp32 to a scratch row (one exp per element, in the tanh);
/// the unchanged fused row kernel then runs on that row as fp32 logits (max; exp stored and
/// summed; scale), and a last pass multiplies its fp32 gradient by the factor while storing it
/// as the element type. So a row that fits in cache costs two exps per element, and no N x C
/// temporary is made (one or two rows of scratch per thread).
extension FusedRows {
  /// The soft cap `c` and its reciprocal, in fp32.
  struct SoftCap {
    let cap: Float
    let inverse: Float

    init(_ cap: Double) {
      self.cap = Float(cap)
      self.inverse = Float(1 / cap)
    }
  }

  /// `s[i] = c * tanh(x[i] / c)` over a row, in fp32.
  @inline(__always)
  static func softCap<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, into s: UnsafeMutablePointer<Float>,
    _ softCap: SoftCap, _: E.Type
  ) {
    let c = Vector(repeating: softCap.cap)
    let inverse = Vector(repeating: softCap.inverse)
    var i = 0
    while i + 32 <= count {
      let v0 = VectorMath.softCap(E.load(x, i), cap: c, inverse: inverse)
      let v1 = VectorMath.softCap(E.load(x, i + 16), cap: c, inverse: inverse)
      VectorMath.store(v0, s, i)
      VectorMath.store(v1, s, i + 16)
      i += 32
    }
    while i + 16 <= count {
      VectorMath.store(VectorMath.softCap(E.load(x, i), cap: c, inverse: inverse), s, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let v = E.loadPartial(x, i, count: n, fill: 0)
      VectorMath.storePartial(VectorMath.softCap(v, cap: c, inverse: inverse), s, i, count: n)
    }
  }

  /// `g[i] = source[i] * (1 - t) * (1 + t)` with `t = s[i] / c` (the chain rule of the cap)
  /// over a row, stored as the element type. `source` may be `g` when the elements are fp32.
  @inline(__always)
  static func softCapGradient<E: KernelStorage>(
    _ source: UnsafePointer<Float>, capped s: UnsafePointer<Float>,
    into g: UnsafeMutablePointer<E.Stored>, count: Int, _ softCap: SoftCap, _: E.Type
  ) {
    let inverse = Vector(repeating: softCap.inverse)
    @inline(__always) func factor(_ capped: Vector) -> Vector {
      let t = capped * inverse
      return (1 - t) * (1 + t)
    }
    var i = 0
    while i + 32 <= count {
      let g0 = VectorMath.load(source, i) * factor(VectorMath.load(s, i))
      let g1 = VectorMath.load(source, i + 16) * factor(VectorMath.load(s, i + 16))
      E.store(g0, g, i)
      E.store(g1, g, i + 16)
      i += 32
    }
    while i + 16 <= count {
      E.store(VectorMath.load(source, i) * factor(VectorMath.load(s, i)), g, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let v =
        VectorMath.loadPartial(source, i, count: n, fill: 0)
        * factor(VectorMath.loadPartial(s, i, count: n, fill: 0))
      E.storePartial(v, g, i, count: n)
    }
  }
}

extension FusedSoftmax {
  /// One row of class-index labels with the soft cap: caps the row into `capped` (fp32, `classes`
  /// elements), runs ``row(_:gradient:label:scratch:_:)`` on it, and applies the cap's chain
  /// rule to the gradient. `wide` is an fp32 row for the gradient when the elements are not fp32.
  @inline(__always)
  func cappedRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, gradient g: UnsafeMutablePointer<E.Stored>?, label: Int,
    softCap: FusedRows.SoftCap, capped: UnsafeMutablePointer<Float>,
    wide: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (nll: Double, smooth: Double, lse: Double) {
    guard let g else {
      if label == ignoreIndex { return (0, 0, 0) }
      FusedRows.softCap(x, count: classes, into: capped, softCap, e)
      return row(
        UnsafePointer(capped), gradient: nil, label: label, scratch: nil, FloatStorage.self)
    }
    FusedRows.softCap(x, count: classes, into: capped, softCap, e)
    // fp32 elements: the logits are read, so the gradient row itself holds the fp32 gradient.
    let g32 = wide ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
    let result = row(
      UnsafePointer(capped), gradient: g32, label: label, scratch: nil, FloatStorage.self)
    FusedRows.softCapGradient(
      UnsafePointer(g32), capped: UnsafePointer(capped), into: g, count: classes, softCap, e)
    return result
  }

  /// One row of probability targets with the soft cap (as ``cappedRow(_:gradient:label:softCap:capped:wide:_:)``).
  @inline(__always)
  func cappedProbabilityRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets t: UnsafePointer<E.Stored>,
    gradient g: UnsafeMutablePointer<E.Stored>?, softCap: FusedRows.SoftCap,
    capped: UnsafeMutablePointer<Float>, wide: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (loss: Double, lse: Double) {
    FusedRows.softCap(x, count: classes, into: capped, softCap, e)
    guard let g else {
      return probabilityRow(
        UnsafePointer(capped), targets: t, gradient: nil, scratch: nil, FloatStorage.self, e)
    }
    let g32 = wide ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
    let result = probabilityRow(
      UnsafePointer(capped), targets: t, gradient: g32, scratch: nil, FloatStorage.self, e)
    FusedRows.softCapGradient(
      UnsafePointer(g32), capped: UnsafePointer(capped), into: g, count: classes, softCap, e)
    return result
  }
}
