import CrossEntropyCPU

/// The vector type of the fast kernels: 16 fp32 lanes (one AVX-512 register, two AVX registers,
/// four SSE or NEON registers).
typealias Vector = SIMD16<Float>

/// Vector math for the fused kernels, written so that Swift lowers it to straight-line SIMD code
/// with no calls (Docs/PERFORMANCE.md lists the code-generation traps this avoids).
enum VectorMath {
  /// True when the compile target has a fused multiply-add instruction. A compile-time
  /// constant: without it, `addingProduct` would become a call to libm `fmaf` per lane.
  static var hasFMA: Bool {
    @inline(__always) get { xent_cpu_has_fma() != 0 }
  }

  /// `a * b + c`, fused where the target has FMA, else a multiply and an add.
  @inline(__always)
  static func multiplyAdd(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector {
    if hasFMA { return c.addingProduct(a, b) }
    return a * b + c
  }

  /// `a * b + c` for scalars, fused where the target has FMA.
  @inline(__always)
  static func multiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
    if hasFMA { return c.addingProduct(a, b) }
    return a * b + c
  }

  /// The lower bound of the accurate range of ``exp(_:)``: below it the result is 0.
  static let expLowerBound: Float = -87.33654

  /// e^x per lane, for x <= 0 (the arguments of a shifted softmax).
  ///
  /// Cody-Waite range reduction `x = n ln 2 + f` with |f| <= ln 2 / 2, a degree-5 polynomial
  /// (Cephes' `expf` coefficients) for e^f, and 2^n built from exponent bits. The error is at
  /// most 2 ULP on [-87.33654, 0] (checked against libm by a test). Below that range the result
  /// is 0 (including for -inf); NaN gives NaN; x > 0 is clamped at 88 (not used by the kernels).
  @inline(__always)
  static func exp(_ x: Vector) -> Vector {
    var clamped = x
    clamped.replace(with: expLowerBound, where: x .< expLowerBound)
    clamped.replace(with: 88, where: x .> 88)
    var result = expCore(clamped)
    result.replace(with: 0, where: x .< expLowerBound)
    return result
  }

  /// ``exp(_:)`` for `x <= 0` (or NaN), bit for bit, without its clamps: the range reduction
  /// and polynomial run on every lane, then lanes below ``expLowerBound`` (-inf included, whose
  /// lanes hold NaN by then) are cleared with a bit mask. Four of about 22 instructions fewer,
  /// for callers whose arguments are never positive (shifted by a maximum, or `-|x|`).
  @inline(__always)
  static func expOfNonPositive(_ x: Vector) -> Vector {
    let result = unsafeBitCast(expCore(x), to: SIMD16<UInt32>.self)
    let keep = unsafeBitCast(.!(x .< expLowerBound), to: SIMD16<UInt32>.self)
    return unsafeBitCast(result & keep, to: Vector.self)
  }

  /// The body of ``exp(_:)`` for x in [``expLowerBound``, 88]: Cody-Waite range reduction
  /// `x = n ln 2 + f`, Cephes' polynomial for e^f, and 2^n built from exponent bits.
  @inline(__always)
  static func expCore(_ x: Vector) -> Vector {
    let log2e: Float = 1.442_695_04
    let magic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer.
    let ln2High: Float = 0.693_359_375  // exact in 9 bits, so n * ln2High is exact.
    let ln2Low: Float = -2.121_944_4e-4
    let shifted = multiplyAdd(x, Vector(repeating: log2e), Vector(repeating: magic))
    let n = shifted - magic
    var f = multiplyAdd(n, Vector(repeating: -ln2High), x)
    f = multiplyAdd(n, Vector(repeating: -ln2Low), f)
    var p = multiplyAdd(
      Vector(repeating: 1.987_569_15e-4), f, Vector(repeating: 1.398_199_950_7e-3))
    p = multiplyAdd(p, f, Vector(repeating: 8.333_451_907_3e-3))
    p = multiplyAdd(p, f, Vector(repeating: 4.166_579_589_4e-2))
    p = multiplyAdd(p, f, Vector(repeating: 1.666_666_545_9e-1))
    p = multiplyAdd(p, f, Vector(repeating: 5.000_000_120_1e-1))
    let f2 = f * f
    p = multiplyAdd(p, f2, f) + 1
    // The low bits of `shifted` hold n + 0x400000; shifting n + 127 into the exponent field
    // drops the 0x400000 bit.
    let bits = unsafeBitCast(shifted, to: SIMD16<UInt32>.self)
    let scale = unsafeBitCast((bits &+ 127) &<< 23, to: Vector.self)
    return p * scale
  }

  /// The sum of the lanes, by halves (a tree, not a sequential chain).
  @inline(__always)
  static func sum(_ v: Vector) -> Float {
    let v8 = v.lowHalf + v.highHalf
    let v4 = v8.lowHalf + v8.highHalf
    let v2 = v4.lowHalf + v4.highHalf
    return v2[0] + v2[1]
  }

  /// Lane-wise maximum that ignores NaN in `b` (`a` is kept where `b > a` is false).
  @inline(__always)
  static func maximum(_ a: Vector, _ b: Vector) -> Vector {
    var result = a
    result.replace(with: b, where: b .> a)
    return result
  }

  /// The largest lane, by halves, ignoring NaN lanes (all-NaN gives the first lane).
  @inline(__always)
  static func maximum(_ v: Vector) -> Float {
    var v8 = v.lowHalf
    v8.replace(with: v.highHalf, where: v.highHalf .> v8)
    var v4 = v8.lowHalf
    v4.replace(with: v8.highHalf, where: v8.highHalf .> v4)
    var v2 = v4.lowHalf
    v2.replace(with: v4.highHalf, where: v4.highHalf .> v2)
    return v2[1] > v2[0] ? v2[1] : v2[0]
  }

  /// Loads 16 floats (unaligned).
  @inline(__always)
  static func load(_ p: UnsafePointer<Float>, _ offset: Int) -> Vector {
    UnsafeRawPointer(p + offset).loadUnaligned(as: Vector.self)
  }

  /// Stores 16 floats (unaligned).
  @inline(__always)
  static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ offset: Int) {
    UnsafeMutableRawPointer(p + offset).storeBytes(of: v, as: Vector.self)
  }

  /// Loads the `count < 16` floats at `p + offset`, filling the other lanes with `fill`.
  @inline(__always)
  static func loadPartial(
    _ p: UnsafePointer<Float>, _ offset: Int, count: Int, fill: Float
  ) -> Vector {
    var v = Vector(repeating: fill)
    for i in 0..<count { v[i] = p[offset + i] }
    return v
  }

  /// Stores the first `count < 16` lanes of `v` at `p + offset`.
  @inline(__always)
  static func storePartial(
    _ v: Vector, _ p: UnsafeMutablePointer<Float>, _ offset: Int, count: Int
  ) {
    for i in 0..<count { p[offset + i] = v[i] }
  }

  /// e^x for one scalar x <= 0, through the vector routine (no libm call).
  @inline(__always)
  static func exp(_ x: Float) -> Float {
    exp(Vector(repeating: x))[0]
  }
}
