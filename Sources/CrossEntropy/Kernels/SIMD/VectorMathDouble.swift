/// The vector type of the Double kernel: 8 lanes (one AVX-512 register, two AVX registers, four
/// SSE or NEON registers).
typealias DoubleVector = SIMD8<Double>

/// Vector math for the fused Double kernel, straight-line SIMD code with no calls (as
/// ``VectorMath`` for fp32).
enum VectorMathDouble {
  /// `a * b + c`, fused where the target has FMA, else a multiply and an add (never libm `fma`).
  @inline(__always)
  static func multiplyAdd(_ a: DoubleVector, _ b: DoubleVector, _ c: DoubleVector)
    -> DoubleVector
  {
    if VectorMath.hasFMA { return c.addingProduct(a, b) }
    return a * b + c
  }

  /// The lower bound of the range of ``exp(_:)``: below it (where e^x is subnormal, under
  /// 2^-1022) the result is 0.
  static let expLowerBound = -708.39

  /// e^x per lane, for x <= 0 (the arguments of a shifted softmax).
  ///
  /// Range reduction `x = n ln 2 + r` with |r| <= ln 2 / 2 (ln 2 in two parts, fdlibm's, so
  /// `n * ln2High` is exact), the degree-13 Taylor polynomial of e^r (truncation error below
  /// 5e-18 relative), and 2^n built from exponent bits. The error is about 1 ULP on
  /// [-708.39, 0] (a test sweeps it against libm). Below that range the result is 0, including
  /// for -inf and where libm would return a subnormal (the absolute error is then under
  /// 2^-1022); NaN gives NaN; x > 0 is clamped at 709 (not used by the kernel).
  @inline(__always)
  static func exp(_ x: DoubleVector) -> DoubleVector {
    let log2e = 1.442_695_040_888_963_4
    let magic = 6_755_399_441_055_744.0  // 1.5 * 2^52: adding it rounds to an integer.
    let ln2High = 6.931_471_803_691_238_164_9e-01  // 32 significant bits
    let ln2Low = 1.908_214_929_270_587_700_02e-10
    var clamped = x
    clamped.replace(with: expLowerBound, where: x .< expLowerBound)
    clamped.replace(with: 709, where: x .> 709)
    let shifted = multiplyAdd(clamped, DoubleVector(repeating: log2e), .init(repeating: magic))
    let n = shifted - magic
    var r = multiplyAdd(n, DoubleVector(repeating: -ln2High), clamped)
    r = multiplyAdd(n, DoubleVector(repeating: -ln2Low), r)
    // 1/k! for k = 13 down to 2, by Horner; then 1 + r (1 + r q).
    var p = DoubleVector(repeating: 1.605_904_383_682_161_3e-10)
    p = multiplyAdd(p, r, DoubleVector(repeating: 2.087_675_698_786_81e-09))
    p = multiplyAdd(p, r, DoubleVector(repeating: 2.505_210_838_544_172e-08))
    p = multiplyAdd(p, r, DoubleVector(repeating: 2.755_731_922_398_589e-07))
    p = multiplyAdd(p, r, DoubleVector(repeating: 2.755_731_922_398_589_3e-06))
    p = multiplyAdd(p, r, DoubleVector(repeating: 2.480_158_730_158_730_2e-05))
    p = multiplyAdd(p, r, DoubleVector(repeating: 1.984_126_984_126_984_1e-04))
    p = multiplyAdd(p, r, DoubleVector(repeating: 1.388_888_888_888_888_9e-03))
    p = multiplyAdd(p, r, DoubleVector(repeating: 8.333_333_333_333_333e-03))
    p = multiplyAdd(p, r, DoubleVector(repeating: 4.166_666_666_666_666_4e-02))
    p = multiplyAdd(p, r, DoubleVector(repeating: 0.166_666_666_666_666_66))
    p = multiplyAdd(p, r, DoubleVector(repeating: 0.5))
    p = multiplyAdd(p, r, DoubleVector(repeating: 1))
    p = multiplyAdd(p, r, DoubleVector(repeating: 1))
    // The low bits of `shifted` hold n + 2^51; shifting n + 1023 into the exponent field drops
    // the 2^51 bit.
    let bits = unsafeBitCast(shifted, to: SIMD8<UInt64>.self)
    let scale = unsafeBitCast((bits &+ 1023) &<< 52, to: DoubleVector.self)
    var result = p * scale
    result.replace(with: 0, where: x .< expLowerBound)
    return result
  }

  /// The sum of the lanes, by halves.
  @inline(__always)
  static func sum(_ v: DoubleVector) -> Double {
    let v4 = v.lowHalf + v.highHalf
    let v2 = v4.lowHalf + v4.highHalf
    return v2[0] + v2[1]
  }

  /// Lane-wise maximum that ignores NaN in `b`.
  @inline(__always)
  static func maximum(_ a: DoubleVector, _ b: DoubleVector) -> DoubleVector {
    var result = a
    result.replace(with: b, where: b .> a)
    return result
  }

  /// The largest lane, ignoring NaN lanes (all-NaN gives the first lane).
  @inline(__always)
  static func maximum(_ v: DoubleVector) -> Double {
    var v4 = v.lowHalf
    v4.replace(with: v.highHalf, where: v.highHalf .> v4)
    var v2 = v4.lowHalf
    v2.replace(with: v4.highHalf, where: v4.highHalf .> v2)
    return v2[1] > v2[0] ? v2[1] : v2[0]
  }

  /// Loads 8 doubles (unaligned).
  @inline(__always)
  static func load(_ p: UnsafePointer<Double>, _ offset: Int) -> DoubleVector {
    UnsafeRawPointer(p + offset).loadUnaligned(as: DoubleVector.self)
  }

  /// Stores 8 doubles (unaligned).
  @inline(__always)
  static func store(_ v: DoubleVector, _ p: UnsafeMutablePointer<Double>, _ offset: Int) {
    UnsafeMutableRawPointer(p + offset).storeBytes(of: v, as: DoubleVector.self)
  }

  /// Loads the `count < 8` doubles at `p + offset`, filling the other lanes with `fill`.
  @inline(__always)
  static func loadPartial(
    _ p: UnsafePointer<Double>, _ offset: Int, count: Int, fill: Double
  ) -> DoubleVector {
    var v = DoubleVector(repeating: fill)
    for i in 0..<count { v[i] = p[offset + i] }
    return v
  }

  /// Stores the first `count < 8` lanes of `v` at `p + offset`.
  @inline(__always)
  static func storePartial(
    _ v: DoubleVector, _ p: UnsafeMutablePointer<Double>, _ offset: Int, count: Int
  ) {
    for i in 0..<count { p[offset + i] = v[i] }
  }
}
