import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate --loss ctc` against PyTorch (fixtures from Scripts/make_ctc_fixtures.py).
@Suite struct CTCEvaluateTests {
  static let folder = fixtures.appendingPathComponent("evaluate-ctc")
  static let cases = (try? files(in: folder))?.filter { $0 != "PROVENANCE" } ?? []

  @Test func thereAreCases() {
    #expect(Self.cases.count >= 5)
  }

  @Test(arguments: cases)
  func matchesPyTorch(_ name: String) throws {
    try expectEvaluateMatchesFixture(Self.folder.appendingPathComponent(name), name: name)
  }

  @Test func errorsNameTheFlagsAndTheFiles() throws {
    let folder = try makeTemporaryFolder()
    let x = try save(
      NumPyArray(shape: [4, 2, 3], scalars: [Float](repeating: -1.1, count: 24)), "x.npy",
      in: folder)
    let y = try save(NumPyArray(shape: [2, 2], scalars: [Int64(1), 2, 2, 0]), "y.npy", in: folder)
    let lengths = try save(NumPyArray(shape: [2], scalars: [Int64(4), 3]), "il.npy", in: folder)
    let targetLengths = try save(
      NumPyArray(shape: [2], scalars: [Int64(2), 1]), "tl.npy", in: folder)
    let floats = try save(NumPyArray(shape: [2], scalars: [Float(4), 3]), "f.npy", in: folder)
    let matrix = try save(
      NumPyArray(shape: [2, 1], scalars: [Int64(4), 3]), "m.npy", in: folder)
    let tooLong = try save(NumPyArray(shape: [2], scalars: [Int64(5), 3]), "l5.npy", in: folder)
    let base = ["--loss", "ctc", "--input", x, "--target", y]
    #expect(
      errorMessage(base + ["--target-lengths", targetLengths])
        == "ctc needs --input-lengths L.npy: one integer length per batch item")
    #expect(
      errorMessage(base + ["--input-lengths", lengths])
        == "ctc needs --target-lengths L.npy: one integer length per batch item")
    #expect(
      errorMessage(base + ["--input-lengths", floats, "--target-lengths", targetLengths])
        == "--input-lengths \(floats): ctc expects integer lengths (int64 or int32), got float32")
    #expect(
      errorMessage(base + ["--input-lengths", matrix, "--target-lengths", targetLengths])
        == "--input-lengths \(matrix) has shape [2, 1]; expected one length per batch item"
        + " (a 1-d array, or 0-d when unbatched)")
    #expect(
      errorMessage(base + ["--input-lengths", tooLong, "--target-lengths", targetLengths])
        == "ctc (--input \(x), --target \(y)): input length 5 at position [0] exceeds the 4 time"
        + " steps of log probabilities [4, 2, 3]")
    #expect(
      errorMessage(
        base + ["--input-lengths", lengths, "--target-lengths", targetLengths, "--blank", "3"])
        == "ctc (--input \(x), --target \(y)): blank 3 is outside 0..<3, the classes of log"
        + " probabilities [4, 2, 3]")
    #expect(
      errorMessage(
        base + [
          "--input-lengths", lengths, "--target-lengths", targetLengths, "--label-smoothing",
          "0.1",
        ]
      ).hasPrefix("--label-smoothing does not apply to ctc"))
  }
}
