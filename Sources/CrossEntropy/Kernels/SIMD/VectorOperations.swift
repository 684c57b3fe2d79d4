import Builtin

// Lane-wise arithmetic of the kernels' vector types as single vector instructions.
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
    Self(SIMD16<Int32>(vector: Builtin.xor_Vec16xInt32(a._storage.vector, SIMD16<Int32>(repeating: -1).vector)))
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
