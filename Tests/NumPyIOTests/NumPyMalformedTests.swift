import NumPyIO
import Testing

/// Builds a `.npy` file from a header dictionary and data, with a correct length field.
func npy(
  _ dictionary: String, data: [UInt8] = [], version: UInt8 = 1, pad: Bool = true
) -> [UInt8] {
  var header = Array(dictionary.utf8)
  if pad { header += [0x0A] }
  var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
  let lengthBytes = version == 1 ? 2 : 4
  for shift in 0..<lengthBytes {
    bytes.append(UInt8(truncatingIfNeeded: header.count >> (8 * shift)))
  }
  return bytes + header + data
}

func header(descr: String = "'<f4'", fortran: String = "False", shape: String) -> String {
  "{'descr': \(descr), 'fortran_order': \(fortran), 'shape': \(shape), }"
}

/// Every malformed input throws a ``NumPyError`` with a clear message; none traps.
@Suite struct NumPyMalformedTests {
  func message(_ bytes: [UInt8]) -> String? {
    #expect(throws: NumPyError.self) { try NumPyArray(npyBytes: bytes) }?.message
  }

  @Test func truncatedAndBadMagic() {
    #expect(message([]) == "file is 0 bytes long, too short for a .npy header")
    #expect(
      message(Array("PK\u{3}\u{4}zipfile".utf8))
        == "not a .npy file: it does not start with \\x93NUMPY")
    #expect(message([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1]) == "file ends inside the header")
    #expect(
      message([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0x10])
        == "file ends inside the header length")
    let full = npy(header(shape: "(2,)"), data: [UInt8](repeating: 0, count: 8))
    #expect(message(Array(full[0..<30])) == "header announces 58 bytes but only 20 follow")
  }

  @Test func versions() {
    var bytes = npy(header(shape: "()"), data: [0, 0, 0, 0])
    bytes[6] = 4
    #expect(message(bytes) == "unsupported .npy format version 4.0; expected 1.0, 2.0 or 3.0")
    bytes[6] = 1
    bytes[7] = 1
    #expect(message(bytes) == "unsupported .npy format version 1.1; expected 1.0, 2.0 or 3.0")
    let nonASCII = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'é': 1}", version: 2)
    #expect(
      message(nonASCII)
        == "header of a version 2 file has the non-ASCII byte 195; expected ASCII text")
    var huge: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0xFF, 0xFF, 0xFF, 0xFF]
    huge += [UInt8](repeating: 0x20, count: 16)
    #expect(message(huge) == "header length 4294967295 exceeds the limit of 1048576 bytes")
  }

  @Test func shapes() {
    #expect(message(npy(header(shape: "(3, -1)"))) == "header shape has a negative extent -1")
    #expect(
      message(npy(header(shape: "(99999999999999999999,)")))
        == "header shape has an extent too large for a 64-bit integer")
    #expect(
      message(npy(header(shape: "(4294967296, 4294967296)")))
        == "shape (4294967296, 4294967296) of float32 has too many elements")
    #expect(
      message(npy(header(shape: "(0, 4294967296, 4294967296)")))
        == "shape (0, 4294967296, 4294967296) of float32 has too many elements")
    #expect(
      message(npy(header(shape: "(1000000, 1000000)"), data: [1, 2, 3, 4]))
        == "shape (1000000, 1000000) of float32 needs 4000000000000 bytes of data but the file has 4"
    )
    let axes = "(" + String(repeating: "1, ", count: 65) + ")"
    #expect(message(npy(header(shape: axes))) == "header shape has more than 64 axes")
  }

  @Test func sizeMismatch() {
    #expect(
      message(npy(header(shape: "(2,)"), data: [0, 0, 0, 0]))
        == "shape (2,) of float32 needs 8 bytes of data but the file has 4")
    #expect(
      message(npy(header(shape: "(1,)"), data: [UInt8](repeating: 0, count: 5)))
        == "shape (1,) of float32 needs 4 bytes of data but the file has 5")
  }

  @Test func dtypes() {
    let expected = "expected one of '<f2', '<f4', '<f8', '<i1'...'<i8', '<u1'...'<u8', '|b1'"
    for descr in [
      "'<c8'", "'<U3'", "'O'", "'<f16'", "'<f3'", "'f4'", "''", "'<f0'", "'<i99999999999999999999'",
    ] {
      let inner = descr.dropFirst().dropLast()
      #expect(
        message(npy(header(descr: descr, shape: "()")))
          == "unsupported dtype '\(inner)'; \(expected)")
    }
    #expect(
      message(npy(header(descr: "[('a', '<f4')]", shape: "()")))
        == "structured (record) dtypes are not supported; expected a plain numeric dtype such as '<f4'"
    )
  }

  @Test func headerDictionaries() {
    let cases: [(String, String)] = [
      ("", "malformed header dictionary at byte 1: expected '{'"),
      ("{'descr': '<f4', 'shape': ()}", "header lacks the key 'fortran_order'"),
      ("{}", "header lacks the key 'descr', 'fortran_order', 'shape'"),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': True}",
        "header has an unexpected key 'extra'; expected only 'descr', 'fortran_order', 'shape'"
      ),
      (
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
        "header key 'descr' is repeated or has a value of the wrong type"
      ),
      (
        "{'descr': '<f4', 'fortran_order': 0, 'shape': ()}",
        "malformed header dictionary at byte 34: expected a string, True, False or a tuple"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
        "malformed header dictionary at byte 53: expected ',' or ')' in the shape tuple"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
        "malformed header dictionary at byte 51: expected an integer in the shape tuple"
      ),
      ("{'descr: '<f4'}", "malformed header dictionary at byte 10: expected ':'"),
      (
        "{'descr': '<f4\\n'}",
        "malformed header dictionary at byte 14: escapes and line breaks are not supported in strings"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': ()} trailing",
        "malformed header dictionary at byte 54: unexpected text after the dictionary"
      ),
      (
        "{'descr': '<f4', 'fortran_order': False, 'shape': ()",
        "malformed header dictionary at byte 53: expected ',' or '}'"
      ),
    ]
    for (dictionary, expected) in cases {
      #expect(message(npy(dictionary, data: [0, 0, 0, 0])) == expected, "header \(dictionary)")
    }
  }

  @Test func acceptsNumPyVariants() throws {
    // Double quotes, no trailing comma, Python 2 long extents, extra whitespace, no newline.
    let text = "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1L, 2L)}"
    let array = try NumPyArray(
      npyBytes: npy(text, data: [UInt8](repeating: 0, count: 8), pad: false))
    #expect(array.shape == [1, 2])
    let zero = try NumPyArray(
      npyBytes: npy(header(descr: "'|u1'", shape: "(0, 4611686018427387904)")))
    #expect(zero.count == 0)
  }
}
