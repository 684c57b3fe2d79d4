import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The process's resident memory, as the operating system reports it (Linux only).
package enum ResidentMemory {
  /// The growth of the peak resident memory while `body` runs once, in bytes, and what `body`
  /// returned; the growth is nil where the operating system does not report it.
  ///
  /// On Linux the kernel's peak mark is reset first (`/proc/self/clear_refs`), so the figure is
  /// the highest resident size during `body` minus the resident size before it.
  package static func peakGrowth<Result, Failure: Error>(
    during body: () throws(Failure) -> Result
  ) throws(Failure) -> (result: Result, bytes: Int?) {
    let before = resetPeak()
    let result = try body()
    let bytes = peak().flatMap { peak in before.map { max(0, peak - $0) } }
    return (result, bytes)
  }

  /// Resets the peak mark and returns the current resident size in bytes.
  private static func resetPeak() -> Int? {
    #if os(Linux)
      if let file = fopen("/proc/self/clear_refs", "w") {
        fputs("5", file)
        fclose(file)
      }
      return status("VmRSS:")
    #else
      return nil
    #endif
  }

  /// The peak resident size in bytes since the last reset.
  private static func peak() -> Int? {
    #if os(Linux)
      return status("VmHWM:")
    #else
      return nil
    #endif
  }

  #if os(Linux)
    /// A `kB` field of /proc/self/status, in bytes.
    private static func status(_ field: String) -> Int? {
      guard let file = fopen("/proc/self/status", "r") else { return nil }
      defer { fclose(file) }
      var line = [CChar](repeating: 0, count: 256)
      while fgets(&line, 256, file) != nil {
        let text = String(
          decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(field) {
          let digits = text.dropFirst(field.count).filter(\.isNumber)
          return Int(digits).map { $0 * 1024 }
        }
      }
      return nil
    }
  #endif
}
