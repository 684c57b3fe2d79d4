import Builtin

// Lane-wise arithmetic, selects and conversions of the kernels' vector types as single vector
// instructions.
//
// The standard library writes SIMD arithmetic on floating-point and integer lanes as a generic
// loop over the lanes (only comparisons and a few integer operations have concrete vector
// forms). LLVM turns each loop back into one instruction, but the SIL optimiser sees, and
// optimises, one loop per operation at every inlined use: most of the release build's time.
// These overloads, more specific than the standard library's, emit the LLVM vector instruction
// directly. Each computes what the standard library's lane loop computes, bit for bit (the
// negation `0 - a` included).

extension SIMD16 where Scalar == Float {
  @_transparent
  var vector: Builtin.Vec16xFPIEEE32 { _storage._value }

  @_transparent
  init(vector: Builtin.Vec16xFPIEEE32) {
    self = unsafeBitCast(vector, to: Self.self)
  }

  @_transparent
  static func + (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fadd_Vec16xFPIEEE32(a.vector, b.vector))
  }
  @_transparent
  static func - (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fsub_Vec16xFPIEEE32(a.vector, b.vector))
  }
  @_transparent
  static func * (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fmul_Vec16xFPIEEE32(a.vector, b.vector))
  }
  @_transparent
  static func / (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fdiv_Vec16xFPIEEE32(a.vector, b.vector))
  }
  @_transparent static func + (a: Self, b: Float) -> Self { a + Self(repeating: b) }
  @_transparent static func - (a: Self, b: Float) -> Self { a - Self(repeating: b) }
  @_transparent static func * (a: Self, b: Float) -> Self { a * Self(repeating: b) }
  @_transparent static func / (a: Self, b: Float) -> Self { a / Self(repeating: b) }
  @_transparent static func + (a: Float, b: Self) -> Self { Self(repeating: a) + b }
  @_transparent static func - (a: Float, b: Self) -> Self { Self(repeating: a) - b }
  @_transparent static func * (a: Float, b: Self) -> Self { Self(repeating: a) * b }
  @_transparent static func / (a: Float, b: Self) -> Self { Self(repeating: a) / b }
  @_transparent static func += (a: inout Self, b: Self) { a = a + b }
  @_transparent static func -= (a: inout Self, b: Self) { a = a - b }
  @_transparent static func *= (a: inout Self, b: Self) { a = a * b }
  @_transparent static func /= (a: inout Self, b: Self) { a = a / b }
  @_transparent static func += (a: inout Self, b: Float) { a = a + b }
  @_transparent static func -= (a: inout Self, b: Float) { a = a - b }
  @_transparent static func *= (a: inout Self, b: Float) { a = a * b }
  @_transparent static func /= (a: inout Self, b: Float) { a = a / b }
  @_transparent static prefix func - (a: Self) -> Self { Self(repeating: 0) - a }

  @_transparent
  func addingProduct(_ a: Self, _ b: Self) -> Self {
    Self(vector: Builtin.int_fma_Vec16xFPIEEE32(a.vector, b.vector, vector))
  }

  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD16<Int32>>) {
    let lanes = Builtin.trunc_Vec16xInt32_Vec16xInt1(mask._storage._storage._value)
    self = Self(vector: Builtin.select_Vec16xInt1_Vec16xFPIEEE32(lanes, other.vector, vector))
  }
  @_transparent
  mutating func replace(with other: Float, where mask: SIMDMask<SIMD16<Int32>>) {
    replace(with: Self(repeating: other), where: mask)
  }

  @_transparent
  var lowHalf: SIMD8<Float> { unsafeBitCast(self, to: (SIMD8<Float>, SIMD8<Float>).self).0 }
  @_transparent
  var highHalf: SIMD8<Float> { unsafeBitCast(self, to: (SIMD8<Float>, SIMD8<Float>).self).1 }
}

extension SIMD8 where Scalar == Float {
  @_transparent
  static func + (a: Self, b: Self) -> Self {
    let sum = Builtin.fadd_Vec8xFPIEEE32(a._storage._value, b._storage._value)
    return unsafeBitCast(sum, to: Self.self)
  }
  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD8<Int32>>) {
    let lanes = Builtin.trunc_Vec8xInt32_Vec8xInt1(mask._storage._storage._value)
    let selected = Builtin.select_Vec8xInt1_Vec8xFPIEEE32(
      lanes, other._storage._value, _storage._value)
    self = unsafeBitCast(selected, to: Self.self)
  }
  @_transparent
  var lowHalf: SIMD4<Float> { unsafeBitCast(self, to: (SIMD4<Float>, SIMD4<Float>).self).0 }
  @_transparent
  var highHalf: SIMD4<Float> { unsafeBitCast(self, to: (SIMD4<Float>, SIMD4<Float>).self).1 }
  /// The lanes widened to Double (exactly).
  @_transparent
  var widened: SIMD8<Double> {
    unsafeBitCast(
      Builtin.fpext_Vec8xFPIEEE32_Vec8xFPIEEE64(_storage._value), to: SIMD8<Double>.self)
  }
}

extension SIMD4 where Scalar == Float {
  @_transparent
  static func + (a: Self, b: Self) -> Self {
    let sum = Builtin.fadd_Vec4xFPIEEE32(a._storage._value, b._storage._value)
    return unsafeBitCast(sum, to: Self.self)
  }
  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD4<Int32>>) {
    let lanes = Builtin.trunc_Vec4xInt32_Vec4xInt1(mask._storage._storage._value)
    let selected = Builtin.select_Vec4xInt1_Vec4xFPIEEE32(
      lanes, other._storage._value, _storage._value)
    self = unsafeBitCast(selected, to: Self.self)
  }
  @_transparent
  var lowHalf: SIMD2<Float> { unsafeBitCast(self, to: (SIMD2<Float>, SIMD2<Float>).self).0 }
  @_transparent
  var highHalf: SIMD2<Float> { unsafeBitCast(self, to: (SIMD2<Float>, SIMD2<Float>).self).1 }
}

extension SIMD2 where Scalar == Float {
  @_transparent
  static func + (a: Self, b: Self) -> Self {
    let sum = Builtin.fadd_Vec2xFPIEEE32(a._storage._value, b._storage._value)
    return unsafeBitCast(sum, to: Self.self)
  }
  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD2<Int32>>) {
    let lanes = Builtin.trunc_Vec2xInt32_Vec2xInt1(mask._storage._storage._value)
    let selected = Builtin.select_Vec2xInt1_Vec2xFPIEEE32(
      lanes, other._storage._value, _storage._value)
    self = unsafeBitCast(selected, to: Self.self)
  }
}

extension SIMD8 where Scalar == Double {
  @_transparent
  var vector: Builtin.Vec8xFPIEEE64 { _storage._value }

  @_transparent
  init(vector: Builtin.Vec8xFPIEEE64) {
    self = unsafeBitCast(vector, to: Self.self)
  }

  @_transparent
  static func + (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fadd_Vec8xFPIEEE64(a.vector, b.vector))
  }
  @_transparent
  static func - (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fsub_Vec8xFPIEEE64(a.vector, b.vector))
  }
  @_transparent
  static func * (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fmul_Vec8xFPIEEE64(a.vector, b.vector))
  }
  @_transparent
  static func / (a: Self, b: Self) -> Self {
    Self(vector: Builtin.fdiv_Vec8xFPIEEE64(a.vector, b.vector))
  }
  @_transparent static func + (a: Self, b: Double) -> Self { a + Self(repeating: b) }
  @_transparent static func - (a: Self, b: Double) -> Self { a - Self(repeating: b) }
  @_transparent static func * (a: Self, b: Double) -> Self { a * Self(repeating: b) }
  @_transparent static func / (a: Self, b: Double) -> Self { a / Self(repeating: b) }
  @_transparent static func + (a: Double, b: Self) -> Self { Self(repeating: a) + b }
  @_transparent static func - (a: Double, b: Self) -> Self { Self(repeating: a) - b }
  @_transparent static func * (a: Double, b: Self) -> Self { Self(repeating: a) * b }
  @_transparent static func / (a: Double, b: Self) -> Self { Self(repeating: a) / b }
  @_transparent static func += (a: inout Self, b: Self) { a = a + b }
  @_transparent static func -= (a: inout Self, b: Self) { a = a - b }
  @_transparent static func *= (a: inout Self, b: Self) { a = a * b }
  @_transparent static func /= (a: inout Self, b: Self) { a = a / b }
  @_transparent static prefix func - (a: Self) -> Self { Self(repeating: 0) - a }

  @_transparent
  func addingProduct(_ a: Self, _ b: Self) -> Self {
    Self(vector: Builtin.int_fma_Vec8xFPIEEE64(a.vector, b.vector, vector))
  }

  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD8<Int64>>) {
    let lanes = Builtin.trunc_Vec8xInt64_Vec8xInt1(mask._storage._storage._value)
    self = Self(vector: Builtin.select_Vec8xInt1_Vec8xFPIEEE64(lanes, other.vector, vector))
  }
  @_transparent
  mutating func replace(with other: Double, where mask: SIMDMask<SIMD8<Int64>>) {
    replace(with: Self(repeating: other), where: mask)
  }

  @_transparent
  var lowHalf: SIMD4<Double> { unsafeBitCast(self, to: (SIMD4<Double>, SIMD4<Double>).self).0 }
  @_transparent
  var highHalf: SIMD4<Double> { unsafeBitCast(self, to: (SIMD4<Double>, SIMD4<Double>).self).1 }
  /// The lanes rounded to Float (to nearest even).
  @_transparent
  var narrowed: SIMD8<Float> {
    unsafeBitCast(
      Builtin.fptrunc_Vec8xFPIEEE64_Vec8xFPIEEE32(_storage._value), to: SIMD8<Float>.self)
  }
}

extension SIMD4 where Scalar == Double {
  @_transparent
  static func + (a: Self, b: Self) -> Self {
    let sum = Builtin.fadd_Vec4xFPIEEE64(a._storage._value, b._storage._value)
    return unsafeBitCast(sum, to: Self.self)
  }
  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD4<Int64>>) {
    let lanes = Builtin.trunc_Vec4xInt64_Vec4xInt1(mask._storage._storage._value)
    let selected = Builtin.select_Vec4xInt1_Vec4xFPIEEE64(
      lanes, other._storage._value, _storage._value)
    self = unsafeBitCast(selected, to: Self.self)
  }
  @_transparent
  var lowHalf: SIMD2<Double> { unsafeBitCast(self, to: (SIMD2<Double>, SIMD2<Double>).self).0 }
  @_transparent
  var highHalf: SIMD2<Double> { unsafeBitCast(self, to: (SIMD2<Double>, SIMD2<Double>).self).1 }
}

extension SIMD2 where Scalar == Double {
  @_transparent
  static func + (a: Self, b: Self) -> Self {
    let sum = Builtin.fadd_Vec2xFPIEEE64(a._storage._value, b._storage._value)
    return unsafeBitCast(sum, to: Self.self)
  }
  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD2<Int64>>) {
    let lanes = Builtin.trunc_Vec2xInt64_Vec2xInt1(mask._storage._storage._value)
    let selected = Builtin.select_Vec2xInt1_Vec2xFPIEEE64(
      lanes, other._storage._value, _storage._value)
    self = unsafeBitCast(selected, to: Self.self)
  }
}

extension SIMD16 where Scalar == UInt32 {
  @_transparent
  var vector: Builtin.Vec16xInt32 { _storage._value }

  @_transparent
  init(vector: Builtin.Vec16xInt32) {
    self = unsafeBitCast(vector, to: Self.self)
  }

  @_transparent
  static func & (a: Self, b: Self) -> Self {
    Self(vector: Builtin.and_Vec16xInt32(a.vector, b.vector))
  }
  @_transparent
  static func | (a: Self, b: Self) -> Self {
    Self(vector: Builtin.or_Vec16xInt32(a.vector, b.vector))
  }
  @_transparent
  static func ^ (a: Self, b: Self) -> Self {
    Self(vector: Builtin.xor_Vec16xInt32(a.vector, b.vector))
  }
  @_transparent static func & (a: Self, b: UInt32) -> Self { a & Self(repeating: b) }
  @_transparent static func | (a: Self, b: UInt32) -> Self { a | Self(repeating: b) }
  @_transparent static func ^ (a: Self, b: UInt32) -> Self { a ^ Self(repeating: b) }
  @_transparent static func &+ (a: Self, b: UInt32) -> Self { a &+ Self(repeating: b) }
  /// The low 16 bits of each lane.
  @_transparent
  var truncatedTo16: SIMD16<UInt16> {
    unsafeBitCast(Builtin.trunc_Vec16xInt32_Vec16xInt16(vector), to: SIMD16<UInt16>.self)
  }
  @_transparent static func &- (a: Self, b: UInt32) -> Self { a &- Self(repeating: b) }

  /// Shifts left by `b` modulo 32, as the scalar `&<<`.
  @_transparent
  static func &<< (a: Self, b: UInt32) -> Self {
    Self(vector: Builtin.shl_Vec16xInt32(a.vector, Self(repeating: b & 31).vector))
  }
  /// Shifts right (logically) by `b` modulo 32, as the scalar `&>>`.
  @_transparent
  static func &>> (a: Self, b: UInt32) -> Self {
    Self(vector: Builtin.lshr_Vec16xInt32(a.vector, Self(repeating: b & 31).vector))
  }
}

extension SIMD16 where Scalar == UInt16 {
  /// Replaces the lanes where `mask`, a mask of 32-bit lanes (an fp32 comparison), is set.
  @_transparent
  mutating func replace(with other: Self, where mask: SIMDMask<SIMD16<Int32>>) {
    let lanes = Builtin.trunc_Vec16xInt32_Vec16xInt1(mask._storage._storage._value)
    let selected = Builtin.select_Vec16xInt1_Vec16xInt16(
      lanes, other._storage._value, _storage._value)
    self = unsafeBitCast(selected, to: Self.self)
  }
  @_transparent
  static func | (a: Self, b: Self) -> Self {
    unsafeBitCast(Builtin.or_Vec16xInt16(a._storage._value, b._storage._value), to: Self.self)
  }

  /// The lanes zero-extended to 32 bits.
  @_transparent
  var widened: SIMD16<UInt32> {
    SIMD16<UInt32>(vector: Builtin.zext_Vec16xInt16_Vec16xInt32(_storage._value))
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension SIMD16 where Scalar == Float16 {
    /// The lanes converted to Float (exactly).
    @_transparent
    var widened: SIMD16<Float> {
      SIMD16<Float>(vector: Builtin.fpext_Vec16xFPIEEE16_Vec16xFPIEEE32(_storage._value))
    }
  }

  extension SIMD16 where Scalar == Float {
    /// The lanes rounded to Float16 (to nearest even): one conversion instruction where the
    /// target converts half precision in hardware, a library call per lane elsewhere.
    @_transparent
    var narrowedToHalf: SIMD16<Float16> {
      unsafeBitCast(Builtin.fptrunc_Vec16xFPIEEE32_Vec16xFPIEEE16(vector), to: SIMD16<Float16>.self)
    }
  }
#endif

extension SIMD16 where Scalar == Int32 {
  @_transparent
  var vector: Builtin.Vec16xInt32 { _storage._value }

  @_transparent
  init(vector: Builtin.Vec16xInt32) {
    self = unsafeBitCast(vector, to: Self.self)
  }

  /// Shifts right (arithmetically) by `b` modulo 32, as the scalar `&>>`.
  @_transparent
  static func &>> (a: Self, b: Int32) -> Self {
    Self(vector: Builtin.ashr_Vec16xInt32(a.vector, Self(repeating: b & 31).vector))
  }
}

extension SIMD8 where Scalar == UInt64 {
  @_transparent
  var vector: Builtin.Vec8xInt64 { _storage._value }

  @_transparent
  init(vector: Builtin.Vec8xInt64) {
    self = unsafeBitCast(vector, to: Self.self)
  }

  @_transparent static func &+ (a: Self, b: UInt64) -> Self { a &+ Self(repeating: b) }

  /// Shifts left by `b` modulo 64, as the scalar `&<<`.
  @_transparent
  static func &<< (a: Self, b: UInt64) -> Self {
    Self(vector: Builtin.shl_Vec8xInt64(a.vector, Self(repeating: b & 63).vector))
  }
}

extension SIMDMask where Storage == SIMD16<Int32> {
  @_transparent
  static prefix func .! (a: Self) -> Self {
    Self(
      SIMD16<Int32>(
        vector: Builtin.xor_Vec16xInt32(a._storage.vector, SIMD16<Int32>(repeating: -1).vector)))
  }
  @_transparent
  static func .| (a: Self, b: Self) -> Self {
    Self(SIMD16<Int32>(vector: Builtin.or_Vec16xInt32(a._storage.vector, b._storage.vector)))
  }
  @_transparent
  static func .& (a: Self, b: Self) -> Self {
    Self(SIMD16<Int32>(vector: Builtin.and_Vec16xInt32(a._storage.vector, b._storage.vector)))
  }
}
