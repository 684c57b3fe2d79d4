import Testing

@testable import CrossEntropy

/// Binary cross-entropy against PyTorch's `F.binary_cross_entropy_with_logits` and
/// `F.binary_cross_entropy` (fixtures from `Scripts/make_golden_fixtures.py`).
@Suite struct BinaryCrossEntropyGoldenTests {
  @Test func logitsFloat() throws { try checkLogits(Float.self) }
  @Test func logitsDouble() throws { try checkLogits(Double.self) }
  @Test func probabilitiesFloat() throws { try checkProbabilities(Float.self) }
  @Test func probabilitiesDouble() throws { try checkProbabilities(Double.self) }

  func checkLogits<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try fixtureCases("binary_cross_entropy_with_logits", as: Scalar.self)
    #expect(cases.count > 100)
    for fixture in cases {
      let name = fixture.name
      let criterion = BinaryCrossEntropy(reduction: fixture.reduction())
      let logits = fixture.inputs["input"]!.parsed(as: Scalar.self)
      let targets = fixture.inputs["target"]!.parsed(as: Scalar.self)
      let weight = fixture.inputs["weight"]?.parsed(as: Scalar.self)
      let positive = fixture.inputs["posWeight"]?.parsed(as: Scalar.self)
      let expected = fixture.expected(Scalar.self)
      let expectedLoss: [Scalar] = expected["loss"]!.values()

      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, targets: targets, weight: weight, positiveWeight: positive)
      #expect(loss.shape == expected["loss"]!.shape, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, expected["gradient"]!.values(), "gradient", in: name)
      let lossOnly = try criterion.loss(
        logits: logits, targets: targets, weight: weight, positiveWeight: positive)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)
    }
  }

  func checkProbabilities<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try fixtureCases("binary_cross_entropy", as: Scalar.self)
    #expect(cases.count > 10)
    for fixture in cases {
      let name = fixture.name
      let criterion = BinaryCrossEntropy(reduction: fixture.reduction())
      let probabilities = fixture.inputs["input"]!.parsed(as: Scalar.self)
      let targets = fixture.inputs["target"]!.parsed(as: Scalar.self)
      let weight = fixture.inputs["weight"]?.parsed(as: Scalar.self)
      let expected = fixture.expected(Scalar.self)
      let expectedLoss: [Scalar] = expected["loss"]!.values()

      let (loss, gradient) = try criterion.lossAndGradient(
        probabilities: probabilities, targets: targets, weight: weight)
      #expect(loss.shape == expected["loss"]!.shape, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, expected["gradient"]!.values(), "gradient", in: name)
      let lossOnly = try criterion.loss(
        probabilities: probabilities, targets: targets, weight: weight)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)
    }
  }
}
