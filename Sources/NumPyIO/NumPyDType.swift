/// The element types of a `.npy` file that this module reads and writes.
///
/// The raw value is NumPy's name for the type (`numpy.dtype(...).name`).
public enum NumPyDType: String, Hashable, Sendable, CaseIterable {
  /// `bool`, one byte per element, `|b1`.
  case bool
  /// `int8`, `|i1`.
  case int8
  /// `uint8`, `|u1`.
  case uint8
  /// `int16`, `<i2`.
  case int16
  /// `uint16`, `<u2` (also the raw bits of bfloat16 data).
  case uint16
  /// `int32`, `<i4`.
  case int32
  /// `uint32`, `<u4`.
  case uint32
  /// `int64`, `<i8`.
  case int64
  /// `uint64`, `<u8`.
  case uint64
  /// `float16` (IEEE half precision), `<f2`.
  case float16
  /// `float32`, `<f4`.
  case float32
  /// `float64`, `<f8`.
  case float64

  /// The number of bytes of one element.
  public var itemSize: Int {
    switch self {
    case .bool, .int8, .uint8: 1
    case .int16, .uint16, .float16: 2
    case .int32, .uint32, .float32: 4
    case .int64, .uint64, .float64: 8
    }
  }

  /// Whether the type is a floating-point type.
  public var isFloatingPoint: Bool {
    self == .float16 || self == .float32 || self == .float64
  }

  /// Whether the type is a (signed or unsigned) integer type; `bool` is not.
  public var isInteger: Bool { !isFloatingPoint && self != .bool }

  /// The kind character of NumPy's type string: `b`, `i`, `u` or `f`.
  var kindCharacter: Character {
    switch self {
    case .bool: "b"
    case .int8, .int16, .int32, .int64: "i"
    case .uint8, .uint16, .uint32, .uint64: "u"
    case .float16, .float32, .float64: "f"
    }
  }

  /// The little-endian type string a `.npy` header stores, such as `<f4` or `|u1`.
  public var descriptor: String {
    (itemSize == 1 ? "|" : "<") + String(kindCharacter) + String(itemSize)
  }

  /// The type for a kind character and an item size, or `nil` if this module lacks it.
  init?(kind: Character, itemSize: Int) {
    guard
      let match = NumPyDType.allCases.first(where: {
        $0.kindCharacter == kind && $0.itemSize == itemSize
      })
    else { return nil }
    self = match
  }
}
