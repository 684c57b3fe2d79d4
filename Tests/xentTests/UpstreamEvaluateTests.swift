import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate --upstream-gradient` for the losses besides the softmax ones, and
/// `--loss info-nce` and `--loss clip`, against PyTorch (fixtures from
/// Scripts/make_evaluate_fixtures.py: loss.backward(gradient=G)).
@Suite struct UpstreamEvaluateTests {
  static let folder = fixtures.appendingPathComponent("evaluate-upstream")
  static let cases = (try? files(in: folder))?.filter { $0 != "PROVENANCE" } ?? []

  /// The extra gradient outputs and the fixture files holding PyTorch's values.
  static let extraOutputs = [
    ("--temperature-gradient", "expected-temperature-grad.npy"),
    ("--text-gradient", "expected-text-grad.npy"),
    ("--logit-scale-gradient", "expected-logit-scale-grad.npy"),
  ]

  @Test func thereAreCases() {
    #expect(Self.cases.count >= 14)
  }

  /// The loss and the gradient, and the extra gradients where the case has them.
  @Test(arguments: cases)
  func matchesPyTorch(_ name: String) throws {
    let caseFolder = Self.folder.appendingPathComponent(name)
    try expectEvaluateMatchesFixture(caseFolder, name: name)
    let present = Self.extraOutputs.filter { _, file in
      FileManager.default.fileExists(atPath: caseFolder.appendingPathComponent(file).path)
    }
    guard !present.isEmpty else { return }
    let output = try makeTemporaryFolder()
    let text = try String(
      contentsOf: caseFolder.appendingPathComponent("args.txt"), encoding: .utf8)
    var arguments = text.split(separator: "\n").map { argument in
      argument.hasSuffix(".npy")
        ? caseFolder.appendingPathComponent(String(argument)).path : String(argument)
    }
    for (flag, file) in present {
      arguments += [flag, output.appendingPathComponent(file).path]
    }
    _ = try evaluate(arguments).get()
    for (_, file) in present {
      let expected = try NumPyArray(contentsOf: caseFolder.appendingPathComponent(file).path)
      let actual = try NumPyArray(contentsOf: output.appendingPathComponent(file).path)
      #expect(actual.dtype == expected.dtype, "\(name) \(file) dtype")
      #expect(actual.shape == expected.shape, "\(name) \(file) shape")
      expectClose(
        actual.doubles(), expected.doubles(), tolerance: actual.dtype == .float32 ? 2e-5 : 1e-10,
        what: "\(name) \(file)")
    }
  }

  @Test func errorsAreOneLineAndWriteNothing() throws {
    let folder = try makeTemporaryFolder()
    let x = try save(
      NumPyArray(shape: [2, 3], scalars: [Float](repeating: 0.5, count: 6)), "x.npy", in: folder)
    let wrong = try save(
      NumPyArray(shape: [3], scalars: [Float](repeating: 1, count: 3)), "g.npy", in: folder)
    let output = folder.appendingPathComponent("loss.npy").path
    let gradient = folder.appendingPathComponent("grad.npy").path
    #expect(
      errorMessage([
        "--loss", "mse", "--input", x, "--target", x, "--reduction", "none",
        "--upstream-gradient", wrong, "--output", output, "--gradient", gradient,
      ])
        == "mse (--input \(x), --target \(x)): upstream gradient shape [3] does not match the"
        + " loss shape [2, 3] of reduction none")
    #expect(
      errorMessage([
        "--loss", "info-nce", "--input", x, "--target", x, "--output", output,
      ]) == "--target does not apply to info-nce; it reads no target file")
    #expect(
      errorMessage(["--loss", "mse", "--input", x, "--output", output])
        == "mse needs --target y.npy")
    #expect(
      errorMessage(["--loss", "info-nce", "--input", x, "--temperature", "0", "--output", output])
        == "info-nce (--input \(x)): temperature 0.0 is invalid; expected a finite value > 0")
    #expect(
      errorMessage(["--loss", "clip", "--input", x, "--output", output])
        == "clip needs --text T.npy, the text embeddings (the input's shape)")
    #expect(
      errorMessage([
        "--loss", "clip", "--input", x, "--text", x, "--upstream-gradient", wrong,
        "--gradient", gradient,
      ])
        == "--upstream-gradient \(wrong) has shape [3]; clip's loss is a scalar, so the upstream"
        + " gradient must be 0-d")
    #expect(
      errorMessage(["--loss", "clip", "--input", x, "--text", x, "--reduction", "sum"])
        == "--reduction does not apply to clip; it takes --normalizer, --upstream-gradient,"
        + " --text, --logit-scale, --no-normalize, --text-gradient, --logit-scale-gradient")
    #expect(
      errorMessage([
        "--loss", "clip", "--input", x, "--text", x, "--text-gradient", x,
      ]) == "--text-gradient '\(x)' names the --input file '\(x)'; an output must not overwrite"
        + " an input")
    #expect(!FileManager.default.fileExists(atPath: output))
    #expect(!FileManager.default.fileExists(atPath: gradient))
  }
}
