import Foundation
import Testing

@testable import CrossEntropy

/// One case of `Fixtures/ctc/ctc.json`, written by `Scripts/make_ctc_fixtures.py` (PyTorch).
struct CTCGoldenCase: Decodable, Sendable, CustomTestStringConvertible {
  var name: String
  var dtype: String
  var form: String
  var blank: Int
  var reduction: String
  var zeroInfinity: Bool
  var inputShape: [Int]
  var input: [String]?
  var inputFormula: String?
  var targetShape: [Int]
  var targets: [Int]
  var inputLengths: [Int]
  var targetLengths: [Int]
  var lossShape: [Int]
  var loss: [String]
  var gradient: [String]?
  var gradientSum: [String]?
  var gradientAbsoluteSum: [String]?
  var gradientStride: Int?
  var gradientSample: [String]?
  var float64Loss: [String]?
  var float64Gradient: [String]?
  var float64GradientSum: [String]?
  var float64GradientAbsoluteSum: [String]?
  var float64GradientSample: [String]?

  var testDescription: String { "\(dtype) \(name)" }

  var criterion: ConnectionistTemporalClassification {
    ConnectionistTemporalClassification(
      blank: blank, reduction: Reduction(rawValue: reduction)!, zeroInfinity: zeroInfinity)
  }

  /// The input, parsed exactly, or rebuilt from the long cases' integer formula.
  func inputArray<Scalar: GoldenScalar>(_: Scalar.Type) throws -> ShapedArray<Scalar> {
    if let input { return try ShapedArray(shape: inputShape, scalars: parse(input)) }
    let (steps, batch, classes) = (inputShape[0], inputShape[1], inputShape[2])
    var scalars: [Scalar] = []
    scalars.reserveCapacity(steps * batch * classes)
    for t in 0..<steps {
      for n in 0..<batch {
        for c in 0..<classes {
          let hashed = (t * 7919 + n * 104_729 + c * 15_485_863) % 10007
          scalars.append(Scalar(Double(hashed) / 10007.0 * 8.0 - 4.0))
        }
      }
    }
    return try ShapedArray(shape: inputShape, scalars: scalars)
  }
}

private struct CTCGoldenFile: Decodable {
  var cases: [CTCGoldenCase]
}

/// Every case of the CTC fixture file.
let ctcGoldenCases: [CTCGoldenCase] = {
  let url = fixturesDirectory.appendingPathComponent("ctc/ctc.json")
  guard let data = try? Data(contentsOf: url),
    let file = try? JSONDecoder().decode(CTCGoldenFile.self, from: data)
  else { return [] }
  return file.cases
}()

@Suite("CTC against PyTorch")
struct ConnectionistTemporalClassificationGoldenTests {
  @Test func fixturesArePresent() {
    #expect(ctcGoldenCases.count >= 40)
    #expect(ctcGoldenCases.contains { $0.inputFormula != nil })
  }

  @Test(arguments: ctcGoldenCases.filter { $0.dtype == "float32" })
  func float32(_ golden: CTCGoldenCase) throws {
    try check(golden, as: Float.self)
  }

  @Test(arguments: ctcGoldenCases.filter { $0.dtype == "float64" })
  func float64(_ golden: CTCGoldenCase) throws {
    try check(golden, as: Double.self)
  }

  private func check<Scalar: GoldenScalar>(_ golden: CTCGoldenCase, as type: Scalar.Type) throws {
    let input = try golden.inputArray(type)
    let targets = try ShapedArray(shape: golden.targetShape, scalars: golden.targets)
    let criterion = golden.criterion
    let result =
      golden.form == "logits"
      ? try criterion.lossAndGradient(
        logits: input, labels: targets, inputLengths: golden.inputLengths,
        labelLengths: golden.targetLengths)
      : try criterion.lossAndGradient(
        logProbabilities: input, labels: targets, inputLengths: golden.inputLengths,
        labelLengths: golden.targetLengths)
    #expect(result.loss.shape == golden.lossShape, "\(golden.name): loss shape")
    expectClose(result.loss.scalars, parse(golden.loss, as: type), "loss", in: golden.name)
    #expect(result.gradient.shape == golden.inputShape, "\(golden.name): gradient shape")

    // The loss-only entry points agree with the loss of the loss-and-gradient ones.
    let lossOnly =
      golden.form == "logits"
      ? try criterion.loss(
        logits: input, labels: targets, inputLengths: golden.inputLengths,
        labelLengths: golden.targetLengths)
      : try criterion.loss(
        logProbabilities: input, labels: targets, inputLengths: golden.inputLengths,
        labelLengths: golden.targetLengths)
    expectClose(lossOnly.scalars, result.loss.scalars, "loss-only loss", in: golden.name)

    // Float results are held to PyTorch's own float32 answer: the Float kernel follows its
    // order and rounding (log alpha and log beta kept in Float at the size of the
    // log-likelihood), so it shares PyTorch's float32 error, which reaches ~3e-3 (relative)
    // against the exact answer on the 40-step cases and ~1% on the 1000-step ones. Against the
    // exact answer (float64*) the gradient is only checked loosely.
    let isFloat = Scalar.self == Float.self
    if let float64Loss = golden.float64Loss {
      expectClose(
        result.loss.scalars, parse(float64Loss, as: type), "loss vs float64", in: golden.name)
    }
    if let reference = golden.gradient {
      expectClose(result.gradient.scalars, parse(reference, as: type), "gradient", in: golden.name)
    }
    if isFloat, let exact = golden.float64Gradient {
      let actual = result.gradient.scalars.map { Double($0) }
      let expected = parse(exact, as: Double.self)
      let scale = expected.lazy.filter(\.isFinite).map(abs).max() ?? 0
      for (index, value) in expected.enumerated() {
        let close =
          value.isNaN
          ? actual[index].isNaN
          : abs(actual[index] - value) <= 1e-3 * scale + 1e-2 * abs(value)
        #expect(close, "\(golden.name): gradient[\(index)] \(actual[index]) vs float64 \(value)")
      }
    }
    if let stride = golden.gradientStride {
      let sample = golden.gradientSample!
      let sums = golden.gradientSum!
      let magnitudes = golden.gradientAbsoluteSum!
      // Against PyTorch in the same dtype. Over 1000 steps the Float log values reach a few
      // thousand (a rounding step of 2.4e-4), and an occasional step that rounds the other way
      // (our vector exp and log are within an ulp or two of libm's, not identical) moves an
      // occupancy by up to ~1e-4; Double rounds ~1e-11 apart. Hence the absolute tolerances.
      // The fused logits form also starts from a log-softmax rounded once from Double, while
      // PyTorch's float32 log_softmax is an ulp off here and there, so every step may round
      // differently: it is held to 5e-4 of PyTorch's float32 (which is ~1% from exact).
      let looseLogits = isFloat && golden.form == "logits"
      let atol = isFloat ? (looseLogits ? 5e-4 : 1e-4) : 1e-10
      let picked = Swift.stride(from: 0, to: result.gradient.scalars.count, by: stride).map {
        Double(result.gradient.scalars[$0])
      }
      for (index, expected) in parse(sample, as: Double.self).enumerated() {
        let close =
          abs(picked[index] - expected) <= atol + Double(Scalar.relativeTolerance) * abs(expected)
        #expect(close, "\(golden.name): gradient sample \(index): \(picked[index]) vs \(expected)")
      }
      let values = result.gradient.scalars.map { Double($0) }
      let sum = values.reduce(0, +)
      let magnitude = values.reduce(0) { $0 + abs($1) }
      let expectedSum = Double(sums[0])!
      let expectedMagnitude = Double(magnitudes[0])!
      let tolerance = (looseLogits ? 5e-4 : Double(Scalar.relativeTolerance)) * expectedMagnitude
      #expect(abs(sum - expectedSum) <= tolerance, "\(golden.name): gradient sum \(sum)")
      #expect(
        abs(magnitude - expectedMagnitude) <= tolerance,
        "\(golden.name): gradient magnitude \(magnitude) vs \(expectedMagnitude)")
    }
  }
}
