import Foundation

extension NumPyArray {
  /// Reads a `.npy` file.
  ///
  /// ```swift
  /// let logits = try NumPyArray(contentsOf: "logits.npy")
  /// ```
  ///
  /// - Parameter path: The file's path.
  /// - Throws: ``NumPyError`` whose message starts with `path`: kind `io` when the file cannot
  ///   be read, otherwise as ``init(npyBytes:)``.
  /// - Complexity: O(n) in the file's size.
  public init(contentsOf path: String) throws(NumPyError) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw NumPyError(.io, "\(path): no such file")
    }
    guard !isDirectory.boolValue else {
      throw NumPyError(.io, "\(path): is a directory, expected a .npy file")
    }
    let contents: Data
    do {
      contents = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw NumPyError(.io, "\(path): cannot be read")
    }
    do {
      try self.init(npyBytes: [UInt8](contents))
    } catch {
      throw error.prefixed(path)
    }
  }

  /// Writes the array as a `.npy` file (see ``npyBytes``), atomically: to a temporary file in
  /// the same directory that is then renamed, so that a failure leaves no partial file.
  ///
  /// - Parameter path: The file's path; an existing file is replaced.
  /// - Throws: ``NumPyError`` of kind `io` naming `path` when the file cannot be written.
  /// - Complexity: O(n).
  public func write(to path: String) throws(NumPyError) {
    do {
      try Data(npyBytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw NumPyError(.io, "\(path): cannot be written")
    }
  }
}
