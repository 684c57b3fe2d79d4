import Foundation
import NumPyIO

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes each array to a temporary file beside its destination, then renames them all into
/// place, so that an error leaves no new or partial output file behind.
///
/// - Throws: ``CLIError`` naming the flag and path that could not be written.
func writeAtomically(_ files: [(flag: String, path: String, array: NumPyArray)]) throws(CLIError) {
  var temporaries: [String] = []
  func removeTemporaries() {
    for path in temporaries { unlink(path) }
  }
  let suffix = ".xent-\(getpid()).tmp"
  for (index, file) in files.enumerated() {
    let temporary = file.path + suffix + String(index)
    let written = FileManager.default.createFile(
      atPath: temporary, contents: Data(file.array.npyBytes))
    guard written else {
      removeTemporaries()
      throw CLIError(
        "\(file.flag) \(file.path): cannot be written (does its directory exist and is it"
          + " writable?)")
    }
    temporaries.append(temporary)
  }
  for (index, file) in files.enumerated() {
    guard rename(temporaries[index], file.path) == 0 else {
      let reason = String(cString: strerror(errno))
      removeTemporaries()
      throw CLIError("\(file.flag) \(file.path): cannot be written (\(reason))")
    }
  }
}
