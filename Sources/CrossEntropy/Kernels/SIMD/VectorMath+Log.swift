/// Vector logarithms for the fused kernels (next to ``VectorMath/exp(_:)``; same rules: straight
/// SIMD code, no libm calls, no slow generic conversions).
extension VectorMath {
  /// ln(u) per lane for u >= 0 (the argument built by ``log1p(_:)``).
  ///
  /// ``logOfNormal(_:)`` with the special cases: subnormal u is scaled up first; 0 gives -inf,
  /// +inf gives +inf, negative u and NaN give NaN.
  @inline(__always)
  static func log(_ u: Vector) -> Vector {
    let tiny = u .< Float.leastNormalMagnitude
    var v = u
    v.replace(with: u * 8_388_608, where: tiny)  // 2^23
    var result = logOfNormal(v)
    result.replace(with: result - 23 * 0.693_147_180_559_945_3, where: tiny)
    result.replace(with: -.infinity, where: u .== 0)
    result.replace(with: .infinity, where: u .== .infinity)
    result.replace(with: .nan, where: .!(u .>= 0))
    return result
  }

  /// ln(u) per lane for normal, positive, finite u; no compares and no lane selects, so that it
  /// stays straight-line vector code inside any loop.
  ///
  /// Cephes' `logf` polynomial: u = (1 + m) 2^k with 1 + m in [sqrt(1/2), sqrt(2)) found by
  /// integer arithmetic on the bits (adding the bits of 1 - sqrt(1/2) carries into the exponent
  /// exactly when the mantissa is past sqrt(2)), a degree-9 polynomial in m, and k ln 2 added in
  /// two parts.
  @inline(__always)
  static func logOfNormal(_ u: Vector) -> Vector {
    var bits = unsafeBitCast(u, to: SIMD16<UInt32>.self) &+ (0x3f80_0000 &- 0x3f35_04f3)
    // k + 127 sits in the exponent field; 2^23 + field - (2^23 + 127) is k, with no conversion.
    let k =
      unsafeBitCast((bits &>> 23) | 0x4b00_0000, to: Vector.self) - Vector(repeating: 8_388_735)
    bits = (bits & 0x007f_ffff) &+ 0x3f35_04f3
    let m = unsafeBitCast(bits, to: Vector.self) - 1
    let z = m * m
    var p = multiplyAdd(
      Vector(repeating: 7.037_683_629_2e-2), m, Vector(repeating: -1.151_461_031_0e-1))
    p = multiplyAdd(p, m, Vector(repeating: 1.167_699_874_0e-1))
    p = multiplyAdd(p, m, Vector(repeating: -1.242_014_084_6e-1))
    p = multiplyAdd(p, m, Vector(repeating: 1.424_932_278_7e-1))
    p = multiplyAdd(p, m, Vector(repeating: -1.666_805_766_5e-1))
    p = multiplyAdd(p, m, Vector(repeating: 2.000_071_476_5e-1))
    p = multiplyAdd(p, m, Vector(repeating: -2.499_999_399_3e-1))
    p = multiplyAdd(p, m, Vector(repeating: 3.333_333_117_4e-1))
    var y = p * m * z
    y = multiplyAdd(k, Vector(repeating: -2.121_944_400_546_905_8e-4), y)
    y = multiplyAdd(z, Vector(repeating: -0.5), y)
    return multiplyAdd(k, Vector(repeating: 0.693_359_375), m + y)
  }

  /// ln(1 + x) per lane, accurate for small x: ln(u) of u = 1 + x, plus the rounding of that
  /// sum to first order, `(x - (u - 1)) / u`.
  ///
  /// The error is at most 2 ULP for x >= -1 (checked against libm by a test). -1 gives -inf,
  /// +inf gives +inf, x < -1 and NaN give NaN.
  @inline(__always)
  static func log1p(_ x: Vector) -> Vector {
    let u = 1 + x
    return log1p(x, onePlus: u, reciprocal: 1 / u)
  }

  /// ``log1p(_:)`` for callers that already hold `u = 1 + x` and `r = 1 / u`.
  @inline(__always)
  static func log1p(_ x: Vector, onePlus u: Vector, reciprocal r: Vector) -> Vector {
    var correction = (x - (u - 1)) * r
    correction.replace(with: 0, where: (u .== 0) .| (u .== .infinity))
    return log(u) + correction
  }

  /// ``log1p(_:)`` for x in [0, 1] (the softplus of the sigmoid: x = e^-|logit|); no special
  /// cases, straight-line code, no logarithm's range reduction.
  ///
  /// `log1p(x) = 2 atanh(s)` with `s = x / (2 + x)` in [0, 1/3]: `2 s + 2 s z P(z)`, `z = s^2`
  /// in [0, 1/9], with `P` a degree-3 fit of `(atanh(s) / s - 1) / z` (relative error 5e-9, far
  /// below an fp32 ULP; the Taylor series would need six terms). One division and seven
  /// multiply-adds, where the general ``log(_:)`` takes about twenty operations. The error is
  /// within 2 ULP on [0, 1] (a test sweeps the interval against libm); small x keeps its full
  /// relative accuracy (no `1 + x` is formed).
  @inline(__always)
  static func log1pOfUnit(_ x: Vector) -> Vector {
    let s = x / (x + 2)
    let z = s * s
    var p = multiplyAdd(
      Vector(repeating: 0.280_154_64), z, Vector(repeating: 0.280_007_84))
    p = multiplyAdd(p, z, Vector(repeating: 0.400_216_22))
    p = multiplyAdd(p, z, Vector(repeating: 0.666_664_14))
    return multiplyAdd(s * z, p, s + s)
  }

  /// Lanes of `a` where `mask` is all ones, of `b` where it is 0 (a bitwise select, which stays
  /// one instruction where `replace(with:where:)` can turn into a per-lane loop).
  @inline(__always)
  static func select(_ mask: SIMD16<UInt32>, _ a: Vector, _ b: Vector) -> Vector {
    let aBits = unsafeBitCast(a, to: SIMD16<UInt32>.self)
    let bBits = unsafeBitCast(b, to: SIMD16<UInt32>.self)
    return unsafeBitCast((aBits & mask) | (bBits & ~mask), to: Vector.self)
  }

  /// `-v` per lane by flipping the sign bit: an IEEE negation, which LLVM folds into a
  /// multiply-add (Swift's prefix `-` on SIMD vectors is `0 - v`, a subtraction it cannot fold).
  @inline(__always)
  static func negated(_ v: Vector) -> Vector {
    unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) ^ 0x8000_0000, to: Vector.self)
  }

  /// All ones in the lanes whose sign bit is set (negative numbers, -0, negative NaN), else 0.
  @inline(__always)
  static func signMask(_ x: Vector) -> SIMD16<UInt32> {
    unsafeBitCast(unsafeBitCast(x, to: SIMD16<Int32>.self) &>> 31, to: SIMD16<UInt32>.self)
  }
}
