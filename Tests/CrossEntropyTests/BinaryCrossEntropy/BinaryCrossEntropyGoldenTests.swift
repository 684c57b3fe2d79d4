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
    let cases = try goldenCases("binary_cross_entropy_with_logits.json", as: Scalar.self)
    #expect(cases.count > 100)
    for fixture in cases {
      let name = fixture.name
      let criterion = BinaryCrossEntropy(reduction: fixture.reductionValue)
      let logits = try parse(fixture.input, shape: fixture.inputShape, as: Scalar.self)!
      let targets = try parse(fixture.target, shape: fixture.targetShape, as: Scalar.self)!
      let weight = try parse(fixture.weight, shape: fixture.weightShape, as: Scalar.self)
      let positive = try parse(fixture.posWeight, shape: fixture.posWeightShape, as: Scalar.self)
      let expectedLoss: [Scalar] = parse(fixture.loss!)

      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, targets: targets, weight: weight, positiveWeight: positive)
      #expect(loss.shape == fixture.lossShape!, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, parse(fixture.gradient!), "gradient", in: name)
      let lossOnly = try criterion.loss(
        logits: logits, targets: targets, weight: weight, positiveWeight: positive)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)
    }
  }

  func checkProbabilities<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try goldenCases("binary_cross_entropy.json", as: Scalar.self)
    #expect(cases.count > 10)
    for fixture in cases {
      let name = fixture.name
      let criterion = BinaryCrossEntropy(reduction: fixture.reductionValue)
      let probabilities = try parse(fixture.input, shape: fixture.inputShape, as: Scalar.self)!
      let targets = try parse(fixture.target, shape: fixture.targetShape, as: Scalar.self)!
      let weight = try parse(fixture.weight, shape: fixture.weightShape, as: Scalar.self)
      let expectedLoss: [Scalar] = parse(fixture.loss!)

      let (loss, gradient) = try criterion.lossAndGradient(
        probabilities: probabilities, targets: targets, weight: weight)
      #expect(loss.shape == fixture.lossShape!, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, parse(fixture.gradient!), "gradient", in: name)
      let lossOnly = try criterion.loss(
        probabilities: probabilities, targets: targets, weight: weight)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)
    }
  }
}
