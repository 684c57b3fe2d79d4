import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate --loss linear-cross-entropy` against PyTorch (fixtures from
/// Scripts/make_linear_cross_entropy_fixtures.py), and its errors.
@Suite struct LinearCrossEntropyEvaluateTests {
  static let cases =
    (try? files(in: fixtures.appendingPathComponent("evaluate-linear")))?
    .filter { $0 != "PROVENANCE" } ?? []

  @Test func thereAreCases() {
    #expect(Self.cases.count >= 4)
  }

  /// The loss and the three gradients, each in the input's dtype and shape.
  @Test(arguments: cases)
  func matchesPyTorch(_ name: String) throws {
    let folder = fixtures.appendingPathComponent("evaluate-linear/\(name)")
    let output = try makeTemporaryFolder()
    let text = try String(contentsOf: folder.appendingPathComponent("args.txt"), encoding: .utf8)
    var arguments = text.split(separator: "\n").map { argument in
      argument.hasSuffix(".npy")
        ? folder.appendingPathComponent(String(argument)).path : String(argument)
    }
    var outputs = [
      ("--output", "expected-loss.npy"), ("--gradient", "expected-grad.npy"),
      ("--classifier-gradient", "expected-classifier-grad.npy"),
    ]
    if arguments.contains("--bias") {
      outputs.append(("--bias-gradient", "expected-bias-grad.npy"))
    }
    for (flag, expected) in outputs {
      arguments += [flag, output.appendingPathComponent(expected).path]
    }
    let printed = try evaluate(arguments).get()
    #expect(!printed.isEmpty)
    for (_, name) in outputs {
      let expected = try NumPyArray(contentsOf: folder.appendingPathComponent(name).path)
      let actual = try NumPyArray(contentsOf: output.appendingPathComponent(name).path)
      #expect(actual.dtype == expected.dtype, "\(name) dtype")
      #expect(actual.shape == expected.shape, "\(name) shape")
      expectClose(
        actual.doubles(), expected.doubles(), tolerance: actual.dtype == .float32 ? 2e-5 : 1e-10,
        what: name)
    }
  }

  /// Bad input: one line, and no output file.
  @Test func errorsWriteNothing() throws {
    let folder = try makeTemporaryFolder()
    let h = try save(
      NumPyArray(shape: [2, 3], scalars: [Float(1), 2, 3, 4, 5, 6]), "h.npy", in: folder)
    let w = try save(
      NumPyArray(shape: [4, 3], scalars: (0..<12).map { Float($0) / 10 }), "w.npy", in: folder)
    let narrow = try save(
      NumPyArray(shape: [4, 2], scalars: (0..<8).map { Float($0) }), "w2.npy", in: folder)
    let double = try save(
      NumPyArray(shape: [4, 3], scalars: (0..<12).map { Double($0) }), "wd.npy", in: folder)
    let y = try save(NumPyArray(shape: [2], scalars: [Int64(0), 3]), "y.npy", in: folder)
    let bad = try save(NumPyArray(shape: [2], scalars: [Int64(0), 4]), "bad.npy", in: folder)
    let b = try save(NumPyArray(shape: [3], scalars: [Float(0), 1, 2]), "b.npy", in: folder)
    func failure(_ arguments: [String]) throws -> String {
      let before = try files(in: folder)
      let message = errorMessage(
        ["--loss", "linear-cross-entropy", "--input", h, "--target"] + arguments + [
          "--output", folder.appendingPathComponent("l.npy").path,
          "--gradient", folder.appendingPathComponent("dh.npy").path,
          "--classifier-gradient", folder.appendingPathComponent("dw.npy").path,
        ])
      #expect(try files(in: folder) == before, "an output file was written")
      #expect(!message.contains("\n"))
      return message
    }
    #expect(
      try failure([y])
        == "linear-cross-entropy needs --classifier W.npy, the classifier weight (V x D,"
        + " nn.Linear's layout)")
    #expect(
      try failure([y, "--classifier", narrow])
        == "linear-cross-entropy (--input \(h), --classifier \(narrow), --target \(y)): weight"
        + " shape [4, 2] does not match hidden shape [2, 3]; expected [V, 3], one row of the"
        + " hidden size per class")
    #expect(
      try failure([bad, "--classifier", w])
        == "linear-cross-entropy (--input \(h), --classifier \(w), --target \(bad)): label 4 at"
        + " position [1] is outside 0..<4 (ignore index -100)")
    #expect(
      try failure([y, "--classifier", w, "--bias", b])
        == "linear-cross-entropy (--input \(h), --classifier \(w), --target \(y)): bias shape [3]"
        + " does not match weight shape [4, 3]; expected [4], one per class")
    #expect(
      try failure([y, "--classifier", double])
        == "--classifier \(double) has dtype float64 but --input \(h) has float32;"
        + " linear-cross-entropy needs the same dtype (as PyTorch)")
    #expect(
      try failure([
        y, "--classifier", w, "--bias-gradient", folder.appendingPathComponent("db.npy").path,
      ])
        == "--bias-gradient needs --bias: without a bias there is no bias gradient")
    #expect(
      try failure([y, "--classifier", w, "--z-loss-scale", "-1"]).hasSuffix(
        "z-loss scale -1.0 is invalid; expected a finite value >= 0"))
    #expect(
      try failure([y, "--classifier", w, "--logit-soft-cap", "0"]).hasSuffix(
        "logit soft cap 0.0 is invalid; expected a finite value > 0"))
    #expect(
      try failure([y, "--classifier", w, "--class-axis", "1"])
        == "--class-axis does not apply to linear-cross-entropy; it takes --reduction, --weight,"
        + " --ignore-index, --label-smoothing, --z-loss-scale, --logit-soft-cap, --classifier,"
        + " --bias, --classifier-gradient, --bias-gradient, --normalizer, --all-ignored,"
        + " --sample-weight, --upstream-gradient")
    // The new flags do not apply to other losses.
    #expect(
      errorMessage(["--loss", "cross-entropy", "--input", h, "--target", y, "--classifier", w])
        .hasPrefix("--classifier does not apply to cross-entropy"))
    #expect(
      errorMessage([
        "--loss", "linear-cross-entropy", "--input", h, "--target", y, "--classifier", w,
        "--gradient", "same.npy", "--classifier-gradient", "same.npy",
      ]) == "--gradient and --classifier-gradient name the same file 'same.npy'")
  }
}
