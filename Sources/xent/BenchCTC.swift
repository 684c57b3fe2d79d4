import ArgumentParser
import CrossEntropy

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `xent bench-ctc`: times the CTC loss on synthetic data (the figures `Scripts/bench_ctc.py`
/// compares with PyTorch's CPU `ctc_loss`).
///
/// The problem is `T x N x C` float32 (or `--dtype float64`) log-probabilities (a log-softmax of seeded pseudo-random
/// scores), every input length `T`, every target `S` labels drawn from `1..<C` (blank 0),
/// reduction mean. It prints medians over `--repeats` timed calls after `--warmup` untimed ones,
/// in milliseconds per call: the loss alone, and the loss with its gradient.
struct BenchCTC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-ctc",
    abstract: "Time the CTC loss on synthetic data.",
    discussion: """
      Example: xent bench-ctc --time-steps 500 --batch 32 --classes 80 --target-length 100 --json
      Build with `swift build -c release` first; Scripts/bench_ctc.py runs this next to PyTorch.
      """)

  @Option(help: "Time steps T.")
  var timeSteps: Int = 500

  @Option(help: "Batch size N.")
  var batch: Int = 32

  @Option(help: "Classes C, blank 0 included.")
  var classes: Int = 80

  @Option(help: "Target length S of every sample.")
  var targetLength: Int = 100

  @Option(help: "Untimed calls before timing.")
  var warmup: Int = 2

  @Option(help: "Timed calls per figure (the median is reported).")
  var repeats: Int = 9

  @Option(help: "Threads (0: one per online processor).")
  var threads: Int = 0

  @Option(help: "Element type: float32 or float64.")
  var dtype: String = "float32"

  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard timeSteps > 0, batch > 0, classes > 1, targetLength >= 0 else {
      throw ValidationError(
        "--time-steps and --batch must be > 0, --classes > 1, --target-length >= 0")
    }
    guard repeats > 0, warmup >= 0 else {
      throw ValidationError("--repeats must be > 0 and --warmup >= 0")
    }
    guard threads >= 0 else { throw ValidationError("--threads \(threads) must be >= 0") }
    guard dtype == "float32" || dtype == "float64" else {
      throw ValidationError("--dtype \(dtype) is not float32 or float64")
    }
  }

  func run() throws {
    Parallelism.maximumThreadCount = threads
    if dtype == "float64" { try time(Double.self) } else { try time(Float.self) }
  }

  private func time<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var state: UInt64 = 0x5EED_C7C0
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 11
    }
    let count = timeSteps * batch * classes
    var logProbabilities = [Scalar](repeating: 0, count: count)
    for row in 0..<(timeSteps * batch) {
      var largest = -Double.infinity
      var scores = [Double](repeating: 0, count: classes)
      for c in 0..<classes {
        scores[c] = Double(next() % 8192) / 2048 - 2
        largest = max(largest, scores[c])
      }
      var sum = 0.0
      for c in 0..<classes { sum += exp(scores[c] - largest) }
      let logSum = largest + log(sum)
      for c in 0..<classes { logProbabilities[row * classes + c] = Scalar(scores[c] - logSum) }
    }
    let input = try ShapedArray(shape: [timeSteps, batch, classes], scalars: logProbabilities)
    let targets = try ShapedArray(
      shape: [batch, targetLength],
      scalars: (0..<(batch * targetLength)).map { _ in 1 + Int(next() % UInt64(classes - 1)) })
    let inputLengths = [Int](repeating: timeSteps, count: batch)
    let targetLengths = [Int](repeating: targetLength, count: batch)
    let ctc = ConnectionistTemporalClassification()

    var checksum = 0.0
    let forward = try median {
      checksum += Double(
        try ctc.loss(
          logProbabilities: input, targets: targets, inputLengths: inputLengths,
          targetLengths: targetLengths
        ).scalar!)
    }
    let forwardBackward = try median {
      let (loss, gradient) = try ctc.lossAndGradient(
        logProbabilities: input, targets: targets, inputLengths: inputLengths,
        targetLengths: targetLengths)
      checksum += Double(loss.scalar!) + Double(gradient.scalars[0])
    }
    if json {
      print(
        "{\"loss\": \"ctc\", \"time_steps\": \(timeSteps), \"batch\": \(batch),"
          + " \"classes\": \(classes), \"target_length\": \(targetLength),"
          + " \"dtype\": \"\(dtype)\", \"repeats\": \(repeats),"
          + " \"threads\": \(Parallelism.effectiveThreadCount),"
          + " \"ms_forward\": \(forward), \"ms_forward_backward\": \(forwardBackward),"
          + " \"checksum\": \(checksum)}")
    } else {
      print("ctc             T=\(timeSteps) N=\(batch) C=\(classes) S=\(targetLength) \(dtype)")
      print("forward         \(forward) ms (median of \(repeats))")
      print("forward+bwd     \(forwardBackward) ms (median of \(repeats))")
    }
  }

  /// The median wall time of `body` in milliseconds, after the warm-up calls.
  private func median(_ body: () throws -> Void) throws -> Double {
    for _ in 0..<warmup { try body() }
    let clock = ContinuousClock()
    var times: [Double] = []
    for _ in 0..<repeats {
      let elapsed = try clock.measure(body)
      let (seconds, attoseconds) = elapsed.components
      times.append(Double(seconds) * 1e3 + Double(attoseconds) * 1e-15)
    }
    times.sort()
    return times[times.count / 2]
  }
}
