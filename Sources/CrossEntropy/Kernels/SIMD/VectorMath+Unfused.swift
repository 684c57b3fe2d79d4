/// The exponential and logarithm of the CTC recursion (``CTCVectorKernel``), whose every
/// multiply and add rounds on its own, on every target.
///
/// They differ from ``VectorMath/exp(_:)``, ``VectorMath/expOfNonPositive(_:)`` and
/// ``VectorMath/log(_:)`` on purpose, and must stay as they are:
///
/// - No fused multiply-add, even where the target has one: the CTC kernel reproduces PyTorch's
///   float32 recursion step by step, and its results (pinned by the CTC golden and equivalence
///   tests) must not depend on the build's `-march`. ``VectorMath/expCore(_:)`` fuses where it
///   can, which is right for the softmax kernels and changes the last bit here.
/// - ``expUnfused(_:)`` takes any argument: the gradient's `e^(collected + nll - lp)` can be
///   positive, and overflows to +inf above 88.72 as libm's `expf` does. ``VectorMath/exp(_:)``
///   is for arguments <= 0 and clamps positive ones at 88.
/// - ``expUnfusedOfNonPositive(_:)`` clamps at -87.3 (about 1e-38 instead of 0), which is
///   harmless in the recursion, whose largest term is always e^0 = 1.
/// - ``logUnfusedOfOneToThree(_:)`` needs only [1, 3], the range of a three-term sum whose
///   largest term is 1, so it has no special cases.
extension VectorMath {
  /// e^x for x <= 0; inputs below -87.3 give about 1e-38 instead of a smaller number, which is
  /// harmless where the result is added to 1.
  @inline(__always)
  static func expUnfusedOfNonPositive(_ x: Vector) -> Vector {
    expUnfusedCore(x.replacing(with: -87.3, where: x .< -87.3))
  }

  /// e^x for any x: 0 below -87.3, +inf above 88.7, NaN for NaN.
  @inline(__always)
  static func expUnfused(_ x: Vector) -> Vector {
    var clamped = x.replacing(with: -87.3, where: x .< -87.3)
    clamped.replace(with: 88.3, where: clamped .> 88.3)
    var result = expUnfusedCore(clamped)
    result.replace(with: 0, where: x .< -87.3)
    result.replace(with: .infinity, where: x .> 88.72)
    return result
  }

  /// e^x for x in [-87.3, 88.3]: x = n ln 2 + r with |r| <= ln 2 / 2, a degree-7 polynomial
  /// for e^r (relative error about 1e-7), and 2^n built in the exponent bits.
  @inline(__always)
  static func expUnfusedCore(_ x: Vector) -> Vector {
    let magic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p = Vector(repeating: 1.987_569_1e-4)
    p = p * r + 1.398_199_9e-3
    p = p * r + 8.333_452e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 0.166_666_65
    p = p * r + 0.500_000_01
    p = p * (r * r) + r + 1
    // The low bits of `shifted` hold n; n + 127 in the exponent field is 2^n.
    let bits = unsafeBitCast(shifted, to: SIMD16<UInt32>.self)
    let exponent = (bits &- (0x4B40_0000 &- 127)) &<< 23
    return p * unsafeBitCast(exponent, to: Vector.self)
  }

  /// log(x) for x in [1, 3] (the only range the recursion needs): x = 2^k m with
  /// m in [sqrt(1/2), sqrt(2)), and a polynomial in m - 1.
  @inline(__always)
  static func logUnfusedOfOneToThree(_ x: Vector) -> Vector {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let mantissaBits = (bits & 0x007F_FFFF) | 0x3F80_0000
    var m = unsafeBitCast(mantissaBits, to: Vector.self)
    var k = unsafeBitCast(((bits &>> 23) &- 127) &+ 0x4B40_0000, to: Vector.self) - 12_582_912
    let large = m .> 1.414_213_5
    m.replace(with: m * 0.5, where: large)
    k.replace(with: k + 1, where: large)
    let f = m - 1
    let f2 = f * f
    var p = Vector(repeating: 7.037_683_6e-2)
    p = p * f - 1.151_461e-1
    p = p * f + 1.167_699_9e-1
    p = p * f - 1.242_014_1e-1
    p = p * f + 1.424_932_3e-1
    p = p * f - 1.666_805_8e-1
    p = p * f + 2.000_071_4e-1
    p = p * f - 2.499_999_4e-1
    p = p * f + 3.333_333_1e-1
    let logM = f - 0.5 * f2 + f2 * f * p
    return logM + k * 0.693_147_18
  }
}
