/// The error the NumPy reader and writer throw.
///
/// Its ``message`` is one line that names what was wrong and what was expected, for example
/// `header shape (3, -1) has a negative extent -1`. Reading never traps and never allocates more
/// than the input's size on malformed data: it throws this instead.
public struct NumPyError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The broad category of a ``NumPyError``.
  public enum Kind: String, Hashable, Sendable {
    /// The file could not be read or written.
    case io
    /// The data ends before the header or the elements do.
    case truncated
    /// The data does not start with the `.npy` magic string `\x93NUMPY`.
    case badMagic
    /// The format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion
    /// The header is not the dictionary literal the format prescribes.
    case badHeader
    /// The element type is not one this reader supports.
    case unsupportedDType
    /// The shape has a negative extent, too many axes, or too many elements.
    case badShape
    /// The element data is not the size the header announces.
    case sizeMismatch
    /// The elements were requested as a type that does not match the array's dtype.
    case typeMismatch
  }

  /// The category of the error.
  public let kind: Kind
  /// A one-line, human-readable explanation.
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

  /// The same error with `prefix` and a colon in front of its message.
  ///
  /// - Parameter prefix: Usually the file name.
  /// - Returns: An error of the same kind.
  public func prefixed(_ prefix: String) -> NumPyError {
    NumPyError(kind, "\(prefix): \(message)")
  }
}
