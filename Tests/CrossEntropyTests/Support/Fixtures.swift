import Foundation
import Testing

@testable import CrossEntropy

/// An array in a golden fixture: a shape and its elements (integers are stored as numbers).
struct FamilyArray: Decodable {
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
enum FamilyOption: Decodable {
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

/// One case of a family fixture: inputs, options, and PyTorch's results in both precisions.
struct FamilyCase: Decodable {
  let name: String
  let options: [String: FamilyOption]
  let inputs: [String: FamilyArray]
  let float64: [String: FamilyArray]
  let float32: [String: FamilyArray]

  /// PyTorch's results for the precision of `Scalar`.
  func expected<Scalar: BinaryFloatingPoint>(_: Scalar.Type) -> [String: FamilyArray] {
    Scalar.significandBitCount > 30 ? float64 : float32
  }

  func reduction(default value: Reduction = .mean) -> Reduction {
    options["reduction"]?.string.flatMap(Reduction.init(rawValue:)) ?? value
  }
}

/// A fixture file written by Scripts/make_loss_fixtures.py.
struct FamilyFixture: Decodable {
  let generator: String
  let cases: [FamilyCase]

  /// Loads `Fixtures/family/<name>.json` next to this source file.
  static func load(_ name: String) throws -> FamilyFixture {
    let url = fixturesDirectory.appendingPathComponent("family/\(name).json")
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(FamilyFixture.self, from: Data(contentsOf: url))
  }
}

/// The tolerance for comparing against PyTorch in the precision of `Scalar`: we accumulate in
/// Double, PyTorch in the input's precision, so Float results may differ by a few ulps of sums.
func familyTolerance<Scalar: BinaryFloatingPoint>(
  _: Scalar.Type
) -> (relative: Double, absolute: Double) {
  Scalar.significandBitCount > 30 ? (1e-11, 1e-13) : (2e-5, 2e-6)
}

/// Records an issue unless `actual` has `expected`'s shape and every element is close to it
/// (NaN matches NaN; infinities must match exactly).
func familyExpectClose<Scalar: BinaryFloatingPoint>(
  _ actual: ShapedArray<Scalar>, _ expected: FamilyArray?, _ context: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard let expected else {
    Issue.record("\(context): no expected value in the fixture", sourceLocation: sourceLocation)
    return
  }
  #expect(actual.shape == expected.shape, "\(context): shape", sourceLocation: sourceLocation)
  guard actual.scalars.count == expected.data.count else { return }
  let (relative, absolute) = familyTolerance(Scalar.self)
  for (index, (a, e)) in zip(actual.scalars.map(Double.init), expected.data).enumerated() {
    let close: Bool
    if e.isNaN {
      close = a.isNaN
    } else if e.isInfinite {
      close = a == e
    } else {
      close = Swift.abs(a - e) <= absolute + relative * Swift.abs(e)
    }
    #expect(
      close, "\(context) [\(index)]: got \(a), PyTorch \(e)", sourceLocation: sourceLocation)
  }
}

/// Checks `gradient` against central finite differences of `loss` in Double.
func familyExpectFiniteDifferences(
  at point: [Double], gradient: [Double], step: Double = 1e-6, tolerance: Double = 1e-6,
  _ context: String, sourceLocation: SourceLocation = #_sourceLocation,
  loss: ([Double]) -> Double
) {
  #expect(point.count == gradient.count, sourceLocation: sourceLocation)
  for i in point.indices {
    var plus = point
    var minus = point
    plus[i] += step
    minus[i] -= step
    let numeric = (loss(plus) - loss(minus)) / (2 * step)
    #expect(
      Swift.abs(numeric - gradient[i]) <= tolerance * Swift.max(1, Swift.abs(numeric)),
      "\(context) [\(i)]: analytic \(gradient[i]), numeric \(numeric)",
      sourceLocation: sourceLocation)
  }
}

/// Returns the message of the `LossError` that `body` throws, or nil if it does not throw.
func familyErrorMessage(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch let error as LossError {
    return error.message
  } catch {
    return "unexpected error \(error)"
  }
}

/// A seeded generator (SplitMix64) for property sweeps; failing checks report the seed.
struct FamilyRandom: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension FamilyRandom {
  mutating func normals(_ count: Int, scale: Double = 1) -> [Double] {
    (0..<count).map { _ in
      let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
      let v = Double.random(in: 0..<1, using: &self)
      return scale * (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }
  }
}
