import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Upstream gradients of the KL divergence and the MSE (both elementwise, through the same
// driver): PyTorch's `loss.backward(gradient=g)` (Fixtures/upstream.json) with and without
// broadcasting, through the array, buffer and in-place forms; ones change nothing; wrong shapes
// are reported before anything is written.
@Suite struct ElementwiseUpstreamTests {
  func checkKL<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("kl", Scalar.self, minimumCases: 9) { c in
      let criterion = KLDivergence(
        reduction: KLDivergence.Reduction(rawValue: c.reductionName)!,
        logTarget: c.flag("logTarget"))
      let result = try criterion.lossAndGradient(
        logProbabilities: c.input, targets: c.targets, upstreamGradient: c.upstreamGradient)
      return ["loss": result.loss, "gradient": result.gradient]
    }
  }

  func checkMSE<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("mse", Scalar.self, minimumCases: 7) { c in
      let result = try MeanSquaredError(reduction: c.reduction).lossAndGradient(
        predictions: c.input, targets: c.targets, upstreamGradient: c.upstreamGradient)
      return ["loss": result.loss, "gradient": result.gradient]
    }
  }

  @Test func klMatchesPyTorchInDouble() throws { try checkKL(Double.self) }
  @Test func klMatchesPyTorchInFloat() throws { try checkKL(Float.self) }
  @Test func mseMatchesPyTorchInDouble() throws { try checkMSE(Double.self) }
  @Test func mseMatchesPyTorchInFloat() throws { try checkMSE(Float.self) }

  /// The buffer forms (same shapes only) give the array form's bits.
  @Test func bufferFormsMatchTheArrayForm() throws {
    try UpstreamFixtures.check("kl", Double.self, minimumCases: 9) { c in
      let criterion = KLDivergence(
        reduction: KLDivergence.Reduction(rawValue: c.reductionName)!,
        logTarget: c.flag("logTarget"))
      let expected = try criterion.lossAndGradient(
        logProbabilities: c.input, targets: c.targets, upstreamGradient: c.upstreamGradient)
      guard c.input.shape == c.targets.shape else {
        return ["loss": expected.loss, "gradient": expected.gradient]
      }
      var loss = [Double](repeating: 7, count: expected.loss.scalars.count)
      var gradient = c.input.scalars
      try c.targets.scalars.withUnsafeBufferPointer { t in
        try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
          try gradient.withUnsafeMutableBufferPointer { g in
            try loss.withUnsafeMutableBufferPointer { l in
              try criterion.lossAndGradient(
                overwriting: g, shape: c.input.shape, targets: t, upstreamGradient: u, loss: l)
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars))
      #expect(identical(gradient, expected.gradient.scalars))
      return ["loss": expected.loss, "gradient": expected.gradient]
    }
    try UpstreamFixtures.check("mse", Float.self, minimumCases: 7) { c in
      let criterion = MeanSquaredError(reduction: c.reduction)
      let expected = try criterion.lossAndGradient(
        predictions: c.input, targets: c.targets, upstreamGradient: c.upstreamGradient)
      guard c.input.shape == c.targets.shape else {
        return ["loss": expected.loss, "gradient": expected.gradient]
      }
      var loss = [Float](repeating: 7, count: expected.loss.scalars.count)
      var gradient = [Float](repeating: 7, count: c.input.scalars.count)
      try c.input.scalars.withUnsafeBufferPointer { x in
        try c.targets.scalars.withUnsafeBufferPointer { t in
          try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
            try gradient.withUnsafeMutableBufferPointer { g in
              try loss.withUnsafeMutableBufferPointer { l in
                try criterion.lossAndGradient(
                  predictions: x, shape: c.input.shape, targets: t, upstreamGradient: u, loss: l,
                  gradient: g)
              }
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars))
      #expect(identical(gradient, expected.gradient.scalars))
      return ["loss": expected.loss, "gradient": expected.gradient]
    }
  }

  /// An upstream gradient of ones gives the plain results bit for bit, broadcast or not.
  @Test(arguments: KLDivergence.Reduction.allCases)
  func onesChangeNothing(reduction: KLDivergence.Reduction) throws {
    let x = try ShapedArray(shape: [3, 4], scalars: randomFloats(12, seed: 21, spread: 2))
    let t = try ShapedArray(
      shape: [3, 4], scalars: randomFloats(12, seed: 22, spread: 0.5, shift: 0.5))
    let row = try ShapedArray(shape: [1, 4], scalars: randomFloats(4, seed: 23, spread: 2))
    let kl = KLDivergence(reduction: reduction)
    let mse = MeanSquaredError(
      reduction: reduction == .batchmean ? .mean : Reduction(rawValue: reduction.rawValue)!)
    for input in [x, row] {
      let ones: ShapedArray<Float> = onesUpstream([3, 4], elementwise: reduction == .none)
      let plain = try kl.lossAndGradient(logProbabilities: input, targets: t)
      let scaled = try kl.lossAndGradient(
        logProbabilities: input, targets: t, upstreamGradient: ones)
      #expect(identical(scaled.loss.scalars, plain.loss.scalars))
      #expect(identical(scaled.gradient.scalars, plain.gradient.scalars))
      let plainM = try mse.lossAndGradient(predictions: input, targets: t)
      let scaledM = try mse.lossAndGradient(
        predictions: input, targets: t,
        upstreamGradient: onesUpstream([3, 4], elementwise: mse.reduction == .none))
      #expect(identical(scaledM.loss.scalars, plainM.loss.scalars))
      #expect(identical(scaledM.gradient.scalars, plainM.gradient.scalars))
    }
  }

  @Test func wrongShapesAreReported() throws {
    let x = try ShapedArray<Float>(shape: [1, 3], scalars: [0, 1, 2])
    let t = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 1, 0, 0.5, 1])
    #expect(
      lossErrorMessage {
        _ = try KLDivergence(reduction: .none).lossAndGradient(
          logProbabilities: x, targets: t, upstreamGradient: x)
      } == "upstream gradient shape [1, 3] does not match the loss shape [2, 3] of reduction none")
    #expect(
      lossErrorMessage {
        _ = try MeanSquaredError(reduction: .sum).lossAndGradient(
          predictions: t, targets: t, upstreamGradient: x)
      } == "upstream gradient shape [1, 3] does not match the loss shape [] of reduction sum")
    let upstream: [Float] = [1, 2]
    expectLossErrorWritingNothing(
      .shapeMismatch,
      "upstream gradient holds 2 elements but the loss of reduction batchmean holds 1",
      counts: [6, 1]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        try t.scalars.withUnsafeBufferPointer { y in
          try KLDivergence(reduction: .batchmean).lossAndGradient(
            overwriting: buffers[0], shape: [2, 3], targets: y, upstreamGradient: u,
            loss: buffers[1])
        }
      }
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "upstream gradient holds 2 elements but the loss of reduction none holds 6",
      counts: [6, 6]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        try t.scalars.withUnsafeBufferPointer { y in
          try MeanSquaredError(reduction: .none).lossAndGradient(
            predictions: y, shape: [2, 3], targets: y, upstreamGradient: u, loss: buffers[0],
            gradient: buffers[1])
        }
      }
    }
  }
}
