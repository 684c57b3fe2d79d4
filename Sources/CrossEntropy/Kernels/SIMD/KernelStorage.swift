import CrossEntropyCPU

/// How the fused kernels read and write one element type: 16 elements to and from a `Vector`
/// of fp32. All arithmetic happens in fp32; half-precision types are widened on load and
/// rounded to nearest even on store, with hardware vector conversions where the target has
/// them, else integer SIMD code (never per-lane conversion calls).
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

/// Zero-extends 16-bit lanes (one `vpmovzxwd` where available).
@inline(__always)
func widenLanes(_ v: SIMD16<UInt16>) -> SIMD16<UInt32> { v.widened }

/// Keeps the low 16 bits of each lane (one `vpmovdw` where available).
@inline(__always)
func narrowLanes(_ v: SIMD16<UInt32>) -> SIMD16<UInt16> { v.truncatedTo16 }

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
    return unsafeBitCast(widenLanes(bits) &<< 16, to: Vector.self)
  }

  @inline(__always)
  static func store(_ v: Vector, _ p: UnsafeMutablePointer<UInt16>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: round(v), as: SIMD16<UInt16>.self)
  }

  /// Rounds to nearest even; NaN stays a (quiet) NaN with its sign.
  @inline(__always)
  static func round(_ v: Vector) -> SIMD16<UInt16> {
    let u = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    // Narrowed before the select, which then runs on 16-bit lanes.
    var result = narrowLanes((u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16)
    result.replace(with: narrowLanes((u &>> 16) | 0x40), where: v .!= v)
    return result
  }

  @inline(__always) static func float(_ x: UInt16) -> Float {
    Float(bitPattern: UInt32(x) << 16)
  }
  @inline(__always) static func stored(_ x: Float) -> UInt16 {
    round(Vector(repeating: x))[0]
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  /// IEEE half-precision elements. Where the compile target converts half precision in
  /// hardware (x86 F16C, as in a `-target-cpu native` build on most x86 machines, or any
  /// AArch64), a load or store is one vector conversion (`vcvtph2ps` / `vcvtps2ph`, `fcvtl` /
  /// `fcvtn`); elsewhere the integer SIMD code of ``widen(_:)`` and ``narrow(_:)`` does it with
  /// the same results (Swift's `Float16` conversions would be one library call per lane there).
  enum HalfStorage: KernelStorage {
    /// True when the compile target converts half precision in hardware. A compile-time
    /// constant, so each build keeps only one of the two paths.
    static var hasHardwareConversion: Bool {
      @inline(__always) get { xent_cpu_has_half_conversion() != 0 }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float16>, _ i: Int) -> Vector {
      if hasHardwareConversion {
        // One conversion (the SIMD initialiser would stay a call).
        return UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float16>.self).widened
      }
      let bits = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt16>.self)
      return widen(widenLanes(bits))
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float16>, _ i: Int) {
      if hasHardwareConversion {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v.narrowedToHalf, as: SIMD16<Float16>.self)
        return
      }
      UnsafeMutableRawPointer(p + i).storeBytes(of: narrow(v), as: SIMD16<UInt16>.self)
    }

    /// Half bits (in the low 16 bits of each lane) to fp32, exactly (subnormals, inf, NaN).
    /// Selects are made on fp32 vectors: integer-vector `replace` lowers lane by lane.
    @inline(__always)
    static func widen(_ h: SIMD16<UInt32>) -> Vector {
      let o = (h & 0x7FFF) &<< 13
      // Rescaling by 2^112 moves the exponent and normalises subnormals exactly.
      var result = unsafeBitCast(o, to: Vector.self) * Float(bitPattern: (127 + 112) << 23)
      let infinityOrNaN = unsafeBitCast(o | (255 << 23), to: Vector.self)
      result.replace(with: infinityOrNaN, where: result .>= 65536)
      return unsafeBitCast(
        unsafeBitCast(result, to: SIMD16<UInt32>.self) | ((h & 0x8000) &<< 16), to: Vector.self)
    }

    /// fp32 to half bits, rounded to nearest even (overflow to inf, NaN to a quiet NaN).
    @inline(__always)
    static func narrow(_ v: Vector) -> SIMD16<UInt16> {
      let denormalMagic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
      let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
      let sign = bits & 0x8000_0000
      let u = bits ^ sign
      let magnitude = unsafeBitCast(u, to: Vector.self)
      // Normal results: round the 13 dropped bits to nearest even.
      let odd = (u &>> 13) & 1
      let normal = (u &+ (((15 &- 127) << 23) &+ 0xFFF) &+ odd) &>> 13
      // Narrowed before the selects, which then run on 16-bit lanes.
      var result = narrowLanes(normal)
      // Subnormal results: let an fp32 addition do the rounding.
      let sub =
        unsafeBitCast(magnitude + Float(bitPattern: denormalMagic), to: SIMD16<UInt32>.self)
        &- denormalMagic
      result.replace(with: narrowLanes(sub), where: magnitude .< Float(bitPattern: 113 << 23))
      result.replace(with: SIMD16<UInt16>(repeating: 0x7C00), where: magnitude .>= 65536)
      result.replace(with: SIMD16<UInt16>(repeating: 0x7E00), where: v .!= v)
      return result | narrowLanes(sign &>> 16)
    }

    @inline(__always) static func float(_ x: Float16) -> Float {
      if hasHardwareConversion { return Float(x) }
      return widen(SIMD16<UInt32>(repeating: UInt32(x.bitPattern)))[0]
    }
    @inline(__always) static func stored(_ x: Float) -> Float16 {
      if hasHardwareConversion { return Float16(x) }
      return Float16(bitPattern: narrow(Vector(repeating: x))[0])
    }
  }
#endif
