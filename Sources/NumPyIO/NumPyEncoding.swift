extension NumPyArray {
  /// The array encoded as a `.npy` file: little-endian, C order, format version 1.0 (2.0 when
  /// the header does not fit in version 1's 65,535 bytes), the header padded so that the data
  /// starts at a multiple of 64 bytes, as NumPy writes it.
  ///
  /// ```swift
  /// let bytes = try NumPyArray(shape: [], scalars: [Float(0.25)]).npyBytes
  /// ```
  ///
  /// - Complexity: O(n).
  public var npyBytes: [UInt8] {
    let dictionary =
      "{'descr': '\(dtype.descriptor)', 'fortran_order': False, 'shape': \(pythonTuple(shape)), }"
    var header = Array(dictionary.utf8)
    let version1 = 10 + header.count + 1 <= 0xFFFF + 10
    let prefixSize = version1 ? 10 : 12
    let padding = (64 - (prefixSize + header.count + 1) % 64) % 64
    header += [UInt8](repeating: 0x20, count: padding) + [0x0A]
    var bytes = numPyMagic + [version1 ? 1 : 2, 0]
    let length = header.count
    for shift in stride(from: 0, to: version1 ? 16 : 32, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: length >> shift))
    }
    bytes.reserveCapacity(bytes.count + header.count + data.count)
    bytes += header
    bytes += data
    return bytes
  }
}
