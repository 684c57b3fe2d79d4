// Shared inputs and settings for the benchmark suites: deterministic random data in caller-owned
// buffers (allocated once, in a benchmark's `setup:`), the element budget per case, and the
// per-element time metric.

import Benchmark

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Settings shared by every suite, read from the environment once.
///
/// - `XENT_BENCH_ELEMENTS`: logits per cross-entropy case (default 16 Mi = 16,777,216; use e.g. 1048576
///   for a quick run). The batch N of a case is this budget divided by the row size.
/// - `XENT_BENCH_SECONDS`: the time budget of one benchmark, in seconds (default 1).
/// - `XENT_BENCH_ITERATIONS`: the iteration cap of one benchmark (default 50).
/// - `XENT_BENCH_WARMUP`: warm-up iterations before measuring (default 1).
///
/// The default metrics leave out `peakMemoryResident`: it is sampled by a thread every 5 ms
/// whose own allocations the malloc interposer counts, so with it the malloc counts grow with
/// the run time. Peak memory is measured in a separate pass (`Scripts/run_benchmarks.sh` runs
/// both; or pass `--metric peakMemoryResident --metric peakMemoryResidentDelta`).
public enum BenchmarkSettings {
  /// The number of logits in one case of the cross-entropy suite.
  public static let elementBudget: Int = environmentInteger("XENT_BENCH_ELEMENTS", 1 << 24)

  /// The class counts of the cross-entropy suite: small, ImageNet, and LLM vocabularies.
  public static let classCounts = [10, 1000, 32000, 128_256, 256_000]

  /// The metric that reports the time of the measured call divided by the number of logits, in
  /// picoseconds (so 1000 means 1 ns per element). The time is the p-th percentile of the
  /// measured calls, as for the other metrics.
  public static let picosecondsPerElement = BenchmarkMetric.custom(
    "ps per element", polarity: .prefersSmaller, useScalingFactor: false)

  /// The configuration of every benchmark: wall clock, CPU time, throughput, mallocs (count and
  /// bytes, in the measured call only), and the per-element time.
  public static var configuration: Benchmark.Configuration {
    .init(
      metrics: [
        .wallClock, .cpuTotal, .throughput, .mallocCountTotal, .mallocBytesCount,
        picosecondsPerElement,
      ],
      warmupIterations: environmentInteger("XENT_BENCH_WARMUP", 1, minimum: 0),
      maxDuration: .seconds(environmentInteger("XENT_BENCH_SECONDS", 1)),
      maxIterations: environmentInteger("XENT_BENCH_ITERATIONS", 50)
    )
  }

  /// The batch size that keeps `rows × rowSize` within the element budget (at least 1).
  public static func batch(rowSize: Int) -> Int {
    max(1, elementBudget / max(1, rowSize))
  }

  private static func environmentInteger(
    _ name: String, _ fallback: Int, minimum: Int = 1
  ) -> Int {
    guard let text = getenv(name), let value = Int(String(cString: text)), value >= minimum
    else {
      return fallback
    }
    return value
  }
}

/// Runs `body` once and records its time per element under
/// ``BenchmarkSettings/picosecondsPerElement``.
@inline(__always)
public func measurePerElement<T>(
  _ benchmark: Benchmark, elements: Int, _ body: () throws -> T
) rethrows {
  let clock = ContinuousClock()
  let start = clock.now
  let result = try body()
  let elapsed = clock.now - start
  blackHole(result)
  let (seconds, attoseconds) = elapsed.components
  let picoseconds = Double(seconds) * 1e12 + Double(attoseconds) * 1e-6
  benchmark.measurement(
    BenchmarkSettings.picosecondsPerElement, Int((picoseconds / Double(elements)).rounded()))
}

/// A deterministic pseudo-random generator (SplitMix64), so every run sees the same data.
public struct DataGenerator {
  private var state: UInt64

  /// Creates a generator from a seed.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform value in `[low, high)`.
  public mutating func uniform(_ low: Float, _ high: Float) -> Float {
    low + (high - low) * Float(next() >> 40) * 0x1p-24
  }

  /// A uniform integer in `0..<bound`.
  public mutating func index(below bound: Int) -> Int {
    Int(next() % UInt64(bound))
  }
}

/// A caller-owned buffer, allocated once and freed when the benchmark's state goes away.
public final class Buffer<Scalar>: @unchecked Sendable {
  /// The memory.
  public let memory: UnsafeMutableBufferPointer<Scalar>

  /// Allocates `count` elements, each set by `element(index)`.
  public init(count: Int, _ element: (Int) -> Scalar) {
    memory = .allocate(capacity: count)
    for index in 0..<count { memory.initializeElement(at: index, to: element(index)) }
  }

  /// A read-only view of the memory.
  public var readOnly: UnsafeBufferPointer<Scalar> { UnsafeBufferPointer(memory) }

  /// A copy of the elements as an array (a method, so the buffer stays alive while it copies).
  public func toArray() -> [Scalar] { Array(memory) }

  /// Copies `source` (of the same count) over this buffer.
  public func assign(from source: Buffer<Scalar>) {
    precondition(source.memory.count == memory.count)
    memory.baseAddress!.update(from: source.memory.baseAddress!, count: memory.count)
  }

  deinit { memory.deallocate() }
}

extension Buffer where Scalar == Float {
  /// Logits uniform in [-4, 4).
  public static func logits(count: Int, seed: UInt64) -> Buffer<Float> {
    var generator = DataGenerator(seed: seed)
    return Buffer(count: count) { _ in generator.uniform(-4, 4) }
  }

  /// Rows of `classes` probabilities (positive, each row summing to 1), row-major.
  public static func probabilities(rows: Int, classes: Int, seed: UInt64) -> Buffer<Float> {
    var generator = DataGenerator(seed: seed)
    let buffer = Buffer(count: rows * classes) { _ in generator.uniform(0.01, 1) }
    for row in 0..<rows {
      let slice = buffer.memory[(row * classes)..<((row + 1) * classes)]
      let total = slice.reduce(0, +)
      for index in slice.indices { buffer.memory[index] /= total }
    }
    return buffer
  }
}

extension Buffer where Scalar == Int {
  /// `count` labels uniform in `0..<classes`; with `ignoredFraction > 0`, that share of them is
  /// `ignoreIndex` instead.
  public static func labels(
    count: Int, classes: Int, seed: UInt64, ignoredFraction: Double = 0, ignoreIndex: Int = -100
  ) -> Buffer<Int> {
    var generator = DataGenerator(seed: seed)
    return Buffer(count: count) { _ in
      let label = generator.index(below: classes)
      let draw = Double(generator.next() >> 11) * 0x1p-53
      return draw < ignoredFraction ? ignoreIndex : label
    }
  }
}
