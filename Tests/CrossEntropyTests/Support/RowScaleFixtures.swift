import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// One case of `Fixtures/row_scales.json` (per-sample weights and upstream gradients, written
/// by Scripts/make_row_scale_fixtures.py), its inputs in the precision of `Scalar`.
struct RowScaleCase<Scalar: GoldenScalar> {
  let fixture: FixtureCase

  var input: ShapedArray<Scalar> { fixture.inputs["input"]!.shaped() }
  var labels: ShapedArray<Int> { fixture.inputs["target"]!.integers }
  var targets: ShapedArray<Scalar> { fixture.inputs["target"]!.shaped() }
  var classWeights: [Scalar]? { fixture.inputs["weight"].map { $0.data.map { Scalar($0) } } }
  var sampleWeights: ShapedArray<Scalar>? { fixture.inputs["sampleWeights"]?.shaped() }
  /// Shaped like the loss: like the labels for `.none`, 0-dimensional otherwise.
  var upstreamGradient: ShapedArray<Scalar>? { fixture.inputs["upstreamGradient"]?.shaped() }
  var reduction: Reduction { fixture.reduction() }
  var classAxis: Int { fixture.options["classAxis"]?.int ?? -1 }

  /// A number option of the case, if it has it.
  func option(_ name: String) -> Double? { fixture.options[name]?.double }
}

/// The cases of `Fixtures/row_scales.json`.
enum RowScaleFixtures {
  static let file = try! FixtureFile.load("row_scales")

  /// Runs every case whose `loss` option is in `losses` through `run` in the precision of
  /// `Scalar` and compares the loss and gradient with PyTorch's; expects at least
  /// `minimumCases` cases.
  static func check<Scalar: GoldenScalar>(
    _ losses: Set<String>, _: Scalar.Type, minimumCases: Int,
    sourceLocation: SourceLocation = #_sourceLocation,
    run: (RowScaleCase<Scalar>) throws -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>)
  ) throws {
    var checked = 0
    for c in file.cases where losses.contains(c.options["loss"]?.string ?? "") {
      let (loss, gradient) = try run(RowScaleCase(fixture: c))
      let expected = c.expected(Scalar.self)
      expectClose(
        loss, expected["loss"], "\(c.name) loss \(Scalar.self)", sourceLocation: sourceLocation)
      expectClose(
        gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)",
        sourceLocation: sourceLocation)
      checked += 1
    }
    #expect(checked >= minimumCases, sourceLocation: sourceLocation)
  }
}

/// Per-sample weights for `rows` rows: in [0, 2], with a 0 and a negative weight when there
/// are enough rows.
func randomSampleWeights(_ rows: Int, seed: UInt64) -> [Float] {
  var weights = randomFloats(rows, seed: seed, spread: 1, shift: 1)
  if rows > 2 {
    weights[1] = 0
    weights[rows - 1] = -0.75
  }
  return weights
}

/// An upstream gradient of `count` values with a zero and a negative value (when there are
/// enough), or 1.5 for a reduced loss.
func randomUpstreamGradient(_ count: Int, seed: UInt64) -> [Float] {
  var values = randomFloats(count, seed: seed, spread: 2)
  if count > 2 {
    values[0] = 0
    values[2] = -abs(values[2]) - 0.5
  }
  return values
}
