/// GPT-2's pre-tokenisation, written out by hand: the chunks that byte-pair merges never cross.
///
/// It splits UTF-8 text as GPT-2's pattern does,
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// taking at each position the first alternative that matches: an English contraction
/// (lowercase, as in GPT-2); a run of letters, of digits (any Unicode number), or of other
/// characters (punctuation, symbols, marks), each with an optional leading space; a run of
/// whitespace that is not followed by a non-space character; or else a run of whitespace. The
/// last rule leaves the space before a word to the word: "to be,  or" is "to", " be", ",", " ",
/// " or". Whitespace is Unicode's `White_Space`, letters the categories L*, numbers N*.
enum PreTokenizer {
  /// The class of a character for the pattern above.
  enum Kind: UInt8 {
    case letter, number, space, other
  }

  /// The classes of the ASCII characters, indexed by byte.
  private static let asciiKinds: [Kind] = (0..<128).map { byte in
    switch UInt8(byte) {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): .letter
    case UInt8(ascii: "0")...UInt8(ascii: "9"): .number
    case 0x09...0x0D, 0x20: .space
    default: .other
    }
  }

  /// The class of the character starting at `index` and its length in bytes.
  ///
  /// `bytes` must be valid UTF-8 and `index` the start of a character (a Unicode scalar).
  @inline(__always)
  static func classify(at index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (Kind, Int) {
    let lead = bytes[index]
    if lead < 0x80 { return (asciiKinds[Int(lead)], 1) }
    let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
    var value = UInt32(lead) & (0x7F >> length)
    for offset in 1..<length {
      value = value << 6 | UInt32(bytes[index + offset] & 0x3F)
    }
    guard let scalar = Unicode.Scalar(value) else { return (.other, length) }
    let properties = scalar.properties
    if properties.isWhitespace { return (.space, length) }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      return (.letter, length)
    case .decimalNumber, .letterNumber, .otherNumber:
      return (.number, length)
    default:
      return (.other, length)
    }
  }

  /// The length of the contraction ('s, 't, 're, 've, 'm, 'll, 'd) at `index`, or 0.
  @inline(__always)
  private static func contractionLength(at index: Int, in bytes: UnsafeBufferPointer<UInt8>)
    -> Int
  {
    guard bytes[index] == UInt8(ascii: "'"), index + 1 < bytes.count else { return 0 }
    switch bytes[index + 1] {
    case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
      return 2
    case UInt8(ascii: "r"), UInt8(ascii: "v"):
      return index + 2 < bytes.count && bytes[index + 2] == UInt8(ascii: "e") ? 3 : 0
    case UInt8(ascii: "l"):
      return index + 2 < bytes.count && bytes[index + 2] == UInt8(ascii: "l") ? 3 : 0
    default:
      return 0
    }
  }

  /// Calls `body` with the byte range of each chunk of `bytes`, in order; the ranges tile it.
  ///
  /// - Parameter bytes: Valid UTF-8 (the bytes of a `String`).
  /// - Complexity: O(n) in the number of bytes.
  static func forEachChunk(
    in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void
  ) {
    let count = bytes.count
    var index = 0
    while index < count {
      let start = index
      let contraction = contractionLength(at: index, in: bytes)
      if contraction > 0 {
        index += contraction
        body(start..<index)
        continue
      }
      var (kind, length) = classify(at: index, in: bytes)
      if kind == .space {
        // The whitespace run, and where its last character starts.
        var last = index
        index += length
        while index < count {
          let (next, nextLength) = classify(at: index, in: bytes)
          if next != .space { break }
          last = index
          index += nextLength
        }
        if index == count {
          body(start..<index)
          continue
        }
        // Followed by a non-space: the run but its last character is one chunk (\s+(?!\S)),
        // and that last character either leads the next chunk (a space) or stands alone.
        if last > start {
          body(start..<last)
          index = last
          continue
        }
        if bytes[start] != UInt8(ascii: " ") {
          body(start..<index)
          continue
        }
        (kind, length) = classify(at: index, in: bytes)
      }
      index += length
      while index < count {
        let (next, nextLength) = classify(at: index, in: bytes)
        if next != kind { break }
        index += nextLength
      }
      body(start..<index)
    }
  }
}
