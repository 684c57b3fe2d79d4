/// The fused binary cross-entropy with logits (see ``BinaryCrossEntropy``): one read of the
/// logits and targets, one write of the loss (`.none`) and of the gradient (which may be the
/// logits), and one vector exp per element shared by the softplus and the sigmoid.
///
/// Per element, with `e = exp(-|x|)`, `u = 1 + e`, `r = 1 / u`:
///
/// ```
/// softplus(-x) = -log_sigmoid(x) = log1p(e) + max(-x, 0)
/// sigmoid(x)   = r (x >= 0), e r (x < 0)
/// l            = w ((1 - y) x + (1 + (pw - 1) y) softplus(-x))
/// dl/dx        = w ((pw y + 1 - y) sigmoid(x) - pw y) * scale
/// ```
///
/// which is PyTorch's `binary_cross_entropy_with_logits` and its backward in the same order of
/// operations, in fp32 (the reference rounds every step to the input type; here the exp and
/// log1p are the vector routines, within 2 ULP, and products may be fused). Infinite and NaN
/// logits or targets need no special case: the IEEE arithmetic gives the reference's infinities
/// and NaNs (exp(-inf) is 0, so `|x| = inf` gives softplus 0 or inf and sigmoid 0 or 1).
///
/// Weights that repeat along the flattened elements (none; a scalar; a vector along the last
/// axis, or any trailing block of the target's shape; the full shape) are read as vectors;
/// other broadcasts take the reference. Sums run in fp32 lanes over fixed blocks of ``block``
/// elements, flushed to Double and added in block order, so that the result does not depend on
/// the thread count.
enum FusedBinaryCrossEntropy {
  /// The elements of one summation block (and the unit of the thread split).
  static let block = 2048

  /// The longest repeating weight copied into a wrap-around buffer (elements); a longer one is
  /// only read in place when it covers the whole input.
  static let longestRepeatedWeight = 1 << 16

  /// The period with which a weight of shape `source`, broadcast right-aligned to `target`,
  /// repeats along the flattened elements, or nil when it does not simply repeat (a per-channel
  /// `[C, 1, 1]` weight, say). `source` must broadcast to `target`.
  static func period(source: [Int], target: [Int]) -> Int? {
    var trailing = source[...]
    while trailing.first == 1 { trailing = trailing.dropFirst() }
    guard trailing.elementsEqual(target.suffix(trailing.count)) else { return nil }
    return trailing.reduce(1, *)
  }

  /// Runs the kernel over `count` elements and returns the sum of the (weighted) losses in
  /// Double; per-element losses go to `loss` when it is not nil (`.none`), scaled derivatives
  /// to `gradient` (which may be `logits`), each times its element of `upstream` when that is
  /// not nil (the upstream gradient of `.none`, read as the derivative is stored). `threads`
  /// overrides the thread count (tests).
  static func run<S: KernelStorage>(
    _: S.Type, logits: UnsafePointer<S.Stored>, targets: UnsafePointer<S.Stored>, count: Int,
    weight: RepeatingWeight<S>?, positiveWeight: RepeatingWeight<S>?, gradientScale: Float,
    loss: UnsafeMutablePointer<S.Stored>?, gradient: UnsafeMutablePointer<S.Stored>?,
    upstream: UnsafePointer<S.Stored>? = nil, threads: Int? = nil
  ) -> Double {
    let data = Inputs<S>(
      x: logits, y: targets, count: count, gradientScale: gradientScale, threads: threads)
    switch (weight, positiveWeight) {
    case (nil, nil): return outputs(data, NoWeight(), NoWeight(), loss, gradient, upstream)
    case (let w?, nil): return outputs(data, w, NoWeight(), loss, gradient, upstream)
    case (nil, let p?): return outputs(data, NoWeight(), p, loss, gradient, upstream)
    case (let w?, let p?): return outputs(data, w, p, loss, gradient, upstream)
    }
  }

  private static func outputs<S: KernelStorage, W: WeightPolicy, P: WeightPolicy>(
    _ data: Inputs<S>, _ weight: W, _ positiveWeight: P,
    _ loss: UnsafeMutablePointer<S.Stored>?, _ gradient: UnsafeMutablePointer<S.Stored>?,
    _ upstream: UnsafePointer<S.Stored>?
  ) -> Double {
    // Stores are policy types, so that the hot loop has no branch.
    if let gradient, let upstream {
      let g = UpstreamOutput<S>(pointer: gradient, upstream: upstream)
      guard let loss else { return blocks(data, weight, positiveWeight, NoOutput(), g) }
      return blocks(data, weight, positiveWeight, Output<S>(pointer: loss), g)
    }
    switch (loss, gradient) {
    case (nil, nil):
      return blocks(data, weight, positiveWeight, NoOutput(), NoOutput())
    case (let l?, nil):
      return blocks(data, weight, positiveWeight, Output<S>(pointer: l), NoOutput())
    case (nil, let g?):
      return blocks(data, weight, positiveWeight, NoOutput(), Output<S>(pointer: g))
    case (let l?, let g?):
      return blocks(data, weight, positiveWeight, Output<S>(pointer: l), Output<S>(pointer: g))
    }
  }

  private static func blocks<
    S: KernelStorage, W: WeightPolicy, P: WeightPolicy, L: OutputPolicy, G: OutputPolicy
  >(_ data: Inputs<S>, _ weight: W, _ positiveWeight: P, _ loss: L, _ gradient: G) -> Double {
    let blocks = (data.count + block - 1) / block
    let partials = UnsafeMutableBufferPointer<Double>.allocate(capacity: blocks)
    defer { partials.deallocate() }
    let threads = data.threads ?? Threads.count(rows: blocks, elementsPerRow: block)
    Threads.forEachRange(rows: blocks, threads: threads) { range in
      for b in range {
        partials[b] = Self.block(
          data, start: b * block, end: min(data.count, (b + 1) * block), weight, positiveWeight,
          loss, gradient)
      }
    }
    var total = 0.0
    for b in 0..<blocks { total += partials[b] }
    return total
  }

  /// One block: the sum of its losses, with the per-element losses and derivatives stored.
  // Not inlined: each variant keeps its own branch-free loop.
  @inline(never)
  static func block<
    S: KernelStorage, W: WeightPolicy, P: WeightPolicy, L: OutputPolicy, G: OutputPolicy
  >(
    _ data: Inputs<S>, start: Int, end: Int, _ weight: W, _ positiveWeight: P, _ loss: L,
    _ gradient: G
  ) -> Double {
    let (x, y) = (data.x, data.y)
    let k = Vector(repeating: data.gradientScale)
    var sum = Vector.zero
    var weightOffset = weight.offset(of: start)
    var positiveOffset = positiveWeight.offset(of: start)
    let fullEnd = start + (end - start) / 16 * 16
    var i = start
    while i < fullEnd {
      var (value, slope) = element(
        S.load(x, i), S.load(y, i), positiveWeight.load(positiveOffset), P.self)
      if W.isPresent {
        let w = weight.load(weightOffset)
        value *= w
        slope *= w
      }
      sum += value
      loss.store(value, i)
      gradient.store(slope * k, i)
      weightOffset = weight.advance(weightOffset)
      positiveOffset = positiveWeight.advance(positiveOffset)
      i += 16
    }
    var total = Double(VectorMath.sum(sum))
    if fullEnd < end {
      let n = end - fullEnd
      var w = Vector(repeating: 1)
      var pw = Vector(repeating: 1)
      for j in 0..<n {
        w[j] = weight.lane(weightOffset, j)
        pw[j] = positiveWeight.lane(positiveOffset, j)
      }
      var (value, slope) = element(
        S.loadPartial(x, i, count: n, fill: 0), S.loadPartial(y, i, count: n, fill: 0), pw,
        P.self)
      if W.isPresent {
        value *= w
        slope *= w
      }
      loss.storePartial(value, i, count: n)
      gradient.storePartial(slope * k, i, count: n)
      for j in 0..<n { total += Double(value[j]) }
    }
    return total
  }

  /// The loss and derivative (unweighted, unscaled) of 16 elements.
  @inline(__always)
  static func element<P: WeightPolicy>(
    _ x: Vector, _ y: Vector, _ positiveWeight: Vector, _: P.Type
  ) -> (value: Vector, slope: Vector) {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let negative = VectorMath.signMask(x)
    let e = VectorMath.expOfNonPositive(unsafeBitCast(bits | 0x8000_0000, to: Vector.self))
    let r = 1 / (1 + e)
    let sigmoid = VectorMath.select(negative, e * r, r)
    // max(-x, 0): the magnitude's bits where x is negative (no negation: Swift's subtracts).
    let negativePart = unsafeBitCast((bits & 0x7fff_ffff) & negative, to: Vector.self)
    let softplus = VectorMath.log1pOfUnit(e) + negativePart
    let oneMinusY = 1 - y
    guard P.isPresent else {
      return (VectorMath.multiplyAdd(oneMinusY, x, softplus), sigmoid - y)
    }
    let logWeight = VectorMath.multiplyAdd(positiveWeight - 1, y, Vector(repeating: 1))
    let t = positiveWeight * y
    return (
      VectorMath.multiplyAdd(logWeight, softplus, oneMinusY * x),
      VectorMath.multiplyAdd((t + 1) - y, sigmoid, -t)
    )
  }
}

// MARK: - Policies

/// The inputs and the policy types of the kernel (generic parameters, so that each variant is
/// its own specialisation with no branch in its loops).
extension FusedBinaryCrossEntropy {
  /// The inputs of one kernel call.
  struct Inputs<S: KernelStorage> {
    let x: UnsafePointer<S.Stored>
    let y: UnsafePointer<S.Stored>
    let count: Int
    let gradientScale: Float
    let threads: Int?
  }

  /// How a weight is read along the flattened elements: through an offset into its values that
  /// the kernel carries along (no division per vector).
  protocol WeightPolicy {
    /// False for the absent weight (the kernel then skips the multiplication).
    static var isPresent: Bool { get }
    /// The offset of element `index`.
    func offset(of index: Int) -> Int
    /// The offset 16 elements further.
    func advance(_ offset: Int) -> Int
    /// The 16 weights from `offset` on.
    func load(_ offset: Int) -> Vector
    /// The weight `lane` elements after `offset`.
    func lane(_ offset: Int, _ lane: Int) -> Float
  }

  /// No weight (every weight 1).
  struct NoWeight: WeightPolicy {
    static var isPresent: Bool { false }
    @inline(__always) func offset(of index: Int) -> Int { 0 }
    @inline(__always) func advance(_ offset: Int) -> Int { 0 }
    @inline(__always) func load(_ offset: Int) -> Vector { Vector(repeating: 1) }
    @inline(__always) func lane(_ offset: Int, _ lane: Int) -> Float { 1 }
  }

  /// A weight whose values repeat with period `period` along the flattened elements. `values`
  /// holds at least `period + 15` values, `values[j] = weight[j % period]` (a wrap-around copy),
  /// or exactly `period` values when the period covers the whole input (no vector wraps then).
  struct RepeatingWeight<S: KernelStorage>: WeightPolicy {
    let values: UnsafePointer<S.Stored>
    let period: Int
    /// `16 % period`.
    let step: Int

    init(values: UnsafePointer<S.Stored>, period: Int) {
      self.values = values
      self.period = period
      self.step = 16 % period
    }

    static var isPresent: Bool { true }
    @inline(__always) func offset(of index: Int) -> Int { index % period }
    @inline(__always) func advance(_ offset: Int) -> Int {
      let next = offset + step
      return next >= period ? next - period : next
    }
    @inline(__always) func load(_ offset: Int) -> Vector { S.load(values, offset) }
    @inline(__always) func lane(_ offset: Int, _ lane: Int) -> Float {
      S.float(values[(offset + lane) % period])
    }
  }

  /// Where the kernel writes 16 results.
  protocol OutputPolicy {
    func store(_ v: Vector, _ i: Int)
    func storePartial(_ v: Vector, _ i: Int, count: Int)
  }

  /// The results are not kept.
  struct NoOutput: OutputPolicy {
    @inline(__always) func store(_ v: Vector, _ i: Int) {}
    @inline(__always) func storePartial(_ v: Vector, _ i: Int, count: Int) {}
  }

  /// The results are written, rounded to the storage type.
  struct Output<S: KernelStorage>: OutputPolicy {
    let pointer: UnsafeMutablePointer<S.Stored>
    @inline(__always) func store(_ v: Vector, _ i: Int) { S.store(v, pointer, i) }
    @inline(__always) func storePartial(_ v: Vector, _ i: Int, count: Int) {
      S.storePartial(v, pointer, i, count: count)
    }
  }

  /// The results times the upstream gradient's elements at the same indices, written rounded
  /// to the storage type (the gradient of `.none` with an upstream gradient; each upstream
  /// element is read before the result at its index is written).
  struct UpstreamOutput<S: KernelStorage>: OutputPolicy {
    let pointer: UnsafeMutablePointer<S.Stored>
    let upstream: UnsafePointer<S.Stored>
    @inline(__always) func store(_ v: Vector, _ i: Int) {
      S.store(v * S.load(upstream, i), pointer, i)
    }
    @inline(__always) func storePartial(_ v: Vector, _ i: Int, count: Int) {
      S.storePartial(
        v * S.loadPartial(upstream, i, count: count, fill: 0), pointer, i, count: count)
    }
  }
}
