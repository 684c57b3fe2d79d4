import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate --bfloat16` against PyTorch (fixtures from
/// Scripts/make_bfloat16_evaluate_fixtures.py; it explains the two references).
@Suite struct BFloat16EvaluateGoldenTests {
  static let folder = fixtures.appendingPathComponent("evaluate-bfloat16")
  static let cases = (try? files(in: folder))?.filter { $0 != "PROVENANCE" } ?? []

  @Test func thereAreCases() {
    #expect(Self.cases.count >= 4)
  }

  /// Tight against PyTorch's float32 on the same (upcast) values: the loss within 1e-5
  /// relative (absolute below 1), each gradient element within 2^-8 relative (one bfloat16
  /// rounding) plus 1e-7 of the largest. Loose against PyTorch's own bfloat16 computation: the
  /// loss within 1e-2 relative, the gradient within 1.5e-2 of its largest element (PyTorch
  /// rounds its log-probabilities to bfloat16; the script measured at most 4.7e-3 and 5.3e-3).
  @Test(arguments: cases)
  func matchesPyTorch(_ name: String) throws {
    let folder = Self.folder.appendingPathComponent(name)
    let output = try makeTemporaryFolder()
    let text = try String(contentsOf: folder.appendingPathComponent("args.txt"), encoding: .utf8)
    var arguments = text.split(separator: "\n").map { argument in
      argument.hasSuffix(".npy")
        ? folder.appendingPathComponent(String(argument)).path : String(argument)
    }
    let lossPath = output.appendingPathComponent("loss.npy").path
    let gradientPath = output.appendingPathComponent("grad.npy").path
    arguments += ["--output", lossPath, "--gradient", gradientPath]
    let printed = try evaluate(arguments).get()

    func read(_ path: String) throws -> NumPyArray { try NumPyArray(contentsOf: path) }
    let loss = try read(lossPath)
    let gradient = try read(gradientPath)
    let expectedLoss = try read(folder.appendingPathComponent("expected-loss.npy").path)
    let expectedGradient = try read(folder.appendingPathComponent("expected-grad.npy").path)
    let torchLoss = try read(folder.appendingPathComponent("torch-bf16-loss.npy").path)
    let torchGradient = try read(folder.appendingPathComponent("torch-bf16-grad.npy").path)
    let input = try read(folder.appendingPathComponent("x.npy").path)

    #expect(loss.dtype == .float32)
    #expect(loss.shape == expectedLoss.shape)
    #expect(gradient.dtype == .uint16)
    #expect(gradient.shape == input.shape)
    let lossValues = loss.doubles()
    expectClose(lossValues, expectedLoss.doubles(), tolerance: 1e-5, what: "\(name) loss")
    expectClose(lossValues, torchLoss.doubles(), tolerance: 1e-2, what: "\(name) loss vs bf16")

    let values = try gradient.scalars(as: UInt16.self).map(widened)
    let exact = expectedGradient.doubles()
    let largest = exact.map(abs).max() ?? 0
    #expect(values.count == exact.count)
    for (index, (a, e)) in zip(values, exact).enumerated() {
      #expect(
        abs(a - e) <= 0x1p-8 * abs(e) + 1e-7 * largest,
        "\(name) gradient[\(index)]: \(a) vs PyTorch float32 \(e)")
    }
    let torchValues = try torchGradient.scalars(as: UInt16.self).map(widened)
    let worst = zip(values, torchValues).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= 1.5e-2 * largest, "\(name) gradient vs PyTorch bfloat16: \(worst)")

    if loss.shape.isEmpty {
      #expect(Float(printed).map(Double.init) == lossValues.first)
    } else {
      #expect(printed.hasPrefix("none: \(lossCount(loss.count)) of shape"))
    }
  }

  /// bfloat16 bits as a Double (exact).
  func widened(_ bits: UInt16) -> Double { Double(Float(bitPattern: UInt32(bits) << 16)) }
}

/// `--bfloat16`'s errors: one line, no output file.
@Suite struct BFloat16EvaluateErrorTests {
  let folder: URL
  let bits: String
  let floats: String
  let labels: String

  init() throws {
    folder = try makeTemporaryFolder()
    bits = try save(
      NumPyArray(shape: [2, 3], scalars: [UInt16](repeating: 0x3F80, count: 6)), "b.npy",
      in: folder)
    floats = try save(
      NumPyArray(shape: [2, 3], scalars: [Float](repeating: 1, count: 6)), "f.npy", in: folder)
    labels = try save(NumPyArray(shape: [2], scalars: [Int64(0), 2]), "y.npy", in: folder)
  }

  func failure(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> String
  {
    let before = try files(in: folder)
    let message = errorMessage(
      arguments + [
        "--output", folder.appendingPathComponent("loss.npy").path,
        "--gradient", folder.appendingPathComponent("grad.npy").path,
      ],
      sourceLocation: sourceLocation)
    #expect(
      try files(in: folder) == before, "an output file was written", sourceLocation: sourceLocation)
    #expect(!message.contains("\n"), sourceLocation: sourceLocation)
    return message
  }

  @Test func flagWithAFloatInput() throws {
    #expect(
      try failure(["--loss", "cross-entropy", "--bfloat16", "--input", floats, "--target", labels])
        == "--bfloat16: --input \(floats) has dtype float32; expected uint16 (bfloat16 bit"
        + " patterns)")
  }

  @Test func uint16InputWithoutTheFlag() throws {
    #expect(
      try failure(["--loss", "cross-entropy", "--input", bits, "--target", labels])
        == "--input \(bits) has dtype uint16; for bfloat16 logits stored as uint16 bits add"
        + " --bfloat16, else give float16, float32 or float64")
  }

  @Test func probabilityTargets() throws {
    #expect(
      try failure(["--loss", "cross-entropy", "--bfloat16", "--input", bits, "--target", floats])
        == "--target \(floats): --bfloat16 takes class indices (int64, int32 or uint8), got"
        + " float32; probability targets need a float input")
  }

  @Test func weightsOfAnotherDType() throws {
    let weights = try save(NumPyArray(shape: [3], scalars: [Float(1), 2, 3]), "w.npy", in: folder)
    #expect(
      try failure([
        "--loss", "cross-entropy", "--bfloat16", "--input", bits, "--target", labels,
        "--weight", weights,
      ])
        == "--weight \(weights) has dtype float32 but --input \(bits) holds bfloat16"
        + " (--bfloat16); the weights must be bfloat16 bits too (uint16), as PyTorch wants the"
        + " input's dtype")
  }

  @Test func otherLossesRejectTheFlag() throws {
    let message = try failure([
      "--loss", "nll", "--bfloat16", "--input", floats, "--target", labels,
    ])
    #expect(message.hasPrefix("--bfloat16 does not apply to nll"))
  }

  @Test func libraryErrorsNameTheFiles() throws {
    let bad = try save(NumPyArray(shape: [2], scalars: [Int64(0), 3]), "bad.npy", in: folder)
    let message = try failure([
      "--loss", "cross-entropy", "--bfloat16", "--input", bits, "--target", bad,
    ])
    #expect(message.hasPrefix("cross-entropy (--input \(bits), --target \(bad)): "))
    #expect(message.contains("3"))
  }
}
