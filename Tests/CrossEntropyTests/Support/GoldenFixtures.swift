import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// One case of a fixture file written by `Scripts/make_golden_fixtures.py` (PyTorch).
///
/// Floats are stored as strings (the shortest decimal that round-trips in the case's dtype, or
/// `inf`, `-inf`, `nan`), so they parse exactly with `Float(_:)` / `Double(_:)`.
struct GoldenCase: Decodable, Sendable {
  var name: String
  var dtype: String
  var reduction: String?
  var classAxis: Int?
  var ignoreIndex: Int?
  var labelSmoothing: String?
  var inputShape: [Int]
  var input: [String]
  var labelShape: [Int]?
  var labels: [Int]?
  var targetShape: [Int]?
  var target: [String]?
  var weightShape: [Int]?
  var weight: [String]?
  var posWeightShape: [Int]?
  var posWeight: [String]?
  var lossShape: [Int]?
  var loss: [String]?
  var gradient: [String]?
  var axis: Int?
  var logSumExpShape: [Int]?
  var logSumExp: [String]?
  var logSoftmax: [String]?
  var softmax: [String]?

  /// The case's reduction option.
  var reductionValue: Reduction { Reduction(rawValue: reduction ?? "mean")! }
  /// The case's label smoothing, parsed exactly.
  var smoothingValue: Double { Double(labelSmoothing ?? "0")! }
}

private struct GoldenFile: Decodable {
  var cases: [GoldenCase]
}

/// The directory of the fixtures, found next to this source file (no bundle resources needed).
let fixturesDirectory = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

/// Loads the cases of one fixture file whose dtype matches `Scalar`.
func goldenCases<Scalar: GoldenScalar>(
  _ file: String, as _: Scalar.Type
) throws -> [GoldenCase] {
  let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent(file))
  let cases = try JSONDecoder().decode(GoldenFile.self, from: data).cases
  return cases.filter { $0.dtype == Scalar.dtypeName }
}

/// A scalar type the golden tests run for, with its PyTorch dtype name and tolerances.
protocol GoldenScalar: BinaryFloatingPoint, LosslessStringConvertible, Sendable {
  /// The PyTorch dtype of the fixtures for this type.
  static var dtypeName: String { get }
  /// The relative tolerance against PyTorch.
  static var relativeTolerance: Self { get }
  /// The absolute tolerance, as a fraction of the largest finite magnitude of the expected
  /// array (for values near 0 that come out of cancellation, such as `softmax - onehot`).
  static var absoluteToleranceScale: Self { get }
}

extension Float: GoldenScalar {
  static var dtypeName: String { "float32" }
  static var relativeTolerance: Float { 2e-5 }
  static var absoluteToleranceScale: Float { 2e-6 }
}

extension Double: GoldenScalar {
  static var dtypeName: String { "float64" }
  static var relativeTolerance: Double { 1e-10 }
  static var absoluteToleranceScale: Double { 1e-13 }
}

/// Parses fixture strings exactly.
func parse<Scalar: GoldenScalar>(_ strings: [String], as _: Scalar.Type = Scalar.self) -> [Scalar] {
  strings.map { string in
    guard let value = Scalar(string) else { fatalError("bad fixture number \(string)") }
    return value
  }
}

/// Parses a fixture array with its shape.
func parse<Scalar: GoldenScalar>(
  _ strings: [String]?, shape: [Int]?, as _: Scalar.Type = Scalar.self
) throws -> ShapedArray<Scalar>? {
  guard let strings else { return nil }
  return try ShapedArray(shape: shape ?? [strings.count], scalars: parse(strings))
}

/// Records an issue naming the case, the quantity and the first differing elements unless
/// `actual` matches `expected` element by element within the type's tolerance:
/// `|a - e| <= rtol * |e| + atol`, where `atol` is the type's scale times the largest finite
/// `|e|` (see `agrees(_:_:relative:absolute:)`: NaN matches NaN, an infinity only itself).
func expectClose<Scalar: GoldenScalar>(
  _ actual: [Scalar], _ expected: [Scalar], _ what: String, in name: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  expectClose(
    actual, expected, relative: Scalar.relativeTolerance,
    absolute: Scalar.absoluteToleranceScale * largestFiniteMagnitude(expected),
    "\(name): \(what) vs PyTorch", sourceLocation: sourceLocation)
}

/// Expects `body` to throw a ``LossError`` of `kind` whose message is exactly `message`.
func expectLossError(
  _ kind: LossError.Kind, _ message: String,
  sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
  do {
    try body()
    Issue.record("expected \(kind): \(message)", sourceLocation: sourceLocation)
  } catch let error as LossError {
    #expect(error.kind == kind, sourceLocation: sourceLocation)
    #expect(error.message == message, sourceLocation: sourceLocation)
    #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
  } catch {
    Issue.record("expected a LossError, got \(error)", sourceLocation: sourceLocation)
  }
}
