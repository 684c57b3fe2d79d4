import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate` against PyTorch (fixtures from Scripts/make_evaluate_fixtures.py).
@Suite struct EvaluateGoldenTests {
  static let cases =
    (try? files(in: fixtures.appendingPathComponent("evaluate")))?
    .filter { $0 != "PROVENANCE" } ?? []

  @Test func thereAreCases() {
    #expect(Self.cases.count >= 9)
  }

  @Test(arguments: cases)
  func matchesPyTorch(_ name: String) throws {
    let (printed, loss) = try expectEvaluateMatchesFixture(
      fixtures.appendingPathComponent("evaluate/\(name)"), name: name)
    if loss.shape.isEmpty {
      // Printed with full precision: parsing it in the dtype gives back the stored value.
      let parsed: Double? =
        switch loss.dtype {
        case .float32: Float(printed).map { Double($0) }
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
          case .float16: Float16(printed).map { Double($0) }
        #endif
        default: Double(printed)
        }
      let value = try #require(parsed, "printed \(printed)")
      expectClose([value], loss.doubles(), tolerance: 0, what: "\(name) printed loss")
    } else {
      #expect(printed.hasPrefix("none: \(lossCount(loss.count)) of shape"))
    }
  }
}

/// Bad input: one clear message, and no output file.
@Suite struct EvaluateErrorTests {
  let folder: URL
  let x: String
  let labels: String

  init() throws {
    folder = try makeTemporaryFolder()
    x = try save(
      NumPyArray(shape: [2, 3], scalars: [Float(1), 2, 3, 4, 5, 6]), "x.npy", in: folder)
    labels = try save(NumPyArray(shape: [2], scalars: [Int64(0), 2]), "y.npy", in: folder)
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// Runs with `--output` and `--gradient`, expects an error, and checks that no file appeared.
  func failure(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> String
  {
    let before = try files(in: folder)
    let message = errorMessage(
      arguments + ["--output", path("loss.npy"), "--gradient", path("grad.npy")],
      sourceLocation: sourceLocation)
    #expect(
      try files(in: folder) == before, "an output file was written", sourceLocation: sourceLocation)
    #expect(!message.contains("\n"), sourceLocation: sourceLocation)
    return message
  }

  @Test func labelOutOfRange() throws {
    let bad = try save(NumPyArray(shape: [2], scalars: [Int64(0), 3]), "bad.npy", in: folder)
    let message = try failure(["--loss", "cross-entropy", "--input", x, "--target", bad])
    #expect(
      message
        == "cross-entropy (--input \(x), --target \(bad)): label 3 at position [1] is outside 0..<3"
        + " (ignore index -100)"
    )
  }

  @Test func shapeMismatch() throws {
    let bad = try save(NumPyArray(shape: [3], scalars: [Int64(0), 1, 2]), "bad.npy", in: folder)
    let message = try failure(["--loss", "nll", "--input", x, "--target", bad])
    #expect(message.hasPrefix("nll (--input \(x), --target \(bad)): "))
    #expect(message.contains("[3]") && message.contains("[2]"))
  }

  @Test func unreadableAndMalformedFiles() throws {
    #expect(
      try failure(["--loss", "cross-entropy", "--input", path("none.npy"), "--target", labels])
        == "--input \(path("none.npy")): no such file")
    let text = path("text.npy")
    try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
    #expect(
      try failure(["--loss", "cross-entropy", "--input", x, "--target", text])
        == "--target \(text): file is 5 bytes long, too short for a .npy header")
  }

  @Test func dtypes() throws {
    #expect(
      try failure(["--loss", "cross-entropy", "--input", labels, "--target", labels])
        == "--input \(labels) has dtype int64; expected float16, float32 or float64")
    let int16 = try save(NumPyArray(shape: [2], scalars: [Int16(0), 1]), "i16.npy", in: folder)
    #expect(
      try failure(["--loss", "nll", "--input", x, "--target", int16])
        == "--target \(int16): nll expects class indices of dtype int64, int32 or uint8, got int16")
    #expect(
      try failure(["--loss", "binary-cross-entropy-with-logits", "--input", x, "--target", labels])
        == "--target \(labels): binary-cross-entropy-with-logits expects a float array (float16,"
        + " float32 or float64), got int64")
    let doubles = try save(
      NumPyArray(shape: [2, 3], scalars: [Double](repeating: 0.5, count: 6)), "d.npy", in: folder)
    #expect(
      try failure(["--loss", "binary-cross-entropy", "--input", x, "--target", doubles])
        == "--target \(doubles) has dtype float64 but --input \(x) has float32;"
        + " binary-cross-entropy needs the same dtype (as PyTorch)")
    #expect(
      try failure([
        "--loss", "cross-entropy", "--input", x, "--target", labels, "--weight", path("d.npy"),
      ])
        == "--weight \(doubles) has shape [2, 3]; expected a 1-d array with one weight per class")
  }

  @Test func options() throws {
    #expect(
      try failure([
        "--loss", "cross-entropy", "--input", x, "--target", labels, "--reduction", "batchmean",
      ])
        == "--reduction batchmean is not valid for cross-entropy; expected none, mean or sum")
    #expect(
      try failure([
        "--loss", "cross-entropy", "--input", x, "--target", labels, "--class-axis", "2",
      ])
      .hasSuffix("class axis 2 is out of range for logits of shape [2, 3] (expected -2..<2)"))
    #expect(
      try failure([
        "--loss", "cross-entropy", "--input", x, "--target", labels, "--label-smoothing", "1.5",
      ])
      .contains("1.5"))
    #expect(
      try failure(["--loss", "nll", "--input", x, "--target", labels, "--pos-weight", x])
        == "--pos-weight does not apply to nll; it takes --reduction, --class-axis, --weight,"
        + " --ignore-index, --normalizer, --all-ignored, --sample-weight, --upstream-gradient")
    #expect(
      try failure(["--loss", "mystery", "--input", x, "--target", labels])
        == "unknown loss 'mystery'; expected one of cross-entropy, nll, binary-cross-entropy,"
        + " binary-cross-entropy-with-logits, kl-div, mse, multi-margin, focal,"
        + " softmax-focal, ctc, linear-cross-entropy, poly, distillation, info-nce, clip")
    #expect(
      try failure([
        "--loss", "cross-entropy", "--input", x, "--target", labels, "--reduction", "avg",
      ])
      .contains("avg"))
  }

  @Test func unwritableOutputLeavesNothing() throws {
    let message = errorMessage([
      "--loss", "cross-entropy", "--input", x, "--target", labels, "--gradient", path("grad.npy"),
      "--output", path("missing/loss.npy"),
    ])
    #expect(message.hasPrefix("--output \(path("missing/loss.npy")): cannot be written"))
    #expect(try files(in: folder) == ["x.npy", "y.npy"])
  }

  @Test func negativeValuesParse() throws {
    let output = try evaluate([
      "--loss", "cross-entropy", "--input", x, "--target", labels, "--class-axis", "-1",
      "--ignore-index", "-1",
    ]).get()
    #expect(Double(output) != nil)
  }
}

/// The NumPyIO target's malformed-file corpus through the command: one line on standard error,
/// a message naming the flag and file, and no output file.
@Suite struct EvaluateMalformedFileTests {
  static let folder = fixtures.deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("NumPyIOTests/Fixtures/npy-corpus")
  static let names = ((try? files(in: folder)) ?? []).filter { $0.hasSuffix(".npy") }

  @Test func corpusIsThere() {
    #expect(Self.names.count >= 50)
  }

  @Test func evaluateRefusesEveryCorpusFile() throws {
    let output = try makeTemporaryFolder()
    let target = try save(
      NumPyArray(shape: [2], scalars: [Int64(0), 1]), "y.npy", in: output)
    for name in Self.names {
      let path = Self.folder.appendingPathComponent(name).path
      let message = errorMessage([
        "--loss", "cross-entropy", "--input", path, "--target", target, "--output",
        output.appendingPathComponent("loss.npy").path,
      ])
      #expect(message.hasPrefix("--input \(path): "), "\(name): \(message)")
    }
    #expect(try files(in: output) == ["y.npy"])
  }
}

/// What `xent evaluate` prints on standard output: numbers in the loss's own type, `nan`
/// without a sign, and a singular for one loss.
@Suite struct EvaluateOutputTextTests {
  /// Runs cross-entropy on the first `labels.count` rows of a float32 input with `labels`; the
  /// printed text and the per-element losses written.
  func run(labels: [Int64], reduction: String) throws -> (String, [Float]) {
    let folder = try makeTemporaryFolder()
    let rows = [Float(1), 2, 3, 3, 1, 2].prefix(3 * labels.count)
    let x = try save(
      NumPyArray(shape: [labels.count, 3], scalars: Array(rows)), "x.npy", in: folder)
    let y = try save(NumPyArray(shape: [labels.count], scalars: labels), "y.npy", in: folder)
    let output = folder.appendingPathComponent("loss.npy").path
    let printed = try evaluate([
      "--loss", "cross-entropy", "--input", x, "--target", y, "--reduction", reduction,
      "--output", output,
    ]).get()
    return (printed, try NumPyArray(contentsOf: output).scalars(as: Float.self))
  }

  @Test func oneLossIsSingularAndFloat32PrintsAsFloat32() throws {
    let (printed, losses) = try run(labels: [1], reduction: "none")
    let loss = try #require(losses.first)
    // Widened to Double, this float32 value prints with 17 digits (1.4076060056686401).
    #expect("\(loss)" != "\(Double(loss))")
    #expect(printed == "none: 1 loss of shape [1], sum \(loss), mean \(loss)")
  }

  @Test func severalLossesArePlural() throws {
    let (printed, losses) = try run(labels: [1, 0], reduction: "none")
    #expect(losses.count == 2)
    #expect(printed.hasPrefix("none: 2 losses of shape [2], sum "))
  }

  @Test func reducedFloat32PrintsAsFloat32() throws {
    let (printed, losses) = try run(labels: [1], reduction: "sum")
    #expect(printed == "\(try #require(losses.first))")
  }

  @Test func allIgnoredMeanPrintsNaN() throws {
    let (printed, losses) = try run(labels: [-100, -100], reduction: "mean")
    #expect(losses.first?.isNaN == true)
    #expect(printed == "nan")
  }

  @Test func nanPrintsWithoutItsSign() {
    #expect("\(-Float.nan)" == "-nan")
    #expect(formatted(-Float.nan) == "nan")
    #expect(formatted(-Double.nan) == "nan")
    #expect(formatted(Double.nan) == "nan")
    #expect(formatted(Float(1.1)) == "1.1")
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      #expect(formatted(-Float16.nan) == "nan")
    #endif
  }

  @Test func summariesPrintInTheLossType() {
    #expect(
      lossSummary([Float(1.1), -Float.nan], shape: [2])
        == "none: 2 losses of shape [2], sum nan, mean nan")
    #expect(lossSummary([Float(1.1)], shape: [1]) == "none: 1 loss of shape [1], sum 1.1, mean 1.1")
    #expect(lossSummary([1.1], shape: [1, 1]) == "none: 1 loss of shape [1, 1], sum 1.1, mean 1.1")
    #expect(lossSummary([Float](), shape: [0]) == "none: 0 losses of shape [0], sum 0.0, mean nan")
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      // Float16 sums and means print in float32, whose range they need.
      #expect(
        lossSummary([Float16(60000), Float16(60000)], shape: [2])
          == "none: 2 losses of shape [2], sum 120000.0, mean 60000.0")
    #endif
  }
}
