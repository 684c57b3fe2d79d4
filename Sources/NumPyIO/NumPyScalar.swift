/// A Swift type that stores one element of a `.npy` array.
///
/// `Bool`, the fixed-width integers up to 64 bits, `Float`, `Double` and (where the platform has
/// it) `Float16` conform. The module reads and writes the bytes in little-endian order.
public protocol NumPyScalar: Sendable {
  /// The NumPy element type this Swift type stores.
  static var numPyDType: NumPyDType { get }
  /// Reads one element from `numPyDType.itemSize` little-endian bytes at `pointer`.
  ///
  /// - Parameter pointer: The first byte; it need not be aligned.
  init(littleEndianAt pointer: UnsafeRawPointer)
  /// Writes the element as `numPyDType.itemSize` little-endian bytes at `pointer`.
  ///
  /// - Parameter pointer: The first byte; it need not be aligned.
  func storeLittleEndian(to pointer: UnsafeMutableRawPointer)
}

extension NumPyScalar where Self: FixedWidthInteger {
  /// Reads one little-endian integer at `pointer`, which need not be aligned.
  ///
  /// - Parameter pointer: The first byte.
  public init(littleEndianAt pointer: UnsafeRawPointer) {
    self.init(littleEndian: pointer.loadUnaligned(as: Self.self))
  }

  /// Writes the integer in little-endian order at `pointer`, which need not be aligned.
  ///
  /// - Parameter pointer: The first byte.
  public func storeLittleEndian(to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: littleEndian, as: Self.self)
  }
}

extension Int8: NumPyScalar {
  /// `int8`.
  public static var numPyDType: NumPyDType { .int8 }
}
extension UInt8: NumPyScalar {
  /// `uint8`.
  public static var numPyDType: NumPyDType { .uint8 }
}
extension Int16: NumPyScalar {
  /// `int16`.
  public static var numPyDType: NumPyDType { .int16 }
}
extension UInt16: NumPyScalar {
  /// `uint16`.
  public static var numPyDType: NumPyDType { .uint16 }
}
extension Int32: NumPyScalar {
  /// `int32`.
  public static var numPyDType: NumPyDType { .int32 }
}
extension UInt32: NumPyScalar {
  /// `uint32`.
  public static var numPyDType: NumPyDType { .uint32 }
}
extension Int64: NumPyScalar {
  /// `int64`.
  public static var numPyDType: NumPyDType { .int64 }
}
extension UInt64: NumPyScalar {
  /// `uint64`.
  public static var numPyDType: NumPyDType { .uint64 }
}

extension Bool: NumPyScalar {
  /// `bool`.
  public static var numPyDType: NumPyDType { .bool }

  /// Reads one byte at `pointer`; any non-zero byte is `true`, as in NumPy.
  ///
  /// - Parameter pointer: The byte.
  public init(littleEndianAt pointer: UnsafeRawPointer) {
    self = pointer.load(as: UInt8.self) != 0
  }

  /// Writes 1 for `true` and 0 for `false`.
  ///
  /// - Parameter pointer: The byte.
  public func storeLittleEndian(to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: self ? 1 : 0, as: UInt8.self)
  }
}

extension Float: NumPyScalar {
  /// `float32`.
  public static var numPyDType: NumPyDType { .float32 }

  /// Reads the little-endian bits of one `float32` at `pointer`.
  ///
  /// - Parameter pointer: The first byte; it need not be aligned.
  public init(littleEndianAt pointer: UnsafeRawPointer) {
    self.init(bitPattern: UInt32(littleEndianAt: pointer))
  }

  /// Writes the bits in little-endian order at `pointer`.
  ///
  /// - Parameter pointer: The first byte; it need not be aligned.
  public func storeLittleEndian(to pointer: UnsafeMutableRawPointer) {
    bitPattern.storeLittleEndian(to: pointer)
  }
}

extension Double: NumPyScalar {
  /// `float64`.
  public static var numPyDType: NumPyDType { .float64 }

  /// Reads the little-endian bits of one `float64` at `pointer`.
  ///
  /// - Parameter pointer: The first byte; it need not be aligned.
  public init(littleEndianAt pointer: UnsafeRawPointer) {
    self.init(bitPattern: UInt64(littleEndianAt: pointer))
  }

  /// Writes the bits in little-endian order at `pointer`.
  ///
  /// - Parameter pointer: The first byte; it need not be aligned.
  public func storeLittleEndian(to pointer: UnsafeMutableRawPointer) {
    bitPattern.storeLittleEndian(to: pointer)
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension Float16: NumPyScalar {
    /// `float16`.
    public static var numPyDType: NumPyDType { .float16 }

    /// Reads the little-endian bits of one `float16` at `pointer`.
    ///
    /// - Parameter pointer: The first byte; it need not be aligned.
    public init(littleEndianAt pointer: UnsafeRawPointer) {
      self.init(bitPattern: UInt16(littleEndianAt: pointer))
    }

    /// Writes the bits in little-endian order at `pointer`.
    ///
    /// - Parameter pointer: The first byte; it need not be aligned.
    public func storeLittleEndian(to pointer: UnsafeMutableRawPointer) {
      bitPattern.storeLittleEndian(to: pointer)
    }
  }
#endif
