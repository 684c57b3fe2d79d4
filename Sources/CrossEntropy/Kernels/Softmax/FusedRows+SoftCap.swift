/// Logit soft-capping in the fused kernels (Gemma 2): `x' = c * tanh(x / c)` before the
/// softmax, and the chain-rule factor `dx'/dx = 1 - (x'/c)^2` on the gradient.
///
/// A capped row is first written in fp32 to a scratch row, with the factor into a second one
/// when there is a gradient (one exp per element, in the tanh, which also gives the factor with
/// a small relative error where tanh saturates); the unchanged fused row kernel then runs on the
/// capped row as fp32 logits (max; exp stored and summed; scale), and a last pass multiplies its
/// fp32 gradient by the factor while storing it as the element type. So a row that fits in
/// cache costs two exps per element, and no N x C temporary is made (two or three rows of
/// scratch per thread).
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

  /// `s[i] = c * tanh(x[i] / c)` over a row, in fp32, and the chain-rule factor
  /// `1 - tanh^2(x[i] / c)` into `derivative` (``Store``) or nowhere (``NoStore``).
  @inline(never)
  static func softCap<E: KernelStorage, D: StorePolicy>(
    _ x: UnsafePointer<E.Stored>, count: Int, into s: UnsafeMutablePointer<Float>,
    derivative: D, _ softCap: SoftCap, _: E.Type
  ) {
    let c = Vector(repeating: softCap.cap)
    let inverse = Vector(repeating: softCap.inverse)
    var i = 0
    while i + 32 <= count {
      let v0 = VectorMath.softCapWithDerivative(E.load(x, i), cap: c, inverse: inverse)
      let v1 = VectorMath.softCapWithDerivative(E.load(x, i + 16), cap: c, inverse: inverse)
      VectorMath.store(v0.value, s, i)
      VectorMath.store(v1.value, s, i + 16)
      derivative.store(v0.derivative, i)
      derivative.store(v1.derivative, i + 16)
      i += 32
    }
    while i + 16 <= count {
      let v = VectorMath.softCapWithDerivative(E.load(x, i), cap: c, inverse: inverse)
      VectorMath.store(v.value, s, i)
      derivative.store(v.derivative, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let v = VectorMath.softCapWithDerivative(
        E.loadPartial(x, i, count: n, fill: 0), cap: c, inverse: inverse)
      VectorMath.storePartial(v.value, s, i, count: n)
      derivative.storePartial(v.derivative, i, count: n)
    }
  }

  /// `g[i] = source[i] * derivative[i]` (the chain rule of the cap) over a row, stored as the
  /// element type. `source` may be `g` when the elements are fp32.
  @inline(never)
  static func softCapGradient<E: KernelStorage>(
    _ source: UnsafePointer<Float>, derivative d: UnsafePointer<Float>,
    into g: UnsafeMutablePointer<E.Stored>, count: Int, _: E.Type
  ) {
    var i = 0
    while i + 32 <= count {
      let g0 = VectorMath.load(source, i) * VectorMath.load(d, i)
      let g1 = VectorMath.load(source, i + 16) * VectorMath.load(d, i + 16)
      E.store(g0, g, i)
      E.store(g1, g, i + 16)
      i += 32
    }
    while i + 16 <= count {
      E.store(VectorMath.load(source, i) * VectorMath.load(d, i), g, i)
      i += 16
    }
    if i < count {
      let n = count - i
      let v =
        VectorMath.loadPartial(source, i, count: n, fill: 0)
        * VectorMath.loadPartial(d, i, count: n, fill: 0)
      E.storePartial(v, g, i, count: n)
    }
  }
}

extension FusedSoftmax {
  /// Scratch rows of one thread for soft-capped rows: the capped logits, the cap's derivative
  /// (with a gradient), and an fp32 gradient row when the elements are not fp32.
  struct CapScratch {
    let capped: UnsafeMutablePointer<Float>
    let derivative: UnsafeMutablePointer<Float>?
    let wide: UnsafeMutablePointer<Float>?
  }

  /// One row of class-index labels with the soft cap: caps the row into `scratch.capped`, runs
  /// ``row(_:gradient:label:scratch:_:)`` on it as fp32 logits, and applies the cap's chain
  /// rule to the gradient.
  @inline(__always)
  func cappedRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, gradient g: UnsafeMutablePointer<E.Stored>?, label: Int,
    softCap: FusedRows.SoftCap, scratch: CapScratch, _ e: E.Type
  ) -> (nll: Double, smooth: Double, lse: Double) {
    let capped = scratch.capped
    guard let g, let derivative = scratch.derivative else {
      if label == ignoreIndex { return (0, 0, 0) }
      FusedRows.softCap(
        x, count: classes, into: capped, derivative: FusedRows.NoStore(), softCap, e)
      return row(
        UnsafePointer(capped), gradient: nil, label: label, scratch: nil, FloatStorage.self)
    }
    FusedRows.softCap(
      x, count: classes, into: capped, derivative: FusedRows.Store(pointer: derivative), softCap, e)
    // fp32 elements: the logits are read, so the gradient row itself holds the fp32 gradient.
    let g32 = scratch.wide ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
    let result = row(
      UnsafePointer(capped), gradient: g32, label: label, scratch: nil, FloatStorage.self)
    FusedRows.softCapGradient(
      UnsafePointer(g32), derivative: UnsafePointer(derivative), into: g, count: classes, e)
    return result
  }

  /// One row of probability targets with the soft cap (as
  /// ``cappedRow(_:gradient:label:softCap:scratch:_:)``).
  @inline(__always)
  func cappedProbabilityRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets t: UnsafePointer<E.Stored>,
    gradient g: UnsafeMutablePointer<E.Stored>?, softCap: FusedRows.SoftCap,
    scratch: CapScratch, _ e: E.Type
  ) -> (loss: Double, lse: Double) {
    let capped = scratch.capped
    guard let g, let derivative = scratch.derivative else {
      FusedRows.softCap(
        x, count: classes, into: capped, derivative: FusedRows.NoStore(), softCap, e)
      return probabilityRow(
        UnsafePointer(capped), targets: t, gradient: nil, scratch: nil, FloatStorage.self, e)
    }
    FusedRows.softCap(
      x, count: classes, into: capped, derivative: FusedRows.Store(pointer: derivative), softCap, e)
    let g32 = scratch.wide ?? UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
    let result = probabilityRow(
      UnsafePointer(capped), targets: t, gradient: g32, scratch: nil, FloatStorage.self, e)
    FusedRows.softCapGradient(
      UnsafePointer(g32), derivative: UnsafePointer(derivative), into: g, count: classes, e)
    return result
  }

  /// Allocates one thread's ``CapScratch`` (nil without a soft cap), runs `body`, frees it.
  @inline(__always)
  static func withCapScratch<R>(
    softCap: FusedRows.SoftCap?, classes: Int, gradient: Bool,
    wide: UnsafeMutablePointer<Float>?, _ body: (CapScratch?) -> R
  ) -> R {
    guard softCap != nil else { return body(nil) }
    let capped = UnsafeMutablePointer<Float>.allocate(capacity: classes)
    defer { capped.deallocate() }
    let derivative = gradient ? UnsafeMutablePointer<Float>.allocate(capacity: classes) : nil
    defer { derivative?.deallocate() }
    return body(CapScratch(capped: capped, derivative: derivative, wide: wide))
  }
}
