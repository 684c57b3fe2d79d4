import Foundation
import Testing

@testable import CrossEntropy

/// The criterion of a case of `Fixtures/ctc.json`, written by `Scripts/make_ctc_fixtures.py`
/// (PyTorch).
private func ctcCriterion(_ golden: FixtureCase) -> ConnectionistTemporalClassification {
  ConnectionistTemporalClassification(
    blank: golden.options["blank"]!.int!, reduction: golden.reduction(),
    zeroInfinity: golden.options["zeroInfinity"]!.bool!)
}

/// A case's input, parsed exactly, or rebuilt from the long cases' integer formula.
private func inputArray<Scalar: GoldenScalar>(
  _ golden: FixtureCase, as _: Scalar.Type
) throws -> ShapedArray<Scalar> {
  let stored = golden.inputs["input"]!
  if stored.formula == nil { return stored.parsed(as: Scalar.self) }
  let shape = stored.shape
  let (steps, batch, classes) = (shape[0], shape[1], shape[2])
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
  return try ShapedArray(shape: shape, scalars: scalars)
}

/// Every case of the CTC fixture file.
let ctcGoldenCases: [FixtureCase] = (try? FixtureFile.load("ctc"))?.cases ?? []

@Suite("CTC against PyTorch")
struct ConnectionistTemporalClassificationGoldenTests {
  @Test func fixturesArePresent() {
    #expect(ctcGoldenCases.count >= 40)
    #expect(ctcGoldenCases.contains { $0.inputs["input"]?.formula != nil })
  }

  @Test(arguments: ctcGoldenCases.filter { $0.dtype == "float32" })
  func float32(_ golden: FixtureCase) throws {
    try check(golden, as: Float.self)
  }

  @Test(arguments: ctcGoldenCases.filter { $0.dtype == "float64" })
  func float64(_ golden: FixtureCase) throws {
    try check(golden, as: Double.self)
  }

  private func check<Scalar: GoldenScalar>(_ golden: FixtureCase, as type: Scalar.Type) throws {
    let input = try inputArray(golden, as: type)
    let targets = golden.inputs["targets"]!.integers
    let inputLengths = golden.inputs["inputLengths"]!.integerData
    let targetLengths = golden.inputs["targetLengths"]!.integerData
    let form = golden.options["form"]!.string!
    let expected = golden.expected(type)
    // The float64 results of a float32 case: PyTorch in float64 on the same inputs.
    let exact = golden.dtype == "float32" ? golden.float64 : nil
    let criterion = ctcCriterion(golden)
    let result =
      form == "logits"
      ? try criterion.lossAndGradient(
        logits: input, labels: targets, inputLengths: inputLengths,
        labelLengths: targetLengths)
      : try criterion.lossAndGradient(
        logProbabilities: input, labels: targets, inputLengths: inputLengths,
        labelLengths: targetLengths)
    #expect(result.loss.shape == expected["loss"]!.shape, "\(golden.name): loss shape")
    expectClose(result.loss.scalars, expected["loss"]!.values(as: type), "loss", in: golden.name)
    #expect(result.gradient.shape == input.shape, "\(golden.name): gradient shape")

    // The loss-only entry points agree with the loss of the loss-and-gradient ones.
    let lossOnly =
      form == "logits"
      ? try criterion.loss(
        logits: input, labels: targets, inputLengths: inputLengths,
        labelLengths: targetLengths)
      : try criterion.loss(
        logProbabilities: input, labels: targets, inputLengths: inputLengths,
        labelLengths: targetLengths)
    expectClose(lossOnly.scalars, result.loss.scalars, "loss-only loss", in: golden.name)

    // Float results are held to PyTorch's own float32 answer: the Float kernel follows its
    // order and rounding (log alpha and log beta kept in Float at the size of the
    // log-likelihood), so it shares PyTorch's float32 error, which reaches ~3e-3 (relative)
    // against the exact answer on the 40-step cases and ~1% on the 1000-step ones. Against the
    // exact answer (float64*) the gradient is only checked loosely.
    let isFloat = Scalar.self == Float.self
    if let float64Loss = exact?["loss"] {
      expectClose(
        result.loss.scalars, float64Loss.values(as: type), "loss vs float64", in: golden.name)
    }
    if let reference = expected["gradient"] {
      expectClose(result.gradient.scalars, reference.values(as: type), "gradient", in: golden.name)
    }
    if isFloat, let exactGradient = exact?["gradient"] {
      let actual = result.gradient.scalars.map { Double($0) }
      let reference = exactGradient.values(as: Double.self)
      let scale = reference.lazy.filter(\.isFinite).map(abs).max() ?? 0
      for (index, value) in reference.enumerated() {
        let close =
          value.isNaN
          ? actual[index].isNaN
          : abs(actual[index] - value) <= 1e-3 * scale + 1e-2 * abs(value)
        #expect(close, "\(golden.name): gradient[\(index)] \(actual[index]) vs float64 \(value)")
      }
    }
    if let stride = golden.options["gradientStride"]?.int {
      let sample = expected["gradientSample"]!.values(as: Double.self)
      let expectedSum = expected["gradientSum"]!.values(as: Double.self)[0]
      let expectedMagnitude = expected["gradientAbsoluteSum"]!.values(as: Double.self)[0]
      // Against PyTorch in the same dtype. Over 1000 steps the Float log values reach a few
      // thousand (a rounding step of 2.4e-4), and an occasional step that rounds the other way
      // (our vector exp and log are within an ulp or two of libm's, not identical) moves an
      // occupancy by up to ~1e-4; Double rounds ~1e-11 apart. Hence the absolute tolerances.
      // The fused logits form also starts from a log-softmax rounded once from Double, while
      // PyTorch's float32 log_softmax is an ulp off here and there, so every step may round
      // differently: it is held to 5e-4 of PyTorch's float32 (which is ~1% from exact).
      let looseLogits = isFloat && form == "logits"
      let atol = isFloat ? (looseLogits ? 5e-4 : 1e-4) : 1e-10
      let picked = Swift.stride(from: 0, to: result.gradient.scalars.count, by: stride).map {
        Double(result.gradient.scalars[$0])
      }
      for (index, expected) in sample.enumerated() {
        let close =
          abs(picked[index] - expected) <= atol + Double(Scalar.relativeTolerance) * abs(expected)
        #expect(close, "\(golden.name): gradient sample \(index): \(picked[index]) vs \(expected)")
      }
      let values = result.gradient.scalars.map { Double($0) }
      let sum = values.reduce(0, +)
      let magnitude = values.reduce(0) { $0 + abs($1) }
      let tolerance = (looseLogits ? 5e-4 : Double(Scalar.relativeTolerance)) * expectedMagnitude
      #expect(abs(sum - expectedSum) <= tolerance, "\(golden.name): gradient sum \(sum)")
      #expect(
        abs(magnitude - expectedMagnitude) <= tolerance,
        "\(golden.name): gradient magnitude \(magnitude) vs \(expectedMagnitude)")
    }
  }
}
