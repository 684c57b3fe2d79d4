import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// An array in a golden fixture: a shape and its elements (integers are stored as numbers).
struct FixtureArray: Decodable {
  let shape: [Int]
  let data: [Double]

  func shaped<Scalar: BinaryFloatingPoint>(_: Scalar.Type = Scalar.self) -> ShapedArray<Scalar> {
    try! ShapedArray(shape: shape, scalars: data.map { Scalar($0) })
  }

  var integers: ShapedArray<Int> {
    try! ShapedArray(shape: shape, scalars: data.map { Int($0) })
  }
}

/// An option value in a fixture case.
enum FixtureOption: Decodable {
  case bool(Bool)
  case number(Double)
  case string(String)

  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else {
      self = .string(try container.decode(String.self))
    }
  }

  var double: Double? { if case .number(let x) = self { x } else { nil } }
  var bool: Bool? { if case .bool(let x) = self { x } else { nil } }
  var string: String? { if case .string(let x) = self { x } else { nil } }
}

/// One case of a fixture file under `Fixtures/family/`: inputs, options, and PyTorch's results
/// in both precisions.
struct FixtureCase: Decodable {
  let name: String
  let options: [String: FixtureOption]
  let inputs: [String: FixtureArray]
  let float64: [String: FixtureArray]
  let float32: [String: FixtureArray]

  /// PyTorch's results for the precision of `Scalar`.
  func expected<Scalar: BinaryFloatingPoint>(_: Scalar.Type) -> [String: FixtureArray] {
    Scalar.significandBitCount > 30 ? float64 : float32
  }

  func reduction(default value: Reduction = .mean) -> Reduction {
    options["reduction"]?.string.flatMap(Reduction.init(rawValue:)) ?? value
  }
}

/// A fixture file of PyTorch results, written by Scripts/make_loss_fixtures.py.
struct FixtureFile: Decodable {
  let generator: String
  let cases: [FixtureCase]

  /// Loads `Fixtures/family/<name>.json`.
  static func load(_ name: String) throws -> FixtureFile {
    let url = fixturesDirectory.appendingPathComponent("family/\(name).json")
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(FixtureFile.self, from: Data(contentsOf: url))
  }
}

/// The tolerance for comparing against PyTorch in the precision of `Scalar`: we accumulate in
/// Double, PyTorch in the input's precision, so Float results may differ by a few ulps of sums.
func fixtureTolerance<Scalar: BinaryFloatingPoint>(
  _: Scalar.Type
) -> (relative: Double, absolute: Double) {
  Scalar.significandBitCount > 30 ? (1e-11, 1e-13) : (2e-5, 2e-6)
}

/// Records an issue unless `actual` has `expected`'s shape and every element is close to it
/// within ``fixtureTolerance(_:)`` (see `agrees(_:_:relative:absolute:)`: NaN matches NaN,
/// infinities must match exactly).
func expectClose<Scalar: BinaryFloatingPoint>(
  _ actual: ShapedArray<Scalar>, _ expected: FixtureArray?, _ context: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard let expected else {
    Issue.record("\(context): no expected value in the fixture", sourceLocation: sourceLocation)
    return
  }
  #expect(actual.shape == expected.shape, "\(context): shape", sourceLocation: sourceLocation)
  let (relative, absolute) = fixtureTolerance(Scalar.self)
  expectClose(
    actual.scalars.map { Double($0) }, expected.data, relative: relative, absolute: absolute,
    "\(context) vs PyTorch", sourceLocation: sourceLocation)
}

/// Checks `gradient` against central finite differences of `loss` in Double, each element
/// within `tolerance` (see `agrees(_:_:tolerance:)`).
func expectFiniteDifferences(
  at point: [Double], gradient: [Double], step: Double = 1e-6, tolerance: Double = 1e-6,
  _ context: String, sourceLocation: SourceLocation = #_sourceLocation,
  loss: ([Double]) -> Double
) {
  let numeric = point.indices.map { i in
    var plus = point
    var minus = point
    plus[i] += step
    minus[i] -= step
    return (loss(plus) - loss(minus)) / (2 * step)
  }
  expectClose(
    gradient, numeric, tolerance: tolerance, "\(context): analytic vs numeric gradient",
    sourceLocation: sourceLocation)
}

/// Returns the message of the `LossError` that `body` throws, or nil if it does not throw.
func lossErrorMessage(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch let error as LossError {
    return error.message
  } catch {
    return "unexpected error \(error)"
  }
}
