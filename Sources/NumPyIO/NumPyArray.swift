/// An array read from, or to be written to, a NumPy `.npy` file.
///
/// It keeps the elements as raw bytes in little-endian byte order and row-major (C) order,
/// whatever order and byte order the file used, together with their ``dtype`` and ``shape``.
/// Typed access converts on demand:
///
/// ```swift
/// let array = try NumPyArray(contentsOf: "logits.npy")
/// if array.dtype == .float32 { let values = try array.scalars(as: Float.self) }
/// let written = try NumPyArray(shape: [2], scalars: [Float(0.5), 1.5])
/// ```
public struct NumPyArray: Hashable, Sendable {
  /// The element type.
  public let dtype: NumPyDType
  /// The extent of each axis, outermost first; empty for a 0-dimensional array.
  public let shape: [Int]
  /// The elements in row-major order, each ``NumPyDType/itemSize`` bytes, little-endian.
  public let data: [UInt8]

  /// The most axes an array may have (NumPy 2's limit).
  public static let maximumRank = 64

  /// Creates an array from raw little-endian, row-major element bytes.
  ///
  /// - Parameters:
  ///   - dtype: The element type.
  ///   - shape: The extents; each non-negative, at most ``maximumRank`` of them.
  ///   - data: `count * dtype.itemSize` bytes.
  /// - Throws: ``NumPyError`` of kind `badShape` for an invalid shape, `sizeMismatch` when the
  ///   byte count disagrees with the shape.
  public init(dtype: NumPyDType, shape: [Int], data: [UInt8]) throws(NumPyError) {
    let byteCount = try Self.byteCount(of: shape, dtype: dtype)
    guard byteCount == data.count else {
      throw NumPyError(
        .sizeMismatch,
        "shape \(pythonTuple(shape)) of \(dtype.rawValue) needs \(byteCount) bytes of data"
          + " but \(data.count) were given")
    }
    self.dtype = dtype
    self.shape = shape
    self.data = data
  }

  /// Creates an array from typed elements in row-major order.
  ///
  /// - Parameters:
  ///   - shape: The extents; their product must equal `scalars.count`.
  ///   - scalars: The elements.
  /// - Throws: ``NumPyError`` of kind `badShape` or `sizeMismatch` when the counts disagree.
  /// - Complexity: O(n).
  public init<Scalar: NumPyScalar>(shape: [Int], scalars: [Scalar]) throws(NumPyError) {
    let size = Scalar.numPyDType.itemSize
    var bytes = [UInt8](repeating: 0, count: scalars.count * size)
    bytes.withUnsafeMutableBytes { raw in
      if storesNumPyBytes(Scalar.self) {
        scalars.withUnsafeBytes { raw.copyMemory(from: $0) }
      } else {
        for (index, scalar) in scalars.enumerated() {
          scalar.storeLittleEndian(to: raw.baseAddress! + index * size)
        }
      }
    }
    try self.init(dtype: Scalar.numPyDType, shape: shape, data: bytes)
  }

  /// The number of elements: the product of ``shape`` (1 for a 0-dimensional array).
  public var count: Int { data.count / dtype.itemSize }

  /// The elements as `Scalar`, which must be the Swift type of ``dtype``.
  ///
  /// - Parameter type: The element type, such as `Float.self` for `float32`.
  /// - Returns: The elements in row-major order.
  /// - Throws: ``NumPyError`` of kind `typeMismatch` when `Scalar` is not ``dtype``'s type.
  /// - Complexity: O(n).
  public func scalars<Scalar: NumPyScalar>(as type: Scalar.Type) throws(NumPyError) -> [Scalar] {
    guard Scalar.numPyDType == dtype else {
      throw NumPyError(
        .typeMismatch, "expected \(Scalar.numPyDType.rawValue) elements, found \(dtype.rawValue)")
    }
    let size = dtype.itemSize
    let count = self.count
    return data.withUnsafeBytes { raw in
      [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
        if storesNumPyBytes(Scalar.self) {
          UnsafeMutableRawBufferPointer(buffer).copyMemory(
            from: UnsafeRawBufferPointer(rebasing: raw[..<(count * size)]))
        } else {
          for index in 0..<count {
            (buffer.baseAddress! + index).initialize(
              to: Scalar(littleEndianAt: raw.baseAddress! + index * size))
          }
        }
        initialized = count
      }
    }
  }

  /// The elements of an integer or bool array as `Int`.
  ///
  /// - Returns: The elements in row-major order (`bool` as 0 and 1).
  /// - Throws: ``NumPyError`` of kind `typeMismatch` for a floating-point array, or for a
  ///   `uint64` element above `Int.max` (naming it and its position).
  /// - Complexity: O(n).
  public func integers() throws(NumPyError) -> [Int] {
    switch dtype {
    case .bool: return try scalars(as: Bool.self).map { $0 ? 1 : 0 }
    case .int8: return try scalars(as: Int8.self).map(Int.init)
    case .uint8: return try scalars(as: UInt8.self).map(Int.init)
    case .int16: return try scalars(as: Int16.self).map(Int.init)
    case .uint16: return try scalars(as: UInt16.self).map(Int.init)
    case .int32: return try scalars(as: Int32.self).map(Int.init)
    case .uint32: return try scalars(as: UInt32.self).map(Int.init)
    case .int64: return try scalars(as: Int64.self).map(Int.init)
    case .uint64:
      let values = try scalars(as: UInt64.self)
      var result = [Int]()
      result.reserveCapacity(values.count)
      for (index, value) in values.enumerated() {
        guard let converted = Int(exactly: value) else {
          throw NumPyError(
            .typeMismatch, "uint64 element \(value) at flat index \(index) does not fit in Int")
        }
        result.append(converted)
      }
      return result
    case .float16, .float32, .float64:
      throw NumPyError(.typeMismatch, "expected integer elements, found \(dtype.rawValue)")
    }
  }

  /// The elements converted to `Double`, for any dtype (`bool` as 0 and 1).
  ///
  /// - Returns: The elements in row-major order; 64-bit integers beyond 2^53 round.
  /// - Complexity: O(n).
  public func doubles() -> [Double] {
    switch dtype {
    case .float16:
      return data.withUnsafeBytes { raw in
        (0..<count).map { index in
          halfToDouble(UInt16(littleEndianAt: raw.baseAddress! + 2 * index))
        }
      }
    case .float32: return (try? scalars(as: Float.self).map(Double.init)) ?? []
    case .float64: return (try? scalars(as: Double.self)) ?? []
    case .uint64: return (try? scalars(as: UInt64.self).map { Double($0) }) ?? []
    default: return ((try? integers()) ?? []).map(Double.init)
    }
  }

  /// The number of data bytes of `shape` with elements of `dtype`, after validating `shape`.
  ///
  /// Zero extents do not hide an overflow: the product of the non-zero extents must fit too.
  static func byteCount(of shape: [Int], dtype: NumPyDType) throws(NumPyError) -> Int {
    guard shape.count <= maximumRank else {
      throw NumPyError(
        .badShape, "shape has \(shape.count) axes; at most \(maximumRank) are supported")
    }
    var nonZeroBytes = dtype.itemSize
    var hasZero = false
    for extent in shape {
      guard extent >= 0 else {
        throw NumPyError(.badShape, "shape \(pythonTuple(shape)) has a negative extent \(extent)")
      }
      if extent == 0 {
        hasZero = true
        continue
      }
      let (product, overflow) = nonZeroBytes.multipliedReportingOverflow(by: extent)
      guard !overflow else {
        throw NumPyError(
          .badShape, "shape \(pythonTuple(shape)) of \(dtype.rawValue) has too many elements")
      }
      nonZeroBytes = product
    }
    return hasZero ? 0 : nonZeroBytes
  }
}

/// Formats a shape as Python prints a tuple: `()`, `(3,)`, `(2, 3)`.
func pythonTuple(_ shape: [Int]) -> String {
  shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

/// Converts the bits of an IEEE 754 binary16 number to `Double`, on every platform.
func halfToDouble(_ bits: UInt16) -> Double {
  let sign: Double = bits & 0x8000 != 0 ? -1 : 1
  let exponent = Int((bits >> 10) & 0x1F)
  let fraction = Double(bits & 0x3FF)
  switch exponent {
  case 0: return sign * fraction * 0x1p-24
  case 0x1F: return fraction == 0 ? sign * .infinity : .nan
  default:
    return sign * (1 + fraction / 1024)
      * Double(sign: .plus, exponent: exponent - 15, significand: 1)
  }
}

/// Whether `Scalar` is stored in memory exactly as NumPy stores it (a little-endian host, a
/// fixed-width integer or IEEE float of the dtype's size), so whole arrays copy as bytes instead of
/// element by element through the generic protocol, which is slow when unspecialised.
private func storesNumPyBytes<Scalar: NumPyScalar>(_: Scalar.Type) -> Bool {
  #if _endian(little)
    return
      (Scalar.self is any FixedWidthInteger.Type || Scalar.self is any BinaryFloatingPoint.Type)
      && MemoryLayout<Scalar>.stride == Scalar.numPyDType.itemSize
  #else
    return false
  #endif
}
