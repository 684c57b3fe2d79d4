/// The parsed header dictionary of a `.npy` file:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
struct NumPyHeader: Hashable, Sendable {
  /// The element type.
  var dtype: NumPyDType
  /// Whether the file stores elements in big-endian byte order.
  var bigEndian: Bool
  /// Whether the file stores elements in column-major (Fortran) order.
  var fortranOrder: Bool
  /// The extents.
  var shape: [Int]

  /// The most bytes a header may have. NumPy itself refuses headers over 10,000 bytes by
  /// default; allowing more costs nothing because the header is already in memory.
  static let maximumLength = 1 << 20

  /// Parses the header dictionary text.
  ///
  /// - Throws: ``NumPyError`` of kind `badHeader`, `unsupportedDType` or `badShape`.
  init(parsing text: ArraySlice<UInt8>) throws(NumPyError) {
    var parser = HeaderParser(bytes: text)
    let entries = try parser.parseDictionary()
    var descriptor: String?
    var fortran: Bool?
    var shape: [Int]?
    for (key, value) in entries {
      switch (key, value) {
      case ("descr", .string(let text)) where descriptor == nil: descriptor = text
      case ("descr", .list):
        throw NumPyError(
          .unsupportedDType,
          "structured (record) dtypes are not supported; expected a plain"
            + " numeric dtype such as '<f4'")
      case ("fortran_order", .bool(let flag)) where fortran == nil: fortran = flag
      case ("shape", .tuple(let extents)) where shape == nil: shape = extents
      case ("descr", _), ("fortran_order", _), ("shape", _):
        throw NumPyError(
          .badHeader, "header key '\(key)' is repeated or has a value of the wrong type")
      default:
        throw NumPyError(
          .badHeader,
          "header has an unexpected key '\(key)'; expected only 'descr', 'fortran_order', 'shape'")
      }
    }
    guard let descriptor, let fortran, let shape else {
      let missing = [
        descriptor == nil ? "'descr'" : nil, fortran == nil ? "'fortran_order'" : nil,
        shape == nil ? "'shape'" : nil,
      ].compactMap { $0 }
      throw NumPyError(.badHeader, "header lacks the key \(missing.joined(separator: ", "))")
    }
    (dtype, bigEndian) = try Self.parseDescriptor(descriptor)
    fortranOrder = fortran
    self.shape = shape
  }

  /// Resolves a type string such as `<f4`, `>i8`, `|u1` or `|b1`.
  static func parseDescriptor(_ text: String) throws(NumPyError) -> (NumPyDType, Bool) {
    let characters = Array(text)
    let expected = "expected one of '<f2', '<f4', '<f8', '<i1'...'<i8', '<u1'...'<u8', '|b1'"
    guard characters.count >= 3, "<>|=".contains(characters[0]),
      let size = Int(String(characters[2...])), size > 0,
      let dtype = NumPyDType(kind: characters[1], itemSize: size)
    else {
      throw NumPyError(.unsupportedDType, "unsupported dtype '\(text)'; \(expected)")
    }
    let hostIsBigEndian = 1.bigEndian == 1
    switch characters[0] {
    case ">": return (dtype, dtype.itemSize > 1)
    case "=", "|": return (dtype, dtype.itemSize > 1 && hostIsBigEndian)
    default: return (dtype, false)
    }
  }
}

/// A value of the header's Python literal subset.
enum HeaderValue: Hashable {
  case string(String)
  case bool(Bool)
  case tuple([Int])
  case list
}

/// A recursive-descent parser for the Python literal subset `.npy` headers use.
struct HeaderParser {
  let bytes: ArraySlice<UInt8>
  var index: Int

  init(bytes: ArraySlice<UInt8>) {
    self.bytes = bytes
    self.index = bytes.startIndex
  }

  /// Parses `{ 'key': value, ... }` followed only by whitespace.
  mutating func parseDictionary() throws(NumPyError) -> [(String, HeaderValue)] {
    skipWhitespace()
    try expect(UInt8(ascii: "{"))
    var entries: [(String, HeaderValue)] = []
    while true {
      skipWhitespace()
      if peek() == UInt8(ascii: "}") {
        index += 1
        break
      }
      let key = try parseString()
      skipWhitespace()
      try expect(UInt8(ascii: ":"))
      skipWhitespace()
      entries.append((key, try parseValue()))
      skipWhitespace()
      if peek() == UInt8(ascii: ",") {
        index += 1
      } else if peek() != UInt8(ascii: "}") {
        throw error("expected ',' or '}'")
      }
    }
    skipWhitespace()
    guard index == bytes.endIndex else { throw error("unexpected text after the dictionary") }
    return entries
  }

  private mutating func parseValue() throws(NumPyError) -> HeaderValue {
    switch peek() {
    case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "("): return .tuple(try parseTuple())
    case UInt8(ascii: "["):
      // A structured dtype's field list; the caller reports it. Skip it, brackets balanced.
      try skipBracketed()
      return .list
    default:
      if consume("True") { return .bool(true) }
      if consume("False") { return .bool(false) }
      throw error("expected a string, True, False or a tuple")
    }
  }

  private mutating func parseString() throws(NumPyError) -> String {
    guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
      throw error("expected a quoted string")
    }
    index += 1
    let start = index
    while let byte = peek(), byte != quote {
      guard byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "\n") else {
        throw error("escapes and line breaks are not supported in strings")
      }
      index += 1
    }
    guard peek() == quote else { throw error("unterminated string") }
    let text = String(decoding: bytes[start..<index], as: UTF8.self)
    index += 1
    return text
  }

  private mutating func parseTuple() throws(NumPyError) -> [Int] {
    try expect(UInt8(ascii: "("))
    var extents: [Int] = []
    while true {
      skipWhitespace()
      if peek() == UInt8(ascii: ")") {
        index += 1
        return extents
      }
      guard extents.count < NumPyArray.maximumRank else {
        throw NumPyError(
          .badShape, "header shape has more than \(NumPyArray.maximumRank) axes")
      }
      extents.append(try parseInteger())
      skipWhitespace()
      if peek() == UInt8(ascii: ",") {
        index += 1
      } else if peek() != UInt8(ascii: ")") {
        throw error("expected ',' or ')' in the shape tuple")
      }
    }
  }

  private mutating func parseInteger() throws(NumPyError) -> Int {
    let negative = peek() == UInt8(ascii: "-")
    if negative { index += 1 }
    var value = 0
    var digits = 0
    while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
      let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
      guard !overflow1, !overflow2 else {
        throw NumPyError(.badShape, "header shape has an extent too large for a 64-bit integer")
      }
      value = sum
      digits += 1
      index += 1
    }
    guard digits > 0 else { throw error("expected an integer in the shape tuple") }
    if peek() == UInt8(ascii: "L") { index += 1 }  // Python 2 long literal
    guard !negative else {
      throw NumPyError(.badShape, "header shape has a negative extent -\(value)")
    }
    return value
  }

  private mutating func skipBracketed() throws(NumPyError) {
    var depth = 0
    repeat {
      guard let byte = peek() else { throw error("unterminated list") }
      if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "(") { depth += 1 }
      if byte == UInt8(ascii: "]") || byte == UInt8(ascii: ")") { depth -= 1 }
      index += 1
    } while depth > 0
  }

  private func peek() -> UInt8? { index < bytes.endIndex ? bytes[index] : nil }

  private mutating func skipWhitespace() {
    while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
      index += 1
    }
  }

  private mutating func expect(_ byte: UInt8) throws(NumPyError) {
    guard peek() == byte else {
      throw error("expected '\(Character(Unicode.Scalar(byte)))'")
    }
    index += 1
  }

  private mutating func consume(_ word: String) -> Bool {
    let utf8 = Array(word.utf8)
    guard bytes.endIndex - index >= utf8.count,
      bytes[index..<index + utf8.count].elementsEqual(utf8)
    else { return false }
    index += utf8.count
    return true
  }

  private func error(_ what: String) -> NumPyError {
    let offset = index - bytes.startIndex
    return NumPyError(.badHeader, "malformed header dictionary at byte \(offset): \(what)")
  }
}
