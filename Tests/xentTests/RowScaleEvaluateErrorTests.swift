import Foundation
import NumPyIO
import Testing

@testable import xent

/// `--sample-weight` and `--upstream-gradient` with linear-cross-entropy and focal: one-line
/// errors that name the value and what was expected, and no output file on error.
@Suite struct RowScaleEvaluateErrorTests {
  let folder: URL
  let h: String
  let w: String
  let y: String
  let x: String
  let t: String

  init() throws {
    folder = try makeTemporaryFolder()
    h = try save(
      NumPyArray(shape: [2, 3], scalars: [Float(1), 2, 3, 4, 5, 6]), "h.npy", in: folder)
    w = try save(
      NumPyArray(shape: [4, 3], scalars: (0..<12).map { Float($0) / 10 }), "w.npy", in: folder)
    y = try save(NumPyArray(shape: [2], scalars: [Int64(0), 3]), "y.npy", in: folder)
    x = try save(
      NumPyArray(shape: [2, 3], scalars: [Float(1), -2, 0.5, 0, 3, -1]), "x.npy", in: folder)
    t = try save(
      NumPyArray(shape: [2, 3], scalars: [Float(1), 0, 0, 1, 1, 0]), "t.npy", in: folder)
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// Runs with every output flag of `loss`, expects an error and no new file.
  func failure(_ loss: String, _ arguments: [String]) throws -> String {
    let before = try files(in: folder)
    var outputs = ["--output", path("loss.npy"), "--gradient", path("grad.npy")]
    if loss == "linear-cross-entropy" {
      outputs += ["--classifier", w, "--classifier-gradient", path("dw.npy")]
    }
    let message = errorMessage(["--loss", loss] + arguments + outputs)
    #expect(try files(in: folder) == before, "an output file was written")
    #expect(!message.contains("\n"))
    return message
  }

  @Test func linearCrossEntropy() throws {
    let s3 = try save(NumPyArray(shape: [3], scalars: [Float(1), 1, 1]), "s3.npy", in: folder)
    let g2 = try save(NumPyArray(shape: [2], scalars: [Float(1), 1]), "g2.npy", in: folder)
    let sd = try save(NumPyArray(shape: [2], scalars: [Double(1), 1]), "sd.npy", in: folder)
    #expect(
      try failure("linear-cross-entropy", ["--input", h, "--target", y, "--sample-weight", s3])
        .hasSuffix(
          "sample weights shape [3] does not match labels shape [2]; expected one weight per row"))
    #expect(
      try failure("linear-cross-entropy", ["--input", h, "--target", y, "--upstream-gradient", g2])
        .hasSuffix("upstream gradient shape [2] does not match the loss shape [] of reduction mean")
    )
    #expect(
      try failure("linear-cross-entropy", ["--input", h, "--target", y, "--sample-weight", sd])
        .contains("float64"))
    #expect(
      try failure(
        "linear-cross-entropy", ["--input", h, "--target", y, "--normalizer", "0"]
      ).hasSuffix("normalizer 0.0 is invalid; expected a finite value > 0"))
    // The upstream gradient needs a gradient output: the classifier's alone is enough.
    let g1 = try save(NumPyArray(shape: [], scalars: [Float(2)]), "g1.npy", in: folder)
    #expect(
      errorMessage([
        "--loss", "linear-cross-entropy", "--input", h, "--target", y, "--classifier", w,
        "--upstream-gradient", g1,
      ]) == "--upstream-gradient needs --gradient, where the product is written")
    let output = try makeTemporaryFolder()
    _ = try evaluate([
      "--loss", "linear-cross-entropy", "--input", h, "--target", y, "--classifier", w,
      "--upstream-gradient", g1, "--classifier-gradient",
      output.appendingPathComponent("dw.npy").path,
    ]).get()
    let doubled = try NumPyArray(contentsOf: output.appendingPathComponent("dw.npy").path)
    _ = try evaluate([
      "--loss", "linear-cross-entropy", "--input", h, "--target", y, "--classifier", w,
      "--classifier-gradient", output.appendingPathComponent("plain.npy").path,
    ]).get()
    let plain = try NumPyArray(contentsOf: output.appendingPathComponent("plain.npy").path)
    expectClose(
      doubled.doubles(), plain.doubles().map { 2 * $0 }, tolerance: 1e-6,
      what: "classifier gradient with g = 2")
  }

  @Test func focal() throws {
    let s3 = try save(NumPyArray(shape: [3], scalars: [Float(1), 1, 1]), "s3.npy", in: folder)
    let g2 = try save(NumPyArray(shape: [2], scalars: [Float(1), 1]), "g2.npy", in: folder)
    #expect(
      try failure("focal", ["--input", x, "--target", t, "--sample-weight", s3])
        == "focal (--input \(x), --target \(t)): sample weights shape [3] does not match logits"
        + " rows shape [2]; expected one weight per row")
    #expect(
      try failure(
        "focal",
        ["--input", x, "--target", t, "--reduction", "none", "--upstream-gradient", g2])
        == "focal (--input \(x), --target \(t)): upstream gradient shape [2] does not match the"
        + " loss shape [2, 3] of reduction none")
  }
}
