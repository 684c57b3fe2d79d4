/// The six bytes every `.npy` file starts with.
let numPyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

extension NumPyArray {
  /// Decodes the contents of a `.npy` file.
  ///
  /// Accepts format versions 1.0, 2.0 and 3.0; the dtypes of ``NumPyDType``; 0-dimensional
  /// arrays; little- and big-endian data (big-endian is byte-swapped); C and Fortran order
  /// (Fortran order is transposed to C order). Every malformed input throws; none traps, and no
  /// allocation exceeds the size of `bytes`.
  ///
  /// ```swift
  /// let array = try NumPyArray(npyBytes: bytes)
  /// ```
  ///
  /// - Parameter bytes: The whole file.
  /// - Throws: ``NumPyError`` naming what is wrong: a truncated file, a bad magic string, an
  ///   unsupported version, a malformed header dictionary, an unsupported dtype, a bad shape, or
  ///   data whose size disagrees with the shape.
  /// - Complexity: O(n) in the size of `bytes`.
  public init(npyBytes bytes: [UInt8]) throws(NumPyError) {
    guard bytes.count >= 6 else {
      throw NumPyError(
        .truncated, "file is \(bytes.count) bytes long, too short for a .npy header")
    }
    guard bytes[0..<6].elementsEqual(numPyMagic) else {
      throw NumPyError(.badMagic, "not a .npy file: it does not start with \\x93NUMPY")
    }
    guard bytes.count >= 8 else { throw NumPyError(.truncated, "file ends inside the header") }
    let major = bytes[6]
    let minor = bytes[7]
    guard (1...3).contains(major), minor == 0 else {
      throw NumPyError(
        .unsupportedVersion,
        "unsupported .npy format version \(major).\(minor);"
          + " expected 1.0, 2.0 or 3.0")
    }
    let lengthSize = major == 1 ? 2 : 4
    let headerStart = 8 + lengthSize
    guard bytes.count >= headerStart else {
      throw NumPyError(.truncated, "file ends inside the header length")
    }
    var headerLength = 0
    for offset in (0..<lengthSize).reversed() {
      headerLength = headerLength << 8 | Int(bytes[8 + offset])
    }
    guard headerLength <= NumPyHeader.maximumLength else {
      throw NumPyError(
        .badHeader,
        "header length \(headerLength) exceeds the limit of \(NumPyHeader.maximumLength) bytes")
    }
    guard bytes.count - headerStart >= headerLength else {
      throw NumPyError(
        .truncated,
        "header announces \(headerLength) bytes but only"
          + " \(bytes.count - headerStart) follow")
    }
    let headerText = bytes[headerStart..<headerStart + headerLength]
    if major < 3, let byte = headerText.first(where: { $0 >= 0x80 }) {
      throw NumPyError(
        .badHeader,
        "header of a version \(major) file has the non-ASCII byte \(byte); expected ASCII text")
    }
    let header = try NumPyHeader(parsing: headerText)
    let dataStart = headerStart + headerLength
    let byteCount = try Self.byteCount(of: header.shape, dtype: header.dtype)
    let available = bytes.count - dataStart
    guard available == byteCount else {
      throw NumPyError(
        available < byteCount ? .truncated : .sizeMismatch,
        "shape \(pythonTuple(header.shape)) of \(header.dtype.rawValue) needs \(byteCount) bytes"
          + " of data but the file has \(available)")
    }
    var data = Array(bytes[dataStart...])
    if header.bigEndian { swapBytes(&data, itemSize: header.dtype.itemSize) }
    if header.fortranOrder && header.shape.count > 1 {
      data = transposeFortranToC(data, shape: header.shape, itemSize: header.dtype.itemSize)
    }
    try self.init(dtype: header.dtype, shape: header.shape, data: data)
  }
}

/// Reverses the bytes of each `itemSize`-byte element in place.
func swapBytes(_ data: inout [UInt8], itemSize: Int) {
  guard itemSize > 1 else { return }
  data.withUnsafeMutableBufferPointer { buffer in
    var start = 0
    while start + itemSize <= buffer.count {
      var low = start
      var high = start + itemSize - 1
      while low < high {
        buffer.swapAt(low, high)
        low += 1
        high -= 1
      }
      start += itemSize
    }
  }
}

/// Reorders column-major elements of `shape` into row-major order.
///
/// - Precondition: `data.count == product(shape) * itemSize` (checked by the caller).
func transposeFortranToC(_ data: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
  let count = data.count / itemSize
  guard count > 0 else { return data }
  // Column-major strides, in elements.
  var strides = [Int](repeating: 1, count: shape.count)
  for axis in shape.indices.dropFirst() { strides[axis] = strides[axis - 1] * shape[axis - 1] }
  var result = [UInt8](repeating: 0, count: data.count)
  var index = [Int](repeating: 0, count: shape.count)
  var source = 0
  result.withUnsafeMutableBytes { target in
    data.withUnsafeBytes { input in
      for destination in 0..<count {
        target.baseAddress!.advanced(by: destination * itemSize).copyMemory(
          from: input.baseAddress!.advanced(by: source * itemSize), byteCount: itemSize)
        // Advance the row-major multi-index (last axis fastest) and the column-major offset.
        var axis = shape.count - 1
        while axis >= 0 {
          index[axis] += 1
          source += strides[axis]
          if index[axis] < shape[axis] { break }
          source -= strides[axis] * shape[axis]
          index[axis] = 0
          axis -= 1
        }
      }
    }
  }
  return result
}
