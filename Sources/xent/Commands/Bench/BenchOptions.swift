import ArgumentParser

/// The options every `xent bench` run shares: untimed and timed calls, threads, output format.
struct BenchOptions: ParsableArguments {
  @Option(help: "Untimed calls before timing.")
  var warmup: Int = 2

  @Option(help: "Timed calls per figure (the median is reported).")
  var repeats: Int = 7

  @Option(help: "Threads (0: one per online processor).")
  var threads: Int = 0

  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard threads >= 0 else { throw ValidationError("--threads \(threads) must be >= 0") }
    guard repeats > 0, warmup >= 0 else {
      throw ValidationError("--repeats must be > 0 and --warmup >= 0")
    }
  }
}
