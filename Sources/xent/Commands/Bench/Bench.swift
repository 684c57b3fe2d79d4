import ArgumentParser
import CrossEntropy
import CrossEntropyCPU
import Foundation

/// `xent bench`: times the library's kernels on synthetic data.
///
/// Prints medians over `--repeats` timed calls after `--warmup` untimed ones. For the dense
/// losses the figures are nanoseconds per logit: the forward pass (loss only) and the forward +
/// backward pass (see each loss's `Losses/*Bench.swift` for the problem and the form timed).
/// For `--loss ctc` they are milliseconds per call.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time the library's kernels on synthetic data.",
    discussion: """
      Example: xent bench --loss cross-entropy --rows 4096 --classes 32000 --json
               xent bench --loss ctc --time-steps 500 --batch 32 --classes 80 --json
      The `build` field says whether the binary was compiled for the host CPU
      (swift build -c release -Xswiftc -target-cpu -Xswiftc native) or portably.
      Time a release build: a debug build is about 400 times slower.
      """)

  /// The losses `xent bench` can time.
  enum LossName: String, ExpressibleByArgument, CaseIterable {
    case crossEntropy = "cross-entropy"
    case binaryCrossEntropyWithLogits = "binary-cross-entropy-with-logits"
    case distillation, sigmoidFocal = "sigmoid-focal", softmaxFocal = "softmax-focal"
    case ctc
    case gemm
    case linearCrossEntropy = "linear-cross-entropy"
  }

  /// The element types `xent bench` can time.
  enum DType: String, ExpressibleByArgument, CaseIterable {
    case float32, float16, bfloat16, float64
  }

  /// The one line `xent bench` prints on standard error when it runs from a debug build.
  static let debugBuildWarning =
    "xent: warning: this is a debug build, about 400 times slower than a release build;"
    + " time a release build (swift build -c release)"

  @Option(
    help: """
      The loss to time: cross-entropy, binary-cross-entropy-with-logits, distillation, \
      sigmoid-focal, softmax-focal (the last three float32 only, next to cross-entropy), ctc \
      (float32 or float64), linear-cross-entropy (the language-model head) or gemm (its \
      matrix products).
      """)
  var loss: LossName = .crossEntropy

  @Option(help: "Rows (batch positions). Default: 4096.")
  var rows: Int?

  @Option(help: "Classes per row. Default: 32000; for ctc 80, the blank included.")
  var classes: Int?

  @Option(
    help: """
      Positions per row after the class axis (cross-entropy): logits (rows, classes, K) with \
      the classes on axis 1, as an (N, C, H, W) input flattened to (N, C, H * W).
      """)
  var spatial: Int = 1

  @Option(help: "Element type: float32, float16, bfloat16 or float64.")
  var dtype: DType = .float32

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

  @Option(
    help: """
      gemm, linear-cross-entropy: the hidden size D (the products' inner dimension). \
      Default: 1024.
      """)
  var hidden: Int?

  @Option(help: "gemm: nt (C = A·Bᵀ, logits), nn (C = A·B, dH) or tn (C += Aᵀ·B, dW).")
  var layout: GEMMLayout = .nt

  @Option(help: "ctc: time steps T. Default: 500.")
  var timeSteps: Int?

  @Option(help: "ctc: batch size N. Default: 32.")
  var batch: Int?

  @Option(help: "ctc: target length S of every sample. Default: 100.")
  var targetLength: Int?

  @OptionGroup var options: BenchOptions

  func validate() throws {
    if loss == .ctc {
      try validateCTC()
      return
    }
    if loss == .gemm {
      try validateGEMM()
      return
    }
    if loss == .linearCrossEntropy {
      try validateLinearCrossEntropy()
    } else if hidden != nil {
      throw ValidationError("--hidden applies to --loss gemm and linear-cross-entropy only")
    }
    let ctcOnly: [(String, Int?)] = [
      ("--time-steps", timeSteps), ("--batch", batch), ("--target-length", targetLength),
    ]
    if let (flag, _) = ctcOnly.first(where: { $0.1 != nil }) {
      throw ValidationError("\(flag) applies to --loss ctc only")
    }
    guard rowCount > 0, classCount > 0 else {
      throw ValidationError("--rows and --classes must be > 0")
    }
    guard spatial > 0 else { throw ValidationError("--spatial \(spatial) must be > 0") }
    guard spatial == 1 || loss == .crossEntropy else {
      throw ValidationError("--spatial applies to --loss cross-entropy only")
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

  #if MPI
    @Flag(help: "Under mpirun: time a vocabulary-parallel step over the ranks and count its bytes.")
    var vocabParallel = false
  #endif

  func run() throws {
    #if MPI
      if vocabParallel { return try timeVocabParallel() }
    #endif
    let time: () throws -> Void
    switch (loss, dtype) {
    case (.gemm, _): time = { try timeGEMM() }
    case (.linearCrossEntropy, _): time = { try timeLinearCrossEntropy() }
    case (.crossEntropy, .float32): time = { report(try timeCrossEntropy(Float.self)) }
    case (.crossEntropy, .float64): time = { report(try timeCrossEntropy(Double.self)) }
    case (.crossEntropy, .bfloat16): time = { report(try timeBFloat16CrossEntropy()) }
    case (.binaryCrossEntropyWithLogits, .float32):
      time = { report(try timeBinaryCrossEntropy(Float.self)) }
    case (.binaryCrossEntropyWithLogits, .float64):
      time = { report(try timeBinaryCrossEntropy(Double.self)) }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case (.crossEntropy, .float16): time = { report(try timeCrossEntropy(Float16.self)) }
      case (.binaryCrossEntropyWithLogits, .float16):
        time = { report(try timeBinaryCrossEntropy(Float16.self)) }
    #endif
    case (.distillation, .float32): time = { report(try timeNextToCrossEntropy(distillationCall)) }
    case (.sigmoidFocal, .float32): time = { report(try timeNextToCrossEntropy(sigmoidFocalCall)) }
    case (.softmaxFocal, .float32): time = { report(try timeNextToCrossEntropy(softmaxFocalCall)) }
    case (.ctc, .float32): time = { try timeCTC(Float.self) }
    case (.ctc, .float64): time = { try timeCTC(Double.self) }
    default:
      throw ValidationError(
        "xent bench does not time --loss \(loss.rawValue) with --dtype \(dtype.rawValue) yet")
    }
    #if DEBUG
      FileHandle.standardError.write(Data((Self.debugBuildWarning + "\n").utf8))
    #endif
    Parallelism.maximumThreadCount = options.threads
    try time()
  }

  /// `--rows`, or its default.
  var rowCount: Int { rows ?? 4096 }

  /// `--classes`, or its default for the loss.
  var classCount: Int { classes ?? (loss == .ctc ? 80 : 32000) }

  /// The logits' shape: (rows, classes), or (rows, classes, spatial) with the classes on axis 1.
  var shape: [Int] {
    spatial > 1 ? [rowCount, classCount, spatial] : [rowCount, classCount]
  }

  /// Prints the figures of a dense loss, and of plain cross-entropy next to it if timed.
  private func report(_ timing: Timing, nextTo comparison: Timing? = nil) {
    let build = xent_cpu_is_native_build() != 0 ? "native" : "portable"
    let usedThreads = Parallelism.effectiveThreadCount
    if options.json {
      print(
        "{\"loss\": \"\(loss.rawValue)\", \"rows\": \(rowCount), \"classes\": \(classCount),"
          + " \"dtype\": \"\(dtype.rawValue)\", \"threads\": \(usedThreads),"
          + " \"label_smoothing\": \(labelSmoothing), \"weighted\": \(weighted),"
          + " \"ignore_every\": \(ignoreEvery), \"z_loss_scale\": \(zLossScale),"
          + " \"logit_soft_cap\": \(logitSoftCap.map { "\($0)" } ?? "null"),"
          + " \"spatial\": \(spatial),"
          + " \"ns_per_element_forward\": \(timing.forward),"
          + " \"ns_per_element_forward_backward\": \(timing.forwardBackward),"
          + " \"extra_bytes\": \(timing.extraBytes), \"build\": \"\(build)\""
          + (comparison.map { ", \(comparisonFields(timing, nextTo: $0))" } ?? "") + "}")
    } else {
      print("loss            \(loss.rawValue) (\(dtype.rawValue), \(build) build)")
      let dimensions = shape.map(String.init).joined(separator: " x ")
      print("shape           \(dimensions), \(usedThreads) thread(s)")
      print(
        "forward         \(rounded(timing.forward)) ns/element (median of \(options.repeats))")
      print("forward+bwd     \(rounded(timing.forwardBackward)) ns/element, gradient in place")
      print("extra memory    \(timing.extraBytes) bytes (peak resident growth)")
      if let comparison { printComparison(timing, nextTo: comparison) }
    }
  }

  private func report(_ timings: (loss: Timing, crossEntropy: Timing)) {
    report(timings.loss, nextTo: timings.crossEntropy)
  }
}

/// `value` rounded to three decimals, for the table.
func rounded(_ value: Double) -> Double {
  (value * 1000).rounded() / 1000
}
