import ArgumentParser
import CrossEntropy
import CrossEntropyCPU

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `xent bench`: times the library's kernels on synthetic data. (Owned by the speed work.)
///
/// Prints medians over `--repeats` timed calls after `--warmup` untimed ones, in nanoseconds
/// per logit: the forward pass (loss only) and the forward + backward pass with the gradient
/// written over the logits (so later calls run on the previous call's gradient, which is as
/// good a logit row as any for timing).
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time the library's kernels on synthetic data.",
    discussion: """
      Example: xent bench --loss cross-entropy --rows 4096 --classes 32000 --json
      The `build` field says whether the binary was compiled for the host CPU
      (swift build -c release -Xswiftc -target-cpu -Xswiftc native) or portably.
      """)

  /// The losses `xent bench` can time.
  enum LossName: String, ExpressibleByArgument, CaseIterable {
    case crossEntropy = "cross-entropy"
    case binaryCrossEntropyWithLogits = "binary-cross-entropy-with-logits"
    case distillation, sigmoidFocal = "sigmoid-focal", softmaxFocal = "softmax-focal"
  }

  /// The element types `xent bench` can time.
  enum DType: String, ExpressibleByArgument, CaseIterable {
    case float32, float16, bfloat16, float64
  }

  @Option(
    help: """
      The loss to time: cross-entropy, binary-cross-entropy-with-logits, distillation, \
      sigmoid-focal or softmax-focal (the last three float32 only, next to cross-entropy).
      """)
  var loss: LossName = .crossEntropy

  @Option(help: "Rows (batch positions).")
  var rows: Int = 4096

  @Option(help: "Classes per row.")
  var classes: Int = 32000

  @Option(
    help: """
      Positions per row after the class axis (cross-entropy): logits (rows, classes, K) with \
      the classes on axis 1, as an (N, C, H, W) input flattened to (N, C, H * W).
      """)
  var spatial: Int = 1

  @Option(help: "Element type: float32, float16, bfloat16 or float64.")
  var dtype: DType = .float32

  @Option(help: "Threads (0: one per online processor).")
  var threads: Int = 0

  @Option(help: "Label smoothing in [0, 1].")
  var labelSmoothing: Double = 0

  @Flag(help: "Use random per-class weights.")
  var weighted = false

  @Option(help: "Set every K-th label to the ignore index (0: none).")
  var ignoreEvery: Int = 0

  @Option(help: "Cross-entropy z-loss scale (>= 0; 0: off).")
  var zLossScale: Double = 0

  @Option(help: "Cross-entropy logit soft cap (> 0; off when not given).")
  var logitSoftCap: Double?

  @Option(help: "Distillation temperature.")
  var temperature: Double = 2

  @Option(help: "Distillation hard-label weight in [0, 1].")
  var hardLabelWeight: Double = 0

  @Option(help: "Focal exponent gamma.")
  var gamma: Double = 2

  @Option(help: "Untimed calls before timing.")
  var warmup: Int = 2

  @Option(help: "Timed calls per figure (the median is reported).")
  var repeats: Int = 7

  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard rows > 0, classes > 0 else { throw ValidationError("--rows and --classes must be > 0") }
    guard spatial > 0 else { throw ValidationError("--spatial \(spatial) must be > 0") }
    guard spatial == 1 || loss == .crossEntropy else {
      throw ValidationError("--spatial applies to --loss cross-entropy only")
    }
    guard threads >= 0 else { throw ValidationError("--threads \(threads) must be >= 0") }
    guard repeats > 0, warmup >= 0 else {
      throw ValidationError("--repeats must be > 0 and --warmup >= 0")
    }
    guard (0...1).contains(labelSmoothing) else {
      throw ValidationError("--label-smoothing \(labelSmoothing) is outside [0, 1]")
    }
    guard ignoreEvery >= 0 else { throw ValidationError("--ignore-every must be >= 0") }
    guard zLossScale >= 0, zLossScale.isFinite else {
      throw ValidationError("--z-loss-scale \(zLossScale) must be finite and >= 0")
    }
    if let cap = logitSoftCap, !(cap > 0 && cap.isFinite) {
      throw ValidationError("--logit-soft-cap \(cap) must be finite and > 0")
    }
  }

  func run() throws {
    Parallelism.maximumThreadCount = threads
    let timing: Timing
    var family: FamilyTiming? = nil
    switch (loss, dtype) {
    case (.crossEntropy, .float32): timing = try timeCrossEntropy(Float.self)
    case (.crossEntropy, .float64): timing = try timeCrossEntropy(Double.self)
    case (.crossEntropy, .bfloat16): timing = try timeBFloat16()
    case (.binaryCrossEntropyWithLogits, .float32): timing = try timeBinary(Float.self)
    case (.binaryCrossEntropyWithLogits, .float64): timing = try timeBinary(Double.self)
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case (.crossEntropy, .float16): timing = try timeCrossEntropy(Float16.self)
      case (.binaryCrossEntropyWithLogits, .float16): timing = try timeBinary(Float16.self)
    #endif
    case (.distillation, .float32), (.sigmoidFocal, .float32), (.softmaxFocal, .float32):
      family = try timeFamily()
      timing = family!.loss
    default:
      throw ValidationError(
        "xent bench does not time --loss \(loss.rawValue) with --dtype \(dtype.rawValue) yet")
    }
    let build = xent_cpu_is_native_build() != 0 ? "native" : "portable"
    let usedThreads = Parallelism.effectiveThreadCount
    if json {
      print(
        "{\"loss\": \"\(loss.rawValue)\", \"rows\": \(rows), \"classes\": \(classes),"
          + " \"dtype\": \"\(dtype.rawValue)\", \"threads\": \(usedThreads),"
          + " \"label_smoothing\": \(labelSmoothing), \"weighted\": \(weighted),"
          + " \"ignore_every\": \(ignoreEvery), \"z_loss_scale\": \(zLossScale),"
          + " \"logit_soft_cap\": \(logitSoftCap.map { "\($0)" } ?? "null"),"
          + " \"spatial\": \(spatial),"
          + " \"ns_per_element_forward\": \(timing.forward),"
          + " \"ns_per_element_forward_backward\": \(timing.forwardBackward),"
          + " \"extra_bytes\": \(timing.extraBytes), \"build\": \"\(build)\""
          + (family.map { ", \(crossEntropyFields($0))" } ?? "") + "}")
    } else {
      print("loss            \(loss.rawValue) (\(dtype.rawValue), \(build) build)")
      let dimensions = shape.map(String.init).joined(separator: " x ")
      print("shape           \(dimensions), \(usedThreads) thread(s)")
      print("forward         \(format(timing.forward)) ns/element (median of \(repeats))")
      print("forward+bwd     \(format(timing.forwardBackward)) ns/element, gradient in place")
      print("extra memory    \(timing.extraBytes) bytes (peak resident growth)")
      if let family { printCrossEntropyComparison(family) }
    }
  }

  /// The logits' shape: (rows, classes), or (rows, classes, spatial) with the classes on axis 1.
  private var shape: [Int] { spatial > 1 ? [rows, classes, spatial] : [rows, classes] }

  private func format(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
  }

  /// Medians in ns per element, and the peak extra memory of one forward + backward call.
  struct Timing {
    var forward: Double
    var forwardBackward: Double
    var extraBytes: Int
  }

  private func timeCrossEntropy<Scalar: BinaryFloatingPoint>(
    _: Scalar.Type
  ) throws -> Timing {
    return try time(
      logit: { Scalar($0) }, weight: { Scalar($0) }, loss: Scalar(0),
      forward: { criterion, x, y, w, l in
        try criterion.loss(
          logits: UnsafeBufferPointer(x), shape: shape, labels: y, classWeights: w, into: l)
      },
      forwardBackward: { criterion, x, y, w, l in
        try criterion.lossAndGradient(
          overwriting: x, shape: shape, labels: y, classWeights: w, loss: l)
      })
  }

  private func timeBFloat16() throws -> Timing {
    return try time(
      logit: { (value: Double) -> UInt16 in
        UInt16(truncatingIfNeeded: Float(value).bitPattern >> 16)  // exact: 1/1024 steps
      },
      weight: { Float($0) }, loss: Float(0),
      forward: { criterion, x, y, w, l in
        try criterion.loss(
          bfloat16Logits: UnsafeBufferPointer(x), shape: shape, labels: y, classWeights: w,
          into: l)
      },
      forwardBackward: { criterion, x, y, w, l in
        try criterion.lossAndGradient(
          overwritingBFloat16: x, shape: shape, labels: y, classWeights: w, loss: l)
      })
  }

  /// Times `forward` and `forwardBackward` (in place) on synthetic logits in [-4, 4).
  private func time<Logit, Weight, Loss>(
    logit: (Double) -> Logit, weight: (Double) -> Weight, loss zero: Loss,
    forward: (
      SoftmaxCrossEntropy, UnsafeMutableBufferPointer<Logit>, UnsafeBufferPointer<Int>,
      UnsafeBufferPointer<Weight>?, UnsafeMutableBufferPointer<Loss>
    ) throws -> Void,
    forwardBackward: (
      SoftmaxCrossEntropy, UnsafeMutableBufferPointer<Logit>, UnsafeBufferPointer<Int>,
      UnsafeBufferPointer<Weight>?, UnsafeMutableBufferPointer<Loss>
    ) throws -> Void
  ) throws -> Timing {
    var state: UInt64 = 0x1234_5678
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 11
    }
    let count = rows * classes * spatial
    let logits = UnsafeMutableBufferPointer<Logit>.allocate(capacity: count)
    defer { logits.deallocate() }
    for i in 0..<count {
      logits.initializeElement(at: i, to: logit(Double(next() % 8192) / 1024 - 4))
    }
    let criterion = SoftmaxCrossEntropy(
      classAxis: spatial > 1 ? 1 : -1, labelSmoothing: labelSmoothing, zLossScale: zLossScale,
      logitSoftCap: logitSoftCap)
    let labels = (0..<rows * spatial).map { r in
      ignoreEvery > 0 && r % ignoreEvery == 0
        ? criterion.ignoreIndex : Int(next() % UInt64(classes))
    }
    var weightStorage: UnsafeMutableBufferPointer<Weight>? = nil
    if weighted {
      let storage = UnsafeMutableBufferPointer<Weight>.allocate(capacity: classes)
      for c in 0..<classes {
        storage.initializeElement(at: c, to: weight(0.5 + Double(next() % 1024) / 1024))
      }
      weightStorage = storage
    }
    defer { weightStorage?.deallocate() }
    let weightBuffer = weightStorage.map { UnsafeBufferPointer($0) }
    var loss = [Loss](repeating: zero, count: 1)
    let elements = Double(count)

    func median(_ body: () throws -> Void) throws -> Double {
      for _ in 0..<warmup { try body() }
      var samples: [Double] = []
      for _ in 0..<repeats {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        samples.append((Double(seconds) * 1e9 + Double(attoseconds) * 1e-9) / elements)
      }
      samples.sort()
      return samples[samples.count / 2]
    }

    return try labels.withUnsafeBufferPointer { labelBuffer in
      try loss.withUnsafeMutableBufferPointer { lossBuffer in
        let forwardTime = try median {
          try forward(criterion, logits, labelBuffer, weightBuffer, lossBuffer)
        }
        let before = residentPeakReset()
        try forwardBackward(criterion, logits, labelBuffer, weightBuffer, lossBuffer)
        let extra = residentPeak().map { peak in before.map { max(0, peak - $0) } ?? -1 } ?? -1
        let forwardBackwardTime = try median {
          try forwardBackward(criterion, logits, labelBuffer, weightBuffer, lossBuffer)
        }
        return Timing(
          forward: forwardTime, forwardBackward: forwardBackwardTime, extraBytes: extra)
      }
    }
  }
}

/// Resets the kernel's peak-resident-memory mark (Linux: /proc/self/clear_refs) and returns
/// the current resident size in bytes, or nil where that is not available.
func residentPeakReset() -> Int? {
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
func residentPeak() -> Int? {
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
