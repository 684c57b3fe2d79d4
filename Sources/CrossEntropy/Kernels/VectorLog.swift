/// Vector logarithms for the fused kernels (next to ``VectorMath/exp(_:)``; same rules: straight
/// SIMD code, no libm calls, no slow generic conversions).
extension VectorMath {
  /// ln(u) per lane for u >= 0 (the argument built by ``log1p(_:)``).
  ///
  /// Cephes' `logf`: u = m * 2^k with m in [sqrt(1/2), sqrt(2)), a degree-9 polynomial in
  /// m - 1, and k ln 2 added in two parts. Subnormal u is scaled up first. 0 gives -inf, +inf
  /// gives +inf, negative u and NaN give NaN.
  @inline(__always)
  static func log(_ u: Vector) -> Vector {
    let tiny = u .< Float.leastNormalMagnitude
    var v = u
    v.replace(with: u * 8_388_608, where: tiny)  // 2^23
    let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    let exponentField = (bits &>> 23) & 0xff
    // m in [0.5, 1): the mantissa with the exponent of 0.5.
    var m = unsafeBitCast((bits & 0x007f_ffff) | 0x3f00_0000, to: Vector.self)
    // k as a float without a conversion instruction: 2^23 + field, minus 2^23 + 126.
    var k =
      unsafeBitCast(exponentField | 0x4b00_0000, to: Vector.self) - Vector(repeating: 8_388_734)
    k.replace(with: k - 23, where: tiny)
    let small = m .< 0.707_106_781_186_547_524
    k.replace(with: k - 1, where: small)
    m.replace(with: m + m, where: small)
    m -= 1
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
    var result = m + y
    result = multiplyAdd(k, Vector(repeating: 0.693_359_375), result)
    result.replace(with: -.infinity, where: u .== 0)
    result.replace(with: .infinity, where: u .== .infinity)
    result.replace(with: .nan, where: .!(u .>= 0))
    return result
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

  /// ``log1p(_:)`` for callers that already hold `u = 1 + x` and `r = 1 / u` (the sigmoid).
  @inline(__always)
  static func log1p(_ x: Vector, onePlus u: Vector, reciprocal r: Vector) -> Vector {
    var correction = (x - (u - 1)) * r
    correction.replace(with: 0, where: (u .== 0) .| (u .== .infinity))
    return log(u) + correction
  }
}
