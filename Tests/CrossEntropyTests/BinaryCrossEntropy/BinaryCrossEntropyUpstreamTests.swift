import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Upstream gradients of binary cross-entropy: PyTorch's `loss.backward(gradient=g)`
// (Fixtures/upstream.json) through the array, buffer and in-place forms, on the fused kernel and
// the reference; an upstream gradient of ones changes nothing; the fused kernel gives the same
// bits on any thread count; wrong shapes are reported before anything is written.
@Suite struct BinaryCrossEntropyUpstreamTests {
  func checkLogits<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("bce_logits", Scalar.self, minimumCases: 10) { c in
      let result = try BinaryCrossEntropy(reduction: c.reduction).lossAndGradient(
        logits: c.input, targets: c.targets, weight: c.array("weight"),
        positiveWeight: c.array("positiveWeight"), upstreamGradient: c.upstreamGradient)
      return ["loss": result.loss, "gradient": result.gradient]
    }
  }

  func checkProbabilities<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("bce_probabilities", Scalar.self, minimumCases: 6) { c in
      let result = try BinaryCrossEntropy(reduction: c.reduction).lossAndGradient(
        probabilities: c.input, targets: c.targets, weight: c.array("weight"),
        upstreamGradient: c.upstreamGradient)
      return ["loss": result.loss, "gradient": result.gradient]
    }
  }

  @Test func logitsMatchPyTorchInDouble() throws { try checkLogits(Double.self) }
  @Test func logitsMatchPyTorchInFloat() throws { try checkLogits(Float.self) }
  @Test func probabilitiesMatchPyTorchInDouble() throws { try checkProbabilities(Double.self) }
  @Test func probabilitiesMatchPyTorchInFloat() throws { try checkProbabilities(Float.self) }

  /// The buffer form with a separate gradient and the in-place form give the array form's bits.
  @Test func bufferFormsMatchTheArrayForm() throws {
    try UpstreamFixtures.check("bce_logits", Float.self, minimumCases: 10) { c in
      let criterion = BinaryCrossEntropy(reduction: c.reduction)
      let expected = try criterion.lossAndGradient(
        logits: c.input, targets: c.targets, weight: c.array("weight"),
        positiveWeight: c.array("positiveWeight"), upstreamGradient: c.upstreamGradient)
      var loss = [Float](repeating: -7, count: expected.loss.scalars.count)
      var gradient = [Float](repeating: -7, count: c.input.scalars.count)
      var inPlace = c.input.scalars
      var inPlaceLoss = loss
      try c.input.scalars.withUnsafeBufferPointer { x in
        try c.targets.scalars.withUnsafeBufferPointer { y in
          try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
            try loss.withUnsafeMutableBufferPointer { l in
              try gradient.withUnsafeMutableBufferPointer { g in
                try criterion.lossAndGradient(
                  logits: x, shape: c.input.shape, targets: y, weight: c.array("weight"),
                  positiveWeight: c.array("positiveWeight"), upstreamGradient: u, loss: l,
                  gradient: g)
              }
            }
            try inPlace.withUnsafeMutableBufferPointer { g in
              try inPlaceLoss.withUnsafeMutableBufferPointer { l in
                try criterion.lossAndGradient(
                  overwriting: g, shape: c.input.shape, targets: y, weight: c.array("weight"),
                  positiveWeight: c.array("positiveWeight"), upstreamGradient: u, loss: l)
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

  /// An upstream gradient of ones gives the plain results bit for bit, on the fused kernel
  /// (no weight, a repeating weight) and the reference (a per-row weight, probabilities).
  @Test(arguments: [Reduction.none, .mean, .sum])
  func onesChangeNothing(reduction: Reduction) throws {
    let shape = [5, 7]
    let logits = try ShapedArray(shape: shape, scalars: randomFloats(35, seed: 4, spread: 4))
    let probabilities = try ShapedArray(
      shape: shape, scalars: randomFloats(35, seed: 5, spread: 0.45, shift: 0.5))
    let targets = try ShapedArray(
      shape: shape, scalars: randomFloats(35, seed: 6, spread: 0.5, shift: 0.5))
    let ones: ShapedArray<Float> = onesUpstream(shape, elementwise: reduction == .none)
    let criterion = BinaryCrossEntropy(reduction: reduction)
    let weights: [ShapedArray<Float>?] = [
      nil, try ShapedArray(shape: [7], scalars: randomFloats(7, seed: 7, spread: 1, shift: 1)),
      try ShapedArray(shape: [5, 1], scalars: randomFloats(5, seed: 8, spread: 1, shift: 1)),
    ]
    for weight in weights {
      let plain = try criterion.lossAndGradient(
        logits: logits, targets: targets, weight: weight, positiveWeight: weight)
      let scaled = try criterion.lossAndGradient(
        logits: logits, targets: targets, weight: weight, positiveWeight: weight,
        upstreamGradient: ones)
      #expect(identical(scaled.loss.scalars, plain.loss.scalars))
      #expect(identical(scaled.gradient.scalars, plain.gradient.scalars))
      let plainP = try criterion.lossAndGradient(
        probabilities: probabilities, targets: targets, weight: weight)
      let scaledP = try criterion.lossAndGradient(
        probabilities: probabilities, targets: targets, weight: weight, upstreamGradient: ones)
      #expect(identical(scaledP.loss.scalars, plainP.loss.scalars))
      #expect(identical(scaledP.gradient.scalars, plainP.gradient.scalars))
    }
  }

  /// The fused kernel with an upstream gradient: the same bits on 1, 2, 3 and 7 threads, over
  /// several summation blocks, and the reference's values.
  @Test(arguments: [Reduction.none, .sum])
  func threadsGiveTheSameBits(reduction: Reduction) throws {
    let shape = [3 * FusedBinaryCrossEntropy.block / 37 + 1, 37]  // past three blocks
    let count = shape[0] * shape[1]
    let logits = randomFloats(count, seed: 11, spread: 6)
    let targets = randomFloats(count, seed: 12, spread: 0.5, shift: 0.5)
    var upstream = randomUpstreamGradient(reduction == .none ? count : 1, seed: 13)
    if reduction == .none { upstream[5] = .nan }
    func run(threads: Int?) -> (loss: [Float], gradient: [Float]) {
      var loss = [Float](repeating: -7, count: reduction == .none ? count : 1)
      var gradient = [Float](repeating: -7, count: count)
      logits.withUnsafeBufferPointer { x in
        targets.withUnsafeBufferPointer { y in
          upstream.withUnsafeBufferPointer { u in
            loss.withUnsafeMutableBufferPointer { l in
              gradient.withUnsafeMutableBufferPointer { g in
                if let threads {
                  Kernels.binaryCrossEntropyWithLogits(
                    logits: x.baseAddress!, targets: y.baseAddress!, shape: shape, count: count,
                    weight: nil, positiveWeight: nil, reduction: reduction,
                    upstream: u.baseAddress!, loss: l, gradient: g.baseAddress!,
                    threads: threads)
                } else {
                  Reference.binaryCrossEntropy(
                    .logits, input: x, targets: y, weight: nil, positiveWeight: nil, shape: shape,
                    reduction: reduction, upstream: u.baseAddress!, loss: l, gradient: g)
                }
              }
            }
          }
        }
      }
      return (loss, gradient)
    }
    let first = run(threads: 1)
    for threads in kernelThreadCounts.dropFirst() {
      let result = run(threads: threads)
      #expect(bitPatterns(result.loss) == bitPatterns(first.loss), "threads \(threads)")
      #expect(bitPatterns(result.gradient) == bitPatterns(first.gradient), "threads \(threads)")
    }
    let reference = run(threads: nil)
    #expect(first.gradient[5].isNaN == (reduction == .none))
    expectClose(
      first.gradient, reference.gradient, relative: 1e-5, absolute: 1e-6,
      "fused vs reference gradient")
  }

  @Test func wrongShapesAreReported() throws {
    let x = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    let y = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 1, 0, 0.5, 1])
    #expect(
      lossErrorMessage {
        _ = try BinaryCrossEntropy(reduction: .none).lossAndGradient(
          logits: x, targets: y,
          upstreamGradient: try ShapedArray(shape: [3, 2], scalars: y.scalars))
      } == "upstream gradient shape [3, 2] does not match the loss shape [2, 3] of reduction none")
    #expect(
      lossErrorMessage {
        _ = try BinaryCrossEntropy().lossAndGradient(
          probabilities: y, targets: y, upstreamGradient: ShapedArray<Float>([1]))
      } == "upstream gradient shape [1] does not match the loss shape [] of reduction mean")
    let upstream: [Float] = [1, 2, 3]
    expectLossErrorWritingNothing(
      .shapeMismatch,
      "upstream gradient holds 3 elements but the loss of reduction none holds 6",
      counts: [6, 6]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        try y.scalars.withUnsafeBufferPointer { t in
          try BinaryCrossEntropy(reduction: .none).lossAndGradient(
            overwriting: buffers[0], shape: [2, 3], targets: t, upstreamGradient: u,
            loss: buffers[1])
        }
      }
    }
  }
}
