import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Upstream gradients of the multi-margin loss: PyTorch's `loss.backward(gradient=g)`
// (Fixtures/upstream.json; a NaN upstream value makes its whole row NaN, as PyTorch multiplies
// every element of the row), the buffer forms, ones changing nothing, and the shape errors.
@Suite struct MultiMarginLossUpstreamTests {
  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("multi_margin", Scalar.self, minimumCases: 6) { c in
      let criterion = MultiMarginLoss(
        reduction: c.reduction, p: Int(c.option("p")), margin: c.option("margin"))
      let result = try criterion.lossAndGradient(
        logits: c.input, labels: c.labels, classWeights: c.array("weight")?.scalars,
        upstreamGradient: c.upstreamGradient)
      return ["loss": result.loss, "gradient": result.gradient]
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test func bufferFormsMatchTheArrayForm() throws {
    try UpstreamFixtures.check("multi_margin", Float.self, minimumCases: 6) { c in
      let criterion = MultiMarginLoss(
        reduction: c.reduction, p: Int(c.option("p")), margin: c.option("margin"))
      let weights = c.array("weight")?.scalars
      let expected = try criterion.lossAndGradient(
        logits: c.input, labels: c.labels, classWeights: weights,
        upstreamGradient: c.upstreamGradient)
      var loss = [Float](repeating: 7, count: expected.loss.scalars.count)
      var gradient = [Float](repeating: 7, count: c.input.scalars.count)
      var inPlace = c.input.scalars
      var inPlaceLoss = loss
      try c.input.scalars.withUnsafeBufferPointer { x in
        try c.labels.scalars.withUnsafeBufferPointer { y in
          try withOptionalBuffer(weights) { w in
            try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
              try loss.withUnsafeMutableBufferPointer { l in
                try gradient.withUnsafeMutableBufferPointer { g in
                  try criterion.lossAndGradient(
                    logits: x, shape: c.input.shape, labels: y, classWeights: w,
                    upstreamGradient: u, loss: l, gradient: g)
                }
              }
              try inPlace.withUnsafeMutableBufferPointer { g in
                try inPlaceLoss.withUnsafeMutableBufferPointer { l in
                  try criterion.lossAndGradient(
                    overwriting: g, shape: c.input.shape, labels: y, classWeights: w,
                    upstreamGradient: u, loss: l)
                }
              }
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars))
      #expect(identical(gradient, expected.gradient.scalars))
      #expect(identical(inPlaceLoss, expected.loss.scalars))
      #expect(identical(inPlace, expected.gradient.scalars))
      return ["loss": expected.loss, "gradient": expected.gradient]
    }
  }

  @Test(arguments: [Reduction.none, .mean, .sum])
  func onesChangeNothing(reduction: Reduction) throws {
    let x = try ShapedArray(shape: [5, 4], scalars: randomFloats(20, seed: 31, spread: 2))
    let labels = ShapedArray([0, 3, 2, 1, 1])
    for p in [1, 2] {
      let criterion = MultiMarginLoss(reduction: reduction, p: p, margin: 0.7)
      let plain = try criterion.lossAndGradient(
        logits: x, labels: labels, classWeights: [1, 2, 0.5, 1.5])
      let scaled = try criterion.lossAndGradient(
        logits: x, labels: labels, classWeights: [1, 2, 0.5, 1.5],
        upstreamGradient: onesUpstream([5], elementwise: reduction == .none))
      #expect(identical(scaled.loss.scalars, plain.loss.scalars))
      #expect(identical(scaled.gradient.scalars, plain.gradient.scalars))
    }
  }

  @Test func wrongShapesAreReported() throws {
    let x = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try MultiMarginLoss(reduction: .none).lossAndGradient(
          logits: x, labels: ShapedArray([0, 2]), upstreamGradient: ShapedArray<Float>([1, 2, 3]))
      } == "upstream gradient shape [3] does not match the loss shape [2] of reduction none")
    let labels = [0, 2]
    let upstream: [Float] = [1, 2]
    expectLossErrorWritingNothing(
      .shapeMismatch, "upstream gradient holds 2 elements but the loss of reduction mean holds 1",
      counts: [6, 1]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        try labels.withUnsafeBufferPointer { y in
          try MultiMarginLoss().lossAndGradient(
            overwriting: buffers[0], shape: [2, 3], labels: y, upstreamGradient: u,
            loss: buffers[1])
        }
      }
    }
  }
}
