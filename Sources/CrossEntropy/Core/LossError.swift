/// The error every public entry point of the package throws for bad input.
///
/// Its ``message`` names the offending value, where it is, and what was expected, for example
/// `label 12 at position [3, 7] is outside 0..<10`. Data that comes from files or datasets is not a
/// programmer error, so nothing in the package traps on it: it throws this instead.
///
/// NaN and infinite values in logits are not errors; they propagate as the formulas imply.
public struct LossError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The broad category of a ``LossError``.
  public enum Kind: String, Hashable, Sendable {
    /// Two arrays whose shapes must agree do not.
    case shapeMismatch
    /// A class-index label lies outside `0..<classCount` and is not the ignore index.
    case labelOutOfRange
    /// A value lies outside its valid range (a probability outside [0, 1], a negative length).
    case valueOutOfRange
    /// An option (label smoothing, temperature, margin, ...) has an invalid value.
    case invalidOption
    /// An axis lies outside the array's rank.
    case invalidAxis
    /// The class dimension has no elements.
    case emptyClassDimension
  }

  /// The category of the error.
  public let kind: Kind
  /// A one-line, human-readable explanation naming the value and what was expected.
  public let message: String

  /// Creates an error of the given kind with a message.
  ///
  /// - Parameters:
  ///   - kind: The category of the error.
  ///   - message: A one-line explanation naming the value and what was expected.
  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  /// The error's ``message``.
  public var description: String { message }
}

extension LossError {
  static func shapeMismatch(_ message: String) -> LossError { LossError(.shapeMismatch, message) }
  static func invalidOption(_ message: String) -> LossError { LossError(.invalidOption, message) }
  static func valueOutOfRange(_ message: String) -> LossError {
    LossError(.valueOutOfRange, message)
  }
}

/// Formats a shape the way error messages print it: `[4, 10]`, or `[]` for a scalar.
func describe(shape: [Int]) -> String {
  "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// A count of elements with its noun: `1 element`, `3 elements`.
func describe(elementCount count: Int) -> String {
  count == 1 ? "1 element" : "\(count) elements"
}

/// The multi-index of the element at `flatIndex` of a row-major array of the given shape.
func position(ofFlatIndex flatIndex: Int, in shape: [Int]) -> [Int] {
  var rest = flatIndex
  var index = [Int](repeating: 0, count: shape.count)
  for axis in shape.indices.reversed() where shape[axis] > 0 {
    index[axis] = rest % shape[axis]
    rest /= shape[axis]
  }
  return index
}
