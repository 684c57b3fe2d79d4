extension VectorMath {
  /// The bound below which ``tanh(_:)`` uses its odd polynomial instead of the exponential.
  static let tanhPolynomialBound: Float = 0.625

  /// tanh per lane, for logit soft-capping.
  ///
  /// For |y| < 0.625 an odd polynomial in y (Cephes' `tanhf` coefficients); above, from one
  /// exponential, `1 - 2e / (1 + e)` with `e = exp(-2|y|)` (so `e <= 0.29` and nothing cancels);
  /// the sign is copied from y. The error is at most 2 ULP over all finite fp32 (1.4 measured;
  /// checked against libm's Double tanh by sweeps in the tests); tanh(±inf) = ±1, NaN gives
  /// NaN, and the result never exceeds 1 in magnitude. No calls: one ``exp(_:)`` and one
  /// division per vector. Transparent: `@inline(__always)` left it an out-of-line call (with
  /// its vectors passed through memory) inside the soft cap's row loop.
  @_transparent
  static func tanh(_ y: Vector) -> Vector {
    tanhWithDerivative(y).value
  }

  /// tanh per lane (as ``tanh(_:)``) and its derivative `1 - tanh^2` with a small relative
  /// error even where tanh saturates: from the exponential, `q (2 - q)` with `q = 1 - |tanh|`
  /// computed as `2e / (1 + e)` before any cancellation (`1 - t * t` from a rounded fp32 `t`
  /// would keep only an absolute error of about 1e-7). NaN gives NaN for both; ±inf gives 0.
  @_transparent
  static func tanhWithDerivative(_ y: Vector) -> (value: Vector, derivative: Vector) {
    let bits = unsafeBitCast(y, to: SIMD16<UInt32>.self)
    let sign = bits & 0x8000_0000
    let a = unsafeBitCast(bits ^ sign, to: Vector.self)
    let e = exp(a * -2)
    let q = (e + e) / (e + 1)
    let large = 1 - q
    let z = a * a
    var p = multiplyAdd(
      Vector(repeating: -5.704_988_727_45e-3), z, Vector(repeating: 2.063_908_879_54e-2))
    p = multiplyAdd(p, z, Vector(repeating: -5.373_971_555_31e-2))
    p = multiplyAdd(p, z, Vector(repeating: 1.333_144_220_36e-1))
    p = multiplyAdd(p, z, Vector(repeating: -3.333_328_194_22e-1))
    let small = multiplyAdd(p * z, a, a)
    let isSmall = a .< tanhPolynomialBound
    var value = large
    value.replace(with: small, where: isSmall)
    var derivative = q * (2 - q)
    derivative.replace(with: (1 - small) * (1 + small), where: isSmall)
    return (
      unsafeBitCast(unsafeBitCast(value, to: SIMD16<UInt32>.self) | sign, to: Vector.self),
      derivative
    )
  }

  /// The soft cap `c * tanh(x / c)` per lane, given `c` and `1 / c` (fp32; the division is a
  /// multiplication by the reciprocal, within an ULP of the quotient).
  @_transparent
  static func softCap(_ x: Vector, cap: Vector, inverse: Vector) -> Vector {
    cap * tanh(x * inverse)
  }

  /// ``softCap(_:cap:inverse:)`` and its derivative `1 - tanh^2(x / c)` (see
  /// ``tanhWithDerivative(_:)``).
  @_transparent
  static func softCapWithDerivative(
    _ x: Vector, cap: Vector, inverse: Vector
  ) -> (value: Vector, derivative: Vector) {
    let (t, d) = tanhWithDerivative(x * inverse)
    return (cap * t, d)
  }
}
