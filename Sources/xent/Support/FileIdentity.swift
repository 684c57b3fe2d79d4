import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whether two paths name the same file.
///
/// When both exist, they are the same file if they have the same device and inode (which sees
/// through symbolic links, hard links and spellings like `./x.npy` or `dir/../x.npy`). A path
/// that does not exist yet is compared by its absolute, standardised form with its symbolic
/// links resolved.
func nameTheSameFile(_ first: String, _ second: String) -> Bool {
  var a = stat()
  var b = stat()
  if stat(first, &a) == 0, stat(second, &b) == 0 {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino
  }
  func canonical(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
  }
  return canonical(first) == canonical(second)
}
