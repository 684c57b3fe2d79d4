import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// A number in a fixture: a JSON number, or a string holding a decimal (the shortest that
/// round-trips in the case's dtype, so that `Float(_:)` and `Double(_:)` parse it exactly),
/// "inf", "-inf" or "nan".
enum FixtureNumber: Decodable, Sendable {
  case number(Double)
  case text(String)

  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let text = try? container.decode(String.self) {
      self = .text(text)
    } else {
      self = .number(try container.decode(Double.self))
    }
  }

  /// The number as a Double (a string is parsed with `Double(_:)`).
  var double: Double {
    switch self {
    case .number(let value): value
    case .text: parsed(Double.self)
    }
  }

  /// The number in `Scalar`'s precision: a string parsed exactly with `Scalar(_:)`, a JSON
  /// number converted from Double.
  func parsed<Scalar: GoldenScalar>(_: Scalar.Type) -> Scalar {
    switch self {
    case .number(let value): return Scalar(value)
    case .text(let text):
      guard let value = Scalar(text) else { fatalError("bad fixture number \(text)") }
      return value
    }
  }
}

/// An array in a fixture: a shape and either its elements (integers are stored as numbers) or
/// the name of a formula the test computes them from (for inputs too large to store).
struct FixtureArray: Decodable, Sendable {
  let shape: [Int]
  let elements: [FixtureNumber]?
  let formula: String?

  enum CodingKeys: String, CodingKey {
    case shape
    case elements = "data"
    case formula
  }

  /// The elements as Doubles.
  var data: [Double] { (elements ?? []).map(\.double) }

  /// The elements in `Scalar`'s precision, each parsed exactly (see ``FixtureNumber``).
  func values<Scalar: GoldenScalar>(as _: Scalar.Type = Scalar.self) -> [Scalar] {
    (elements ?? []).map { $0.parsed(Scalar.self) }
  }

  /// The array in `Scalar`'s precision, each element parsed exactly (see ``FixtureNumber``).
  func parsed<Scalar: GoldenScalar>(as _: Scalar.Type = Scalar.self) -> ShapedArray<Scalar> {
    try! ShapedArray(shape: shape, scalars: values(as: Scalar.self))
  }

  /// The array in `Scalar`'s precision, each element converted from Double.
  func shaped<Scalar: BinaryFloatingPoint>(_: Scalar.Type = Scalar.self) -> ShapedArray<Scalar> {
    try! ShapedArray(shape: shape, scalars: data.map { Scalar($0) })
  }

  /// The elements as integers.
  var integerData: [Int] { data.map { Int($0) } }

  var integers: ShapedArray<Int> {
    try! ShapedArray(shape: shape, scalars: integerData)
  }
}

/// An option value in a fixture case.
enum FixtureOption: Decodable, Sendable {
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
  var int: Int? { double.flatMap { Int(exactly: $0) } }
  var bool: Bool? { if case .bool(let x) = self { x } else { nil } }
  var string: String? { if case .string(let x) = self { x } else { nil } }
}

/// One case of a fixture file: its inputs, options, and the reference results in float64,
/// float32 or both.
///
/// A case without a `dtype` holds inputs drawn in float32 (so exact in both precisions) and is
/// run in both. A case with a `dtype` holds inputs in that dtype and is run in that precision
/// only; its results for the other dtype, if any, are the reference's on the same inputs.
struct FixtureCase: Decodable, Sendable, CustomTestStringConvertible {
  let name: String
  let dtype: String?
  let options: [String: FixtureOption]
  let inputs: [String: FixtureArray]
  let float64: [String: FixtureArray]?
  let float32: [String: FixtureArray]?

  var testDescription: String { dtype.map { "\($0) \(name)" } ?? name }

  /// The reference results for the precision of `Scalar`.
  func expected<Scalar: BinaryFloatingPoint>(_: Scalar.Type) -> [String: FixtureArray] {
    (Scalar.significandBitCount > 30 ? float64 : float32) ?? [:]
  }

  func reduction(default value: Reduction = .mean) -> Reduction {
    options["reduction"]?.string.flatMap(Reduction.init(rawValue:)) ?? value
  }
}

/// A fixture file of reference results, written by one of the Scripts/make_*_fixtures.py.
struct FixtureFile: Decodable, Sendable {
  let generator: String
  let cases: [FixtureCase]

  /// Loads `Fixtures/<name>.json`.
  static func load(_ name: String) throws -> FixtureFile {
    let url = fixturesDirectory.appendingPathComponent("\(name).json")
    return try JSONDecoder().decode(FixtureFile.self, from: Data(contentsOf: url))
  }

  /// The cases run in the precision of `Scalar`: those of its dtype and those without one.
  func cases<Scalar: GoldenScalar>(for _: Scalar.Type) -> [FixtureCase] {
    cases.filter { $0.dtype == nil || $0.dtype == Scalar.dtypeName }
  }
}

/// The cases of `Fixtures/<name>.json` run in the precision of `Scalar`.
func fixtureCases<Scalar: GoldenScalar>(
  _ name: String, as _: Scalar.Type
) throws -> [FixtureCase] {
  try FixtureFile.load(name).cases(for: Scalar.self)
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
