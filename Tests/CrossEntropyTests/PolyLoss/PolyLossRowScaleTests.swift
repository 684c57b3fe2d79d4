import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights and upstream gradients of Poly-1: PyTorch's values (the optax formula
// written out in torch, Fixtures/row_scales.json), weights of 1 and an upstream gradient of
// ones change nothing, and the shape errors.
@Suite struct PolyLossRowScaleTests {
  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try RowScaleFixtures.check(["poly1"], Scalar.self, minimumCases: 9) { c in
      try PolyLoss(epsilon: c.option("epsilon")!, reduction: c.reduction).lossAndGradient(
        logits: c.input, labels: c.labels, sampleWeights: c.sampleWeights,
        upstreamGradient: c.upstreamGradient)
    }
    try RowScaleFixtures.check(["poly1_probabilities"], Scalar.self, minimumCases: 9) { c in
      try PolyLoss(epsilon: c.option("epsilon")!, reduction: c.reduction).lossAndGradient(
        logits: c.input, targets: c.targets, sampleWeights: c.sampleWeights,
        upstreamGradient: c.upstreamGradient)
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [Reduction.none, .mean, .sum])
  func weightsOfOneChangeNothing(reduction: Reduction) throws {
    let logits = try ShapedArray(shape: [5, 4], scalars: randomFloats(20, seed: 3, spread: 3))
    let labels = ShapedArray([0, -100, 3, 2, 1])
    let ones = ShapedArray<Float>([1, 1, 1, 1, 1])
    let upstream = reduction == .none ? ones : try ShapedArray(shape: [], scalars: [Float(1)])
    let criterion = PolyLoss(epsilon: 1, reduction: reduction)
    let plain = try criterion.lossAndGradient(logits: logits, labels: labels)
    let scaled = try criterion.lossAndGradient(
      logits: logits, labels: labels, sampleWeights: ones, upstreamGradient: upstream)
    #expect(bitPatterns(scaled.loss.scalars) == bitPatterns(plain.loss.scalars))
    #expect(bitPatterns(scaled.gradient.scalars) == bitPatterns(plain.gradient.scalars))
  }

  @Test func wrongShapesAreReported() throws {
    let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try PolyLoss().loss(
          logits: logits, targets: logits, sampleWeights: ShapedArray<Float>([1, 2, 3]))
      }
        == "sample weights shape [3] does not match logits rows shape [2];"
        + " expected one weight per row")
  }
}
