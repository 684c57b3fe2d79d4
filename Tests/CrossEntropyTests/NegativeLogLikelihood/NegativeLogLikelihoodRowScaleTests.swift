import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights and upstream gradients of the NLL: PyTorch's values
// (Fixtures/row_scales.json), weights of 1 and an upstream gradient of ones change nothing,
// and the shape errors.
@Suite struct NegativeLogLikelihoodRowScaleTests {
  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try RowScaleFixtures.check(["nll"], Scalar.self, minimumCases: 18) { c in
      try NegativeLogLikelihood(reduction: c.reduction).lossAndGradient(
        logProbabilities: c.input, labels: c.labels, classWeights: c.classWeights,
        sampleWeights: c.sampleWeights, upstreamGradient: c.upstreamGradient)
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  /// The buffer form with a separate gradient gives PyTorch's values.
  @Test func bufferFormMatchesPyTorch() throws {
    try RowScaleFixtures.check(["nll"], Float.self, minimumCases: 18) { c in
      var loss = [Float](repeating: .nan, count: c.reduction == .none ? c.labels.scalars.count : 1)
      var gradient = [Float](repeating: .nan, count: c.input.scalars.count)
      try c.input.scalars.withUnsafeBufferPointer { x in
        try c.labels.scalars.withUnsafeBufferPointer { y in
          try withOptionalBuffer(c.classWeights) { w in
            try withOptionalBuffer(c.sampleWeights?.scalars) { s in
              try withOptionalBuffer(c.upstreamGradient?.scalars) { u in
                try loss.withUnsafeMutableBufferPointer { l in
                  try gradient.withUnsafeMutableBufferPointer { g in
                    try NegativeLogLikelihood(reduction: c.reduction).lossAndGradient(
                      logProbabilities: x, shape: c.input.shape, labels: y, classWeights: w,
                      sampleWeights: s, upstreamGradient: u, loss: l, gradient: g)
                  }
                }
              }
            }
          }
        }
      }
      return (
        try ShapedArray(shape: c.reduction == .none ? c.labels.shape : [], scalars: loss),
        try ShapedArray(shape: c.input.shape, scalars: gradient)
      )
    }
  }

  @Test(arguments: [Reduction.none, .mean, .sum])
  func weightsOfOneChangeNothing(reduction: Reduction) throws {
    let input = try ShapedArray(shape: [5, 4], scalars: randomFloats(20, seed: 3, spread: 3))
    let labels = ShapedArray([0, -100, 3, 2, 1])
    let ones = ShapedArray<Float>([1, 1, 1, 1, 1])
    let upstream = reduction == .none ? ones : try ShapedArray(shape: [], scalars: [Float(1)])
    for weights in [nil, [Float(0.5), 2, 1.5, 0.25]] {
      let criterion = NegativeLogLikelihood(reduction: reduction)
      let plain = try criterion.lossAndGradient(
        logProbabilities: input, labels: labels, classWeights: weights)
      let scaled = try criterion.lossAndGradient(
        logProbabilities: input, labels: labels, classWeights: weights, sampleWeights: ones,
        upstreamGradient: upstream)
      #expect(bitPatterns(scaled.loss.scalars) == bitPatterns(plain.loss.scalars))
      #expect(bitPatterns(scaled.gradient.scalars) == bitPatterns(plain.gradient.scalars))
    }
  }

  @Test func wrongShapesAreReported() throws {
    let input = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try NegativeLogLikelihood().loss(
          logProbabilities: input, labels: ShapedArray([0, 2]),
          sampleWeights: try ShapedArray<Float>(shape: [1, 2], scalars: [1, 2]))
      }
        == "sample weights shape [1, 2] does not match labels shape [2];"
        + " expected one weight per row")
    #expect(
      lossErrorMessage {
        _ = try NegativeLogLikelihood(reduction: .sum).lossAndGradient(
          logProbabilities: input, labels: ShapedArray([0, 2]),
          upstreamGradient: ShapedArray<Float>([1]))
      } == "upstream gradient shape [1] does not match the loss shape [] of reduction sum")
  }
}
