import DemoSupport

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
      samples.append(try clock.measure(body).inSeconds)
    }
    samples.sort()
    return samples[samples.count / 2]
  }

  /// The growth of the peak resident memory while `body` runs once, in bytes; -1 where the
  /// operating system does not report it.
  static func peakExtraBytes(_ body: () throws -> Void) throws -> Int {
    try ResidentMemory.peakGrowth(during: body).bytes ?? -1
  }
}
