/// How the fused kernels read and write one element type: 16 elements to and from a `Vector`
/// of fp32. All arithmetic happens in fp32; half-precision types are widened on load and
/// rounded to nearest even on store, with integer SIMD code (no per-lane conversion calls,
/// which the portable build would otherwise make for Float16).
protocol KernelStorage {
  associatedtype Stored
  /// Loads 16 elements as fp32.
  static func load(_ p: UnsafePointer<Stored>, _ i: Int) -> Vector
  /// Stores 16 fp32 values, rounded to the element type.
  static func store(_ v: Vector, _ p: UnsafeMutablePointer<Stored>, _ i: Int)
  /// One element as fp32.
  static func float(_ x: Stored) -> Float
  /// One fp32 value rounded to the element type.
  static func stored(_ x: Float) -> Stored
}

extension KernelStorage {
  /// Loads the `count < 16` elements at `p + i`, filling the other lanes with `fill`.
  @inline(__always)
  static func loadPartial(
    _ p: UnsafePointer<Stored>, _ i: Int, count: Int, fill: Float
  ) -> Vector {
    var v = Vector(repeating: fill)
    for k in 0..<count { v[k] = float(p[i + k]) }
    return v
  }

  /// Stores the first `count < 16` lanes of `v` at `p + i`.
  @inline(__always)
  static func storePartial(_ v: Vector, _ p: UnsafeMutablePointer<Stored>, _ i: Int, count: Int) {
    for k in 0..<count { p[i + k] = stored(v[k]) }
  }
}

/// fp32 elements.
enum FloatStorage: KernelStorage {
  @inline(__always)
  static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Vector { VectorMath.load(p, i) }
  @inline(__always)
  static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    VectorMath.store(v, p, i)
  }
  @inline(__always) static func float(_ x: Float) -> Float { x }
  @inline(__always) static func stored(_ x: Float) -> Float { x }
}

/// bfloat16 elements held as their raw 16 bits (the high half of an fp32).
enum BFloat16Storage: KernelStorage {
  @inline(__always)
  static func load(_ p: UnsafePointer<UInt16>, _ i: Int) -> Vector {
    let bits = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt16>.self)
    return unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: bits) &<< 16, to: Vector.self)
  }

  @inline(__always)
  static func store(_ v: Vector, _ p: UnsafeMutablePointer<UInt16>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: round(v), as: SIMD16<UInt16>.self)
  }

  /// Rounds to nearest even; NaN stays a (quiet) NaN with its sign.
  @inline(__always)
  static func round(_ v: Vector) -> SIMD16<UInt16> {
    let u = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    var rounded = (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16
    rounded.replace(with: (u &>> 16) | 0x40, where: v .!= v)
    return SIMD16<UInt16>(truncatingIfNeeded: rounded)
  }

  @inline(__always) static func float(_ x: UInt16) -> Float {
    Float(bitPattern: UInt32(x) << 16)
  }
  @inline(__always) static func stored(_ x: Float) -> UInt16 {
    round(Vector(repeating: x))[0]
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  /// IEEE half-precision elements.
  enum HalfStorage: KernelStorage {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float16>, _ i: Int) -> Vector {
      let bits = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt16>.self)
      return widen(SIMD16<UInt32>(truncatingIfNeeded: bits))
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float16>, _ i: Int) {
      UnsafeMutableRawPointer(p + i).storeBytes(
        of: SIMD16<UInt16>(truncatingIfNeeded: narrow(v)), as: SIMD16<UInt16>.self)
    }

    /// Half bits (in the low 16 bits of each lane) to fp32, exactly (subnormals, inf, NaN).
    @inline(__always)
    static func widen(_ h: SIMD16<UInt32>) -> Vector {
      let shiftedExponent: UInt32 = 0x7C00 << 13
      var o = (h & 0x7FFF) &<< 13
      let exponent = o & shiftedExponent
      o &+= (127 - 15) << 23
      o.replace(with: o &+ ((128 - 16) << 23), where: exponent .== shiftedExponent)
      // Zero and subnormals: renormalise through an fp32 subtraction.
      let magic = Float(bitPattern: 113 << 23)
      let renormalised = unsafeBitCast(o &+ (1 << 23), to: Vector.self) - magic
      var result = unsafeBitCast(o, to: Vector.self)
      result.replace(with: renormalised, where: exponent .== 0)
      return unsafeBitCast(
        unsafeBitCast(result, to: SIMD16<UInt32>.self) | ((h & 0x8000) &<< 16), to: Vector.self)
    }

    /// fp32 to half bits, rounded to nearest even (overflow to inf, NaN to a quiet NaN).
    @inline(__always)
    static func narrow(_ v: Vector) -> SIMD16<UInt32> {
      let f32Infinity: UInt32 = 255 << 23
      let f16Maximum: UInt32 = (127 + 16) << 23
      let denormalMagic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
      let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
      let sign = bits & 0x8000_0000
      let u = bits ^ sign
      // Normal results.
      let odd = (u &>> 13) & 1
      var normal = (u &+ (((15 &- 127) << 23) &+ 0xFFF) &+ odd) &>> 13
      // Subnormal results: let an fp32 addition do the rounding.
      let sub =
        unsafeBitCast(
          unsafeBitCast(u, to: Vector.self) + Float(bitPattern: denormalMagic),
          to: SIMD16<UInt32>.self) &- denormalMagic
      normal.replace(with: sub, where: u .< (113 << 23))
      var special = SIMD16<UInt32>(repeating: 0x7C00)
      special.replace(with: 0x7E00, where: u .> f32Infinity)
      normal.replace(with: special, where: u .>= f16Maximum)
      return normal | (sign &>> 16)
    }

    @inline(__always) static func float(_ x: Float16) -> Float {
      widen(SIMD16<UInt32>(repeating: UInt32(x.bitPattern)))[0]
    }
    @inline(__always) static func stored(_ x: Float) -> Float16 {
      Float16(bitPattern: UInt16(truncatingIfNeeded: narrow(Vector(repeating: x))[0]))
    }
  }
#endif
