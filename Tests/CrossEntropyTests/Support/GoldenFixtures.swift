import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The directory of the fixtures, found next to this source file (no bundle resources needed).
let fixturesDirectory = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

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
