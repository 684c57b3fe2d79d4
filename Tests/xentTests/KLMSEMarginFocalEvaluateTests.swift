import Foundation
import NumPyIO
import Testing

@testable import xent

/// `xent evaluate` with kl-div, mse, multi-margin, focal and softmax-focal against PyTorch
/// (fixtures from Scripts/make_evaluate_fixtures.py, on PyTorch's OpInfo sample shapes).
@Suite struct KLMSEMarginFocalEvaluateTests {
  static let folder = fixtures.appendingPathComponent("evaluate-kl-mse-margin-focal")
  static let cases = (try? files(in: folder))?.filter { $0 != "PROVENANCE" } ?? []

  @Test func thereAreCases() {
    #expect(Self.cases.count >= 60)
  }

  @Test(arguments: cases)
  func matchesPyTorch(_ name: String) throws {
    try expectEvaluateMatchesFixture(Self.folder.appendingPathComponent(name), name: name)
  }

  @Test func errorsNameTheLossAndTheFiles() throws {
    let folder = try makeTemporaryFolder()
    let x = try save(
      NumPyArray(shape: [2, 3], scalars: [Float](repeating: 0, count: 6)), "x.npy", in: folder)
    let labels = try save(NumPyArray(shape: [2], scalars: [Int64(0), 3]), "y.npy", in: folder)
    let wrong = try save(
      NumPyArray(shape: [3], scalars: [Float](repeating: 0, count: 3)), "t.npy", in: folder)
    #expect(
      errorMessage(["--loss", "multi-margin", "--input", x, "--target", labels])
        == "multi-margin (--input \(x), --target \(labels)): label 3 at position [1] is outside"
        + " 0..<3")
    let incompatible = try save(
      NumPyArray(shape: [2], scalars: [Float](repeating: 0, count: 2)), "u.npy", in: folder)
    #expect(
      errorMessage(["--loss", "mse", "--input", x, "--target", incompatible])
        == "mse (--input \(x), --target \(incompatible)): targets shape [2] does not broadcast"
        + " with predictions shape [2, 3] (right-aligned broadcasting: axis 1 has 2 and 3)")
    #expect(
      errorMessage(["--loss", "multi-margin", "--input", x, "--target", labels, "--p", "3"])
        == "multi-margin (--input \(x), --target \(labels)): multi-margin p 3 is not supported;"
        + " expected 1 or 2")
    #expect(
      errorMessage(["--loss", "focal", "--input", x, "--target", wrong, "--margin", "2"])
        == "--margin does not apply to focal; it takes --reduction, --alpha, --gamma,"
        + " --normalizer, --sample-weight, --upstream-gradient")
    #expect(
      errorMessage(["--loss", "mse", "--input", x, "--target", x, "--reduction", "batchmean"])
        == "--reduction batchmean is not valid for mse; expected none, mean or sum")
  }
}
