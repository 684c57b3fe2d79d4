import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate` never overwrites its inputs, and its messages say how to fix a target or a
/// layout that PyTorch users commonly get wrong.
@Suite struct EvaluateSafetyTests {
  private func inputs(in folder: URL) throws -> (logits: String, labels: String, bytes: Data) {
    let logits = try save(
      NumPyArray(shape: [2, 3], scalars: [Float](arrayLiteral: 1, 2, 3, 0, -1, 4)), "x.npy",
      in: folder)
    let labels = try save(
      NumPyArray(shape: [2], scalars: [Int64](arrayLiteral: 2, 0)), "y.npy", in: folder)
    return (logits, labels, try Data(contentsOf: URL(fileURLWithPath: logits)))
  }

  @Test func anOutputNamingAnInputIsRefusedAndTheInputKept() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (x, y, original) = try inputs(in: folder)
    let link = folder.appendingPathComponent("link.npy").path
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: x)
    let spelled = folder.appendingPathComponent("sub/../x.npy").path
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
    let cases: [([String], String)] = [
      (["--output", x], "--output '\(x)' names the --input file '\(x)'"),
      (["--gradient", y], "--gradient '\(y)' names the --target file '\(y)'"),
      (["--gradient", link], "--gradient '\(link)' names the --input file '\(x)'"),
      (["--output", spelled], "--output '\(spelled)' names the --input file '\(x)'"),
    ]
    for (outputs, prefix) in cases {
      let message = errorMessage(
        ["--loss", "cross-entropy", "--input", x, "--target", y] + outputs)
      #expect(message == prefix + "; an output must not overwrite an input")
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: x)) == original)
    #expect(try files(in: folder) == ["link.npy", "sub", "x.npy", "y.npy"])
  }

  @Test func twoOutputsNamingOneFileByDifferentSpellingsAreRefused() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (x, y, _) = try inputs(in: folder)
    let first = folder.appendingPathComponent("out.npy").path
    let second = folder.appendingPathComponent("./out.npy").path
    #expect(
      errorMessage([
        "--loss", "cross-entropy", "--input", x, "--target", y, "--output", first, "--gradient",
        second,
      ]) == "--output and --gradient name the same file '\(first)'")
    #expect(try files(in: folder) == ["x.npy", "y.npy"])
  }

  @Test func aFloatTargetOfLabelShapeSaysClassIndicesMustBeIntegers() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (x, _, _) = try inputs(in: folder)
    let y = try save(
      NumPyArray(shape: [2], scalars: [Double](arrayLiteral: 2, 0)), "yf.npy", in: folder)
    #expect(
      errorMessage(["--loss", "cross-entropy", "--input", x, "--target", y])
        == "--target \(y): a float target holds probabilities of the input's shape [2, 3], got"
        + " float64 of shape [2]; class indices must be an integer array (int64, int32 or uint8)")
  }

  @Test func pyTorchLayoutWithoutClassAxisGetsTheHint() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let x = try save(
      NumPyArray(shape: [2, 3, 4], scalars: (0..<24).map { Float($0) / 10 }), "x.npy", in: folder)
    let y = try save(
      NumPyArray(shape: [2, 4], scalars: [Int64](arrayLiteral: 0, 1, 2, 0, 1, 2, 0, 1)), "y.npy",
      in: folder)
    let message = errorMessage(["--loss", "cross-entropy", "--input", x, "--target", y])
    #expect(message.hasSuffix("; for PyTorch's (N, C, d1, ...) layout add --class-axis 1"))
    // With the flag it evaluates; other shape errors get no hint.
    #expect(
      (try? evaluate(["--loss", "cross-entropy", "--input", x, "--target", y, "--class-axis", "1"])
        .get()) != nil)
    let wrong = try save(
      NumPyArray(shape: [2, 5], scalars: [Int64](repeating: 0, count: 10)), "w.npy", in: folder)
    #expect(
      !errorMessage(["--loss", "cross-entropy", "--input", x, "--target", wrong]).contains(
        "--class-axis 1"))
  }
}
