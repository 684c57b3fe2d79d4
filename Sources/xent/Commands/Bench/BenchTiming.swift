#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What `xent bench` reports for a loss over `elements` logits: the medians of the forward and
/// the forward + backward calls in ns per element, and the peak extra memory of one forward +
/// backward call in bytes (-1 where it cannot be measured).
struct Timing {
  var forward: Double
  var forwardBackward: Double
  var extraBytes: Int

  /// The median wall time of `body` in seconds, over `options.repeats` timed calls after
  /// `options.warmup` untimed ones.
  static func median(_ options: BenchOptions, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<options.warmup { try body() }
    let clock = ContinuousClock()
    var samples: [Double] = []
    for _ in 0..<options.repeats {
      let (seconds, attoseconds) = try clock.measure(body).components
      samples.append(Double(seconds) + Double(attoseconds) * 1e-18)
    }
    samples.sort()
    return samples[samples.count / 2]
  }

  /// The growth of the peak resident memory while `body` runs once, in bytes; -1 where the
  /// operating system does not report it.
  static func peakExtraBytes(_ body: () throws -> Void) rethrows -> Int {
    let before = residentPeakReset()
    try body()
    return residentPeak().map { peak in before.map { max(0, peak - $0) } ?? -1 } ?? -1
  }
}

/// Resets the kernel's peak-resident-memory mark (Linux: /proc/self/clear_refs) and returns
/// the current resident size in bytes, or nil where that is not available.
private func residentPeakReset() -> Int? {
  #if os(Linux)
    if let file = fopen("/proc/self/clear_refs", "w") {
      fputs("5", file)
      fclose(file)
    }
    return procStatus("VmRSS:")
  #else
    return nil
  #endif
}

/// The peak resident size in bytes since the last reset, or nil where not available.
private func residentPeak() -> Int? {
  #if os(Linux)
    return procStatus("VmHWM:")
  #else
    return nil
  #endif
}

#if os(Linux)
  /// A `kB` field of /proc/self/status, in bytes.
  private func procStatus(_ field: String) -> Int? {
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
