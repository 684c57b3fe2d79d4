import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// One case of `Fixtures/upstream.json` (upstream gradients of the losses other than the softmax
/// ones, written by Scripts/make_upstream_fixtures.py), its inputs in the precision of `Scalar`.
struct UpstreamCase<Scalar: GoldenScalar> {
  let fixture: FixtureCase

  /// A floating-point input of the case, if it has it.
  func array(_ name: String) -> ShapedArray<Scalar>? { fixture.inputs[name]?.shaped() }
  /// An integer input of the case, if it has it.
  func integers(_ name: String) -> ShapedArray<Int>? { fixture.inputs[name]?.integers }

  var input: ShapedArray<Scalar> { array("input")! }
  var targets: ShapedArray<Scalar> { array("target")! }
  var labels: ShapedArray<Int> { integers("target")! }
  /// Shaped like the loss: like the per-element or per-row loss for `.none`, 0-dimensional
  /// otherwise.
  var upstreamGradient: ShapedArray<Scalar> { array("upstreamGradient")! }
  var reduction: Reduction { fixture.reduction() }
  var reductionName: String { fixture.options["reduction"]?.string ?? "mean" }

  /// A number option of the case.
  func option(_ name: String) -> Double { fixture.options[name]!.double! }
  /// A Boolean option of the case.
  func flag(_ name: String) -> Bool { fixture.options[name]!.bool! }
}

/// The cases of `Fixtures/upstream.json`.
enum UpstreamFixtures {
  static let file = try! FixtureFile.load("upstream")

  /// The tolerance against PyTorch: 1e-10 relative (1e-12 absolute) in Double; in Float,
  /// `floatTolerance` (PyTorch rounds each step to float32, the kernels sum in other orders).
  static func tolerance<Scalar: BinaryFloatingPoint>(
    _: Scalar.Type, floatTolerance: (relative: Double, absolute: Double)
  ) -> (relative: Double, absolute: Double) {
    Scalar.significandBitCount > 30 ? (1e-10, 1e-12) : floatTolerance
  }

  /// Runs every case whose `loss` option is `loss` through `run` in the precision of `Scalar`
  /// and compares each result it returns (by the fixture's names: "loss", "gradient",
  /// "temperatureGradient", ...) with PyTorch's; expects at least `minimumCases` cases.
  static func check<Scalar: GoldenScalar>(
    _ loss: String, _: Scalar.Type, minimumCases: Int,
    floatTolerance: (relative: Double, absolute: Double) = (2e-5, 2e-6),
    sourceLocation: SourceLocation = #_sourceLocation,
    run: (UpstreamCase<Scalar>) throws -> [String: ShapedArray<Scalar>]
  ) throws {
    let (relative, absolute) = tolerance(Scalar.self, floatTolerance: floatTolerance)
    var checked = 0
    for c in file.cases where c.options["loss"]?.string == loss {
      let results = try run(UpstreamCase(fixture: c))
      let expected = c.expected(Scalar.self)
      #expect(!results.isEmpty, sourceLocation: sourceLocation)
      for (name, actual) in results {
        guard let reference = expected[name] else {
          Issue.record("\(c.name): no \(name) in the fixture", sourceLocation: sourceLocation)
          continue
        }
        #expect(
          actual.shape == reference.shape, "\(c.name) \(name) shape",
          sourceLocation: sourceLocation)
        expectClose(
          actual.scalars.map { Double($0) }, reference.data, relative: relative,
          absolute: absolute, "\(c.name) \(name) \(Scalar.self) vs PyTorch",
          sourceLocation: sourceLocation)
      }
      checked += 1
    }
    #expect(checked >= minimumCases, sourceLocation: sourceLocation)
  }
}

/// An upstream gradient of ones shaped like a loss: `shape` for `.none`, else 0-dimensional.
func onesUpstream<Scalar: BinaryFloatingPoint>(
  _ shape: [Int], elementwise: Bool
) -> ShapedArray<Scalar> {
  let lossShape = elementwise ? shape : []
  return try! ShapedArray(
    shape: lossShape, scalars: [Scalar](repeating: 1, count: lossShape.reduce(1, *)))
}
