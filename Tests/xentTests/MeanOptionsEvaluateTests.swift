import Foundation
import NumPyIO
import Testing

@testable import xent

/// `--normalizer` and `--all-ignored` on every loss over rows that takes them: the mean with
/// `--normalizer K` is the `--reduction sum` result over K, loss and gradient; a batch whose
/// targets are all ignored gives NaN, or 0 with `--all-ignored zero`, and a zero gradient.
@Suite struct MeanOptionsEvaluateTests {
  let folder: URL
  let logits: String
  let logProbabilities: String
  let labels: String
  let ignored: String

  init() throws {
    folder = try makeTemporaryFolder()
    let values: [Float] = [1, 2, 3, 0.5, -1, 4, 0, 0.25, -2, 3, 1, 1]
    logits = try save(NumPyArray(shape: [4, 3], scalars: values), "x.npy", in: folder)
    var logProbabilityValues = values
    for r in 0..<4 {
      let row = values[(r * 3)..<(r * 3 + 3)]
      let m = row.max()!
      let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
      for c in 0..<3 { logProbabilityValues[r * 3 + c] = values[r * 3 + c] - lse }
    }
    logProbabilities = try save(
      NumPyArray(shape: [4, 3], scalars: logProbabilityValues), "lp.npy", in: folder)
    labels = try save(NumPyArray(shape: [4], scalars: [Int64(0), -100, 2, 1]), "y.npy", in: folder)
    ignored = try save(
      NumPyArray(shape: [4], scalars: [Int64](repeating: -100, count: 4)), "ignored.npy",
      in: folder)
  }

  /// The `--loss` names with the input each takes.
  var losses: [(name: String, input: String)] {
    [
      ("cross-entropy", logits), ("nll", logProbabilities), ("softmax-focal", logits),
      ("poly", logits),
    ]
  }

  /// Runs `xent evaluate` and returns the loss and gradient it wrote.
  func run(_ arguments: [String], _ tag: String) throws -> (loss: [Float], gradient: [Float]) {
    let loss = folder.appendingPathComponent("\(tag)-loss.npy").path
    let gradient = folder.appendingPathComponent("\(tag)-gradient.npy").path
    let result = evaluate(arguments + ["--output", loss, "--gradient", gradient])
    if case .failure(let error) = result { Issue.record("\(tag): \(error.message)") }
    return (
      try NumPyArray(contentsOf: loss).scalars(as: Float.self),
      try NumPyArray(contentsOf: gradient).scalars(as: Float.self)
    )
  }

  @Test func normalizerDividesTheSum() throws {
    for (name, input) in losses {
      let base = ["--loss", name, "--input", input, "--target", labels]
      let mean = try run(base + ["--normalizer", "2.5"], "\(name)-mean")
      let sum = try run(base + ["--reduction", "sum"], "\(name)-sum")
      expectClose(
        mean.loss.map { Double($0) }, sum.loss.map { Double($0) / 2.5 }, tolerance: 1e-6,
        what: "\(name) loss")
      expectClose(
        mean.gradient.map { Double($0) }, sum.gradient.map { Double($0) / 2.5 }, tolerance: 1e-6,
        what: "\(name) gradient")
    }
  }

  @Test func allIgnoredGivesNaNOrZero() throws {
    for (name, input) in losses {
      let base = ["--loss", name, "--input", input, "--target", ignored]
      let nan = try run(base, "\(name)-nan")
      #expect(nan.loss.count == 1 && nan.loss[0].isNaN, "\(name)")
      #expect(nan.gradient.allSatisfy { $0 == 0 }, "\(name)")
      let zero = try run(base + ["--all-ignored", "zero"], "\(name)-zero")
      #expect(zero.loss == [0], "\(name)")
      #expect(zero.gradient.allSatisfy { $0 == 0 }, "\(name)")
      let kept = try run(
        ["--loss", name, "--input", input, "--target", labels, "--all-ignored", "zero"],
        "\(name)-kept")
      let plain = try run(["--loss", name, "--input", input, "--target", labels], "\(name)-plain")
      #expect(kept.loss == plain.loss && kept.gradient == plain.gradient, "\(name)")
    }
  }

  @Test func badValuesAreRefused() throws {
    let base = ["--loss", "nll", "--input", logProbabilities, "--target", labels]
    #expect(errorMessage(base + ["--normalizer", "0"]).contains("normalizer 0.0 is invalid"))
    #expect(errorMessage(base + ["--all-ignored", "skip"]).contains("skip"))
    #expect(
      errorMessage([
        "--loss", "mse", "--input", logits, "--target", logits, "--all-ignored", "zero",
      ])
      .hasPrefix("--all-ignored does not apply to mse"))
    #expect(try files(in: folder).filter { $0.hasSuffix("-loss.npy") }.isEmpty)
  }
}
