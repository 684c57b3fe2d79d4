import RealModule

/// The fused fp32 softmax focal loss (see ``SoftmaxFocalLoss``): classes on the last axis (or
/// any axis with nothing after it), every option of ``Reference/softmaxFocal``.
///
/// A row costs what a softmax cross-entropy row costs (``FusedRows``: a max pass, `exp(x -
/// max)` stored into the gradient and summed, a scale pass; the online softmax for rows too
/// large for the cache): the focal factor depends on the row only through `log p_y`, evaluated
/// once per row in Double. The gradient is `alpha[y] f'(u) (onehot(y) - softmax(x))`.
struct FusedSoftmaxFocal {
  let classes: Int
  let ignoreIndex: Int
  let gamma: Double
  let alpha: UnsafeBufferPointer<Double>?
  /// The factor of each row's gradient: 1 / kept rows for `.mean`, else 1 (times the row's
  /// sample weight and upstream gradient, if any).
  var gradientScale: Double

  /// Runs the kernel over `rows` rows of `classes` logits; `loss` holds `rows` values for
  /// `.none`, else 1. `rowScales` holds the rows' sample weights and upstream gradient, if
  /// any; `threads` overrides the thread count (tests).
  static func run(
    logits: UnsafePointer<Float>, labels: UnsafeBufferPointer<Int>,
    alpha: UnsafeBufferPointer<Double>?, classes: Int, ignoreIndex: Int, gamma: Double,
    reduction: Reduction, loss: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?,
    mean: MeanRule = MeanRule(), rowScales: RowScales? = nil, threads: Int? = nil
  ) {
    let rows = labels.count
    var kept = 0.0
    if let rowScales, rowScales.loss != nil {
      kept =
        rowScales.weightedCounts(
          rows: rows, labels: labels, ignoreIndex: ignoreIndex, classWeight: { _ in 1 }
        ).plain
    } else {
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    kept = mean.denominator(counted: kept)
    let perRow = reduction == .none
    let scale = reduction == .mean ? 1 / kept : 1
    let kernel = FusedSoftmaxFocal(
      classes: classes, ignoreIndex: ignoreIndex, gamma: gamma, alpha: alpha,
      gradientScale: perRow ? 1 : scale)
    let terms = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows)
    defer { terms.deallocate() }
    let threads = threads ?? Threads.count(rows: rows, elementsPerRow: classes)
    Threads.forEachRange(rows: rows, threads: threads) { range in
      for r in range {
        guard let rowScales, labels[r] != ignoreIndex else {
          terms[r] = kernel.row(
            logits + r * classes, gradient: gradient.map { $0 + r * classes }, label: labels[r])
          continue
        }
        // A row with a sample weight or an upstream gradient: its factors.
        var rowKernel = kernel
        rowKernel.gradientScale = kernel.gradientScale * rowScales.gradientFactor(r)
        terms[r] =
          rowKernel.row(
            logits + r * classes, gradient: gradient.map { $0 + r * classes }, label: labels[r])
          * rowScales.lossFactor(r)
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

  /// The loss of a row with log-probability `logP` and probability `p` of its label, and the
  /// factor of its gradient, `alpha[y] f'(u)` at `u = log p_y` (before the reduction's scale).
  /// `p` comes from the row's exponentials (no libm call in the kernel).
  @inline(__always)
  func focal(_ logP: Double, _ p: Double, label: Int) -> (value: Double, factor: Double) {
    Reference.softmaxFocalRow(logP: logP, p: p, weight: alpha?[label] ?? 1, gamma: gamma)
  }

  /// One row: its loss, and its gradient if `g` is not nil (`g` may be `x`: the label's logit
  /// is read before the row is overwritten).
  @inline(__always)
  func row(_ x: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>?, label: Int)
    -> Double
  {
    if label == ignoreIndex {
      if let g { g.update(repeating: 0, count: classes) }
      return 0
    }
    guard let g else {
      let stats = FusedRows.onlineStatistics(x, count: classes, side: .none, FloatStorage.self)
      guard stats.maximum.isFinite else { return scalarRow(x, gradient: nil, label: label) }
      let p = Double(VectorMath.exp(x[label] - stats.maximum)) / stats.sum
      let logP = (Double(x[label]) - Double(stats.maximum)) - .log(stats.sum)
      return focal(logP, p, label: label).value
    }
    let value: Double
    let factor: Double
    let labelProbability: Double
    let labelLogit = Double(x[label])
    if 2 * classes * MemoryLayout<Float>.stride <= FusedSoftmax.cachedRowBytes {
      let m = FusedRows.maximum(x, count: classes, FloatStorage.self)
      guard m.isFinite else { return scalarRow(x, gradient: g, label: label) }
      let (sum, _) = FusedRows.expSum(
        x, count: classes, shift: m, store: g, side: .none, FloatStorage.self)
      labelProbability = Double(g[label]) / sum
      (value, factor) = focal((labelLogit - Double(m)) - .log(sum), labelProbability, label: label)
      FusedRows.scale(
        g, into: g, count: classes, by: Float(-factor * gradientScale / sum), add: .none,
        FloatStorage.self)
    } else {
      let stats = FusedRows.onlineStatistics(x, count: classes, side: .none, FloatStorage.self)
      guard stats.maximum.isFinite else { return scalarRow(x, gradient: g, label: label) }
      labelProbability = Double(VectorMath.exp(x[label] - stats.maximum)) / stats.sum
      let logP = (Double(x[label]) - Double(stats.maximum)) - .log(stats.sum)
      (value, factor) = focal(logP, labelProbability, label: label)
      FusedRows.exponentialGradient(
        x, g, count: classes, shift: stats.maximum, by: Float(-factor * gradientScale / stats.sum),
        add: .none, FloatStorage.self)
    }
    g[label] = Float(factor * gradientScale * (1 - labelProbability))
    return value
  }

  /// A row whose maximum is not finite (+inf, or only -inf and NaN): the reference's formulas
  /// in Double. Not inlined: it is not a loop over well-formed data.
  @inline(never)
  func scalarRow(_ x: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>?, label: Int)
    -> Double
  {
    let row = (0..<classes).map { Double(x[$0]) }
    var probabilities = [Double](repeating: 0, count: classes)
    let lse = Reference.softmax(row, into: &probabilities)
    let logP = lse.logProbability(row[label])
    let (value, factor) = focal(logP, .exp(logP), label: label)
    if let g {
      for c in 0..<classes {
        let indicator: Double = c == label ? 1 : 0
        g[c] = Float(factor * gradientScale * (indicator - probabilities[c]))
      }
    }
    return value
  }
}

/// The fused fp32 sigmoid focal loss (see ``SigmoidFocalLoss``) for whole `gamma` in 0...4
/// (torchvision's default is 2), by multiplication, and for fractional `gamma` in (1, 16], by
/// `exp(gamma log b)` with the vector exp and log; other exponents take the reference.
///
/// Per element, one vector exp, two divisions and no logarithm: with `e = exp(-|x|)`,
/// `p = sigmoid(x)` and `q = 1 - p` both from `e / (1 + e)` and `1 / (1 + e)` (no cancellation),
/// and `log1p(e)` from ``VectorMath/log1pOfUnit(_:)`` (`2 atanh(e / (2 + e))`),
///
/// ```
/// ce       = (max(x, 0) - x y) + log1p(e)
/// 1 - p_t  = y q + (1 - y) p
/// p - y    = (1 - y) p - y q
/// ```
///
/// which are the reference's quantities rearranged so that fp32 keeps them accurate for the
/// confident elements (reference: Double). Elements whose logit or target is not finite are
/// evaluated by the reference's scalar formula. Sums run in fp32 lanes over fixed blocks of
/// ``block`` elements, flushed to Double and added in block order, so the result does not
/// depend on the thread count.
enum FusedSigmoidFocal {
  /// The elements of one summation block (and the unit of the thread split).
  static let block = 2048

  /// Whether the fast kernel evaluates `gamma`: a whole number from 0 to 4, or a number in
  /// (1, 16]. (Below 1, `b^(gamma - 1)` is infinite at `b = 0`, where the reference's NaN
  /// gradients depend on the exact rounding of `1 - p_t`: those take the reference.)
  static func supports(gamma: Double) -> Bool {
    (gamma >= 0 && gamma <= 4 && gamma == gamma.rounded(.towardZero))
      || (gamma > 1 && gamma <= 16)
  }

  /// Runs the kernel over `count` elements; `loss` holds `count` values for `.none`, else 1.
  /// `gamma` must satisfy ``supports(gamma:)``. `scales` (sample weights and upstream
  /// gradient) multiply each element's loss and gradient, as fp32 factors of the block's
  /// elements. `.mean` divides by `normalizer` when it is not nil, else by `count`. `threads`
  /// overrides the thread count (tests).
  static func run(
    logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int, alpha: Double,
    gamma: Double, reduction: Reduction, normalizer: Double? = nil,
    loss: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?,
    scales: ElementScales? = nil, threads: Int? = nil
  ) {
    let mean = normalizer ?? Double(count)
    let args = (logits, targets, count, alpha, reduction, mean, loss, gradient, scales, threads)
    switch gamma {
    case 0: run(Power0(), args)
    case 1: run(Power1(), args)
    case 2: run(Power2(), args)
    case 3: run(Power3(), args)
    case 4: run(Power4(), args)
    default: run(FractionalPower(gamma: gamma), args)
    }
  }

  static func run<P: Power>(
    _ power: P,
    _ args: (
      UnsafePointer<Float>, UnsafePointer<Float>, Int, Double, Reduction, Double,
      UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?, ElementScales?, Int?
    )
  ) {
    let (x, y, count, alpha, reduction, mean, loss, gradient, scales, threadOverride) = args
    let perElement = reduction == .none
    let scale = reduction == .mean ? 1 / mean : 1
    // a_t = alpha y + (1 - alpha)(1 - y) = (1 - alpha) + (2 alpha - 1) y; 1 when disabled.
    let alphaBase: Float = alpha >= 0 ? Float(1 - alpha) : 1
    let alphaSlope: Float = alpha >= 0 ? Float(2 * alpha - 1) : 0
    let gradientScale = Float(perElement ? 1 : scale)
    let blocks = (count + block - 1) / block
    let partials = UnsafeMutableBufferPointer<Double>.allocate(capacity: blocks)
    defer { partials.deallocate() }
    let threads = threadOverride ?? Threads.count(rows: blocks, elementsPerRow: block)
    Threads.forEachRange(rows: blocks, threads: threads) { range in
      // With scales: the fp32 loss and gradient factors of one block.
      let factors = scales.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: 2 * block) }
      defer { factors?.deallocate() }
      for b in range {
        let (start, end) = (b * block, min(count, (b + 1) * block))
        let alpha = (alphaBase, alphaSlope, alpha)
        let stores = (perElement ? loss : nil, gradient)
        if let scales, let factors {
          for i in start..<end {
            factors[i - start] = Float(scales.lossFactor(i))
            factors[block + i - start] = Float(scales.gradientFactor(i))
          }
          partials[b] = Self.block(
            power, x, y, start, end, alpha, gradientScale, stores,
            BlockFactors(loss: factors, gradient: factors + block, start: start))
        } else {
          partials[b] = Self.block(
            power, x, y, start, end, alpha, gradientScale, stores, NoFactors())
        }
      }
    }
    if !perElement {
      var total = 0.0
      for b in 0..<blocks { total += partials[b] }
      loss[0] = Float(total * scale)
    }
  }

  /// One block with the stores `stores` (the per-element losses, the gradient) as policy
  /// types, so that the hot loop has no branch (a branch there splits the 16-lane code into
  /// 4-lane pieces).
  @inline(__always)
  static func block<P: Power, F: FactorPolicy>(
    _ power: P, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ start: Int, _ end: Int,
    _ alpha: (base: Float, slope: Float, raw: Double), _ gradientScale: Float,
    _ stores: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?), _ factors: F
  ) -> Double {
    switch stores {
    case (nil, nil):
      Self.block(
        power, x, y, start, end, alpha, gradientScale, FusedRows.NoStore(), FusedRows.NoStore(),
        factors)
    case (let l?, nil):
      Self.block(
        power, x, y, start, end, alpha, gradientScale, FusedRows.Store(pointer: l),
        FusedRows.NoStore(), factors)
    case (nil, let g?):
      Self.block(
        power, x, y, start, end, alpha, gradientScale, FusedRows.NoStore(),
        FusedRows.Store(pointer: g), factors)
    case (let l?, let g?):
      Self.block(
        power, x, y, start, end, alpha, gradientScale, FusedRows.Store(pointer: l),
        FusedRows.Store(pointer: g), factors)
    }
  }

  /// One block: the sum of its losses; per-element losses go to `lossStore`, scaled
  /// derivatives to `gradientStore`. Full vectors run straight-line code that only notes
  /// whether a logit or target is not finite; such a block (and the tail) is redone by
  /// ``checkedBlock(_:_:_:start:end:alpha:gradientScale:loss:gradient:)``.
  // Not inlined: each variant keeps its own branch-free loop (inlined into the switch of the
  // caller, the forward-only variant's loop was split into 4-lane pieces).
  @inline(never)
  static func block<
    P: Power, L: FusedRows.StorePolicy, G: FusedRows.StorePolicy, F: FactorPolicy
  >(
    _ power: P, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ start: Int, _ end: Int,
    _ alpha: (base: Float, slope: Float, raw: Double), _ gradientScale: Float,
    _ lossStore: L, _ gradientStore: G, _ factors: F
  ) -> Double {
    let loss = (lossStore as? FusedRows.Store)?.pointer
    let gradient = (gradientStore as? FusedRows.Store)?.pointer
    let base = Vector(repeating: alpha.base)
    let slope = Vector(repeating: alpha.slope)
    let k = Vector(repeating: gradientScale)
    var sum = Vector.zero
    var finite = Vector.zero  // stays 0 unless some x * 0 or y * 0 is NaN
    let fullEnd = start + (end - start) / 16 * 16
    var i = start
    while i < fullEnd {
      let xv = VectorMath.load(x, i)
      let yv = VectorMath.load(y, i)
      finite = VectorMath.multiplyAdd(yv, .zero, VectorMath.multiplyAdd(xv, .zero, finite))
      let (unscaled, derivative) = element(power, xv, yv, base, slope)
      let value = factors.loss(unscaled, i)
      sum += value
      lossStore.store(value, i)
      gradientStore.store(factors.gradient(derivative * k, i), i)
      i += 16
    }
    let blockFactors = factors as? BlockFactors
    if VectorMath.sum(finite).isNaN {
      return checkedBlock(
        power, x, y, start: start, end: end, alpha: alpha, gradientScale: gradientScale,
        loss: loss, gradient: gradient, factors: blockFactors)
    }
    var total = Double(VectorMath.sum(sum))
    if fullEnd < end {
      total += checkedBlock(
        power, x, y, start: fullEnd, end: end, alpha: alpha, gradientScale: gradientScale,
        loss: loss, gradient: gradient, factors: blockFactors)
    }
    return total
  }

  /// ``block(_:_:_:_:_:_:_:_:_:_:)`` with partial vectors and
  /// non-finite elements, which take the reference's scalar formula.
  static func checkedBlock<P: Power>(
    _ power: P, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, start: Int, end: Int,
    alpha: (base: Float, slope: Float, raw: Double), gradientScale: Float,
    loss: UnsafeMutablePointer<Float>?, gradient: UnsafeMutablePointer<Float>?,
    factors: BlockFactors?
  ) -> Double {
    let base = Vector(repeating: alpha.base)
    let slope = Vector(repeating: alpha.slope)
    var sum = 0.0
    var i = start
    while i < end {
      let n = min(16, end - i)
      let xv = VectorMath.loadPartial(x, i, count: n, fill: 0)
      let yv = VectorMath.loadPartial(y, i, count: n, fill: 0)
      var (value, derivative) = element(power, xv, yv, base, slope)
      for j in 0..<n where !(xv[j].isFinite && yv[j].isFinite) {
        let exact = Reference.sigmoidFocal(
          Double(xv[j]), Double(yv[j]), alpha: alpha.raw, gamma: power.gamma)
        value[j] = Float(exact.value)
        derivative[j] = Float(exact.derivative)
      }
      for j in 0..<n {
        var scaled = derivative[j] * gradientScale
        if let factors {
          value[j] *= factors.loss[i + j - factors.start]
          scaled *= factors.gradient[i + j - factors.start]
        }
        if let loss { loss[i + j] = value[j] } else { sum += Double(value[j]) }
        if let gradient { gradient[i + j] = scaled }
      }
      i += n
    }
    return sum
  }

  /// The loss and derivative of 16 elements with finite logits and targets.
  @inline(__always)
  static func element<P: Power>(
    _ power: P, _ x: Vector, _ y: Vector, _ alphaBase: Vector, _ alphaSlope: Vector
  ) -> (value: Vector, derivative: Vector) {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let negative = VectorMath.signMask(x)
    let e = VectorMath.expOfNonPositive(unsafeBitCast(bits | 0x8000_0000, to: Vector.self))
    let r = 1 / (1 + e)
    let er = e * r
    let p = VectorMath.select(negative, er, r)  // sigmoid(x)
    let q = VectorMath.select(negative, r, er)  // sigmoid(-x) = 1 - p, without cancellation
    let positivePart = unsafeBitCast(bits & ~negative, to: Vector.self)  // max(x, 0)
    let oneMinusY = 1 - y
    let ce =
      VectorMath.multiplyAdd(VectorMath.negated(x), y, positivePart) + VectorMath.log1pOfUnit(e)
    let oneMinusPt = VectorMath.multiplyAdd(y, q, p * oneMinusY)
    // p - y cancels when p is close to y: one rounded product, not two.
    let pMinusY = VectorMath.multiplyAdd(p, oneMinusY, VectorMath.negated(y * q))
    let modulation = power.power(oneMinusPt)
    var derivative = pMinusY * modulation
    if power.gamma != 0 {
      // d(1 - p_t)/dx = p q (1 - 2y); p q = e r^2 whatever the sign of x.
      let gamma = Float(power.gamma)
      let signedGamma = VectorMath.multiplyAdd(
        y, Vector(repeating: -2 * gamma), Vector(repeating: gamma))  // gamma (1 - 2y)
      let chain = ce * power.powerBelow(oneMinusPt) * (er * r)
      derivative = VectorMath.multiplyAdd(chain, signedGamma, derivative)
    }
    let alphaT = VectorMath.multiplyAdd(y, alphaSlope, alphaBase)
    return (ce * modulation * alphaT, derivative * alphaT)
  }
}

// MARK: - Policies

/// The per-element factors of a block (sample weights and upstream gradients), as policy
/// types, so that the kernel without them keeps its loop as it is.
extension FusedSigmoidFocal {
  protocol FactorPolicy {
    /// The losses of 16 elements from `i` times their loss factors.
    func loss(_ value: Vector, _ i: Int) -> Vector
    /// The gradients of 16 elements from `i` times their gradient factors.
    func gradient(_ value: Vector, _ i: Int) -> Vector
  }

  /// No factors: the values as they are.
  struct NoFactors: FactorPolicy {
    @inline(__always) func loss(_ value: Vector, _ i: Int) -> Vector { value }
    @inline(__always) func gradient(_ value: Vector, _ i: Int) -> Vector { value }
  }

  /// The fp32 factors of the elements of a block from `start` on.
  struct BlockFactors: FactorPolicy {
    let loss: UnsafePointer<Float>
    let gradient: UnsafePointer<Float>
    let start: Int

    init(loss: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, start: Int) {
      self.loss = UnsafePointer(loss)
      self.gradient = UnsafePointer(gradient)
      self.start = start
    }

    @inline(__always) func loss(_ value: Vector, _ i: Int) -> Vector {
      value * VectorMath.load(loss, i - start)
    }
    @inline(__always) func gradient(_ value: Vector, _ i: Int) -> Vector {
      value * VectorMath.load(gradient, i - start)
    }
  }
}

/// The exponents of the kernel (generic parameters, so that each `gamma` it evaluates by
/// multiplication is its own specialisation).
extension FusedSigmoidFocal {
  /// `b^gamma` and `b^(gamma - 1)` for b in [0, 1].
  protocol Power {
    var gamma: Double { get }
    func power(_ b: Vector) -> Vector
    /// `b^(gamma - 1)`; unused when `gamma` is 0.
    func powerBelow(_ b: Vector) -> Vector
  }

  /// gamma = 0: plain (alpha-weighted) binary cross-entropy.
  struct Power0: Power {
    var gamma: Double { 0 }
    @inline(__always) func power(_ b: Vector) -> Vector { Vector(repeating: 1) }
    @inline(__always) func powerBelow(_ b: Vector) -> Vector { .zero }
  }

  /// gamma = 1 (`b^0` is 1, as PyTorch's autograd takes `pow(b, 0)` even at b = 0).
  struct Power1: Power {
    var gamma: Double { 1 }
    @inline(__always) func power(_ b: Vector) -> Vector { b }
    @inline(__always) func powerBelow(_ b: Vector) -> Vector { Vector(repeating: 1) }
  }

  /// gamma = 2 (torchvision's default).
  struct Power2: Power {
    var gamma: Double { 2 }
    @inline(__always) func power(_ b: Vector) -> Vector { b * b }
    @inline(__always) func powerBelow(_ b: Vector) -> Vector { b }
  }

  /// gamma = 3.
  struct Power3: Power {
    var gamma: Double { 3 }
    @inline(__always) func power(_ b: Vector) -> Vector { b * b * b }
    @inline(__always) func powerBelow(_ b: Vector) -> Vector { b * b }
  }

  /// gamma = 4.
  struct Power4: Power {
    var gamma: Double { 4 }
    @inline(__always) func power(_ b: Vector) -> Vector {
      let square = b * b
      return square * square
    }
    @inline(__always) func powerBelow(_ b: Vector) -> Vector { b * b * b }
  }

  /// A fractional gamma in (1, 16]: `b^g = exp(g ln b)` with the vector log (0 gives -inf, so
  /// `0^g = 0`) and the vector exp (0 below e^-87.3, where the true power is below 1e-38). With
  /// both within 2 ULP, the relative error of `b^g` is at most about `g |ln b| 2^-22 + 2^-22`.
  struct FractionalPower: Power {
    let gamma: Double
    let exponent: Vector
    let exponentBelow: Vector

    init(gamma: Double) {
      self.gamma = gamma
      exponent = Vector(repeating: Float(gamma))
      exponentBelow = Vector(repeating: Float(gamma - 1))
    }

    @inline(__always) func power(_ b: Vector) -> Vector {
      VectorMath.exp(exponent * VectorMath.log(b))
    }
    @inline(__always) func powerBelow(_ b: Vector) -> Vector {
      VectorMath.exp(exponentBelow * VectorMath.log(b))
    }
  }
}
