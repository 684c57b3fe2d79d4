import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Upstream gradients of CTC: PyTorch's `loss.backward(gradient=g)` (Fixtures/upstream.json:
// log-probabilities and logits, both blanks, zero_infinity with an impossible sample whose NaN
// upstream value leaves its gradient 0), the buffer forms, ones changing nothing, the same bits
// on any thread count, and the shape errors.
@Suite struct CTCUpstreamTests {
  func criterion<Scalar: GoldenScalar>(_ c: UpstreamCase<Scalar>) -> CTCLoss {
    CTCLoss(
      blank: Int(c.option("blank")), reduction: c.reduction, zeroInfinity: c.flag("zeroInfinity"))
  }

  func run<Scalar: GoldenScalar>(_ c: UpstreamCase<Scalar>) throws -> (
    loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>
  ) {
    let inputLengths = c.integers("inputLengths")!.scalars
    let labelLengths = c.integers("labelLengths")!.scalars
    if c.fixture.options["loss"]?.string == "ctc_logits" {
      return try criterion(c).lossAndGradient(
        logits: c.input, labels: c.labels, inputLengths: inputLengths, labelLengths: labelLengths,
        upstreamGradient: c.upstreamGradient)
    }
    return try criterion(c).lossAndGradient(
      logProbabilities: c.input, labels: c.labels, inputLengths: inputLengths,
      labelLengths: labelLengths, upstreamGradient: c.upstreamGradient)
  }

  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    for loss in ["ctc", "ctc_logits"] {
      try UpstreamFixtures.check(loss, Scalar.self, minimumCases: 4) { c in
        let result = try run(c)
        return ["loss": result.loss, "gradient": result.gradient]
      }
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test func bufferFormsMatchTheArrayForm() throws {
    try UpstreamFixtures.check("ctc_logits", Float.self, minimumCases: 4) { c in
      let expected = try run(c)
      var loss = [Float](repeating: 7, count: expected.loss.scalars.count)
      var inPlace = c.input.scalars
      try c.labels.scalars.withUnsafeBufferPointer { y in
        try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
          try inPlace.withUnsafeMutableBufferPointer { g in
            try loss.withUnsafeMutableBufferPointer { l in
              try criterion(c).lossAndGradient(
                overwritingLogits: g, shape: c.input.shape, labels: y, labelShape: c.labels.shape,
                inputLengths: c.integers("inputLengths")!.scalars,
                labelLengths: c.integers("labelLengths")!.scalars, upstreamGradient: u, loss: l)
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars))
      #expect(identical(inPlace, expected.gradient.scalars))
      return ["loss": expected.loss, "gradient": expected.gradient]
    }
  }

  /// A problem large enough for the threads: 16 samples of 40 steps.
  struct Problem {
    let shape = [40, 16, 6]
    let logits = randomFloats(40 * 16 * 6, seed: 51, spread: 2)
    let labels = try! ShapedArray(
      shape: [16, 8], scalars: randomLabels(128, classes: 5, seed: 52).map { $0 + 1 })
    let inputLengths = (0..<16).map { 40 - $0 }
    let labelLengths = (0..<16).map { 8 - $0 % 4 }
  }

  @Test(arguments: [Reduction.none, .mean, .sum])
  func onesChangeNothing(reduction: Reduction) throws {
    let p = Problem()
    let x = try ShapedArray(shape: p.shape, scalars: p.logits)
    let criterion = CTCLoss(reduction: reduction)
    let plain = try criterion.lossAndGradient(
      logits: x, labels: p.labels, inputLengths: p.inputLengths, labelLengths: p.labelLengths)
    let scaled = try criterion.lossAndGradient(
      logits: x, labels: p.labels, inputLengths: p.inputLengths, labelLengths: p.labelLengths,
      upstreamGradient: onesUpstream([16], elementwise: reduction == .none))
    #expect(identical(scaled.loss.scalars, plain.loss.scalars))
    #expect(identical(scaled.gradient.scalars, plain.gradient.scalars))
  }

  @Test func threadsGiveTheSameBits() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let p = Problem()
    let x = try ShapedArray(shape: p.shape, scalars: p.logits)
    let upstream = try ShapedArray(shape: [16], scalars: randomUpstreamGradient(16, seed: 53))
    var first: (loss: ShapedArray<Float>, gradient: ShapedArray<Float>)? = nil
    for threads in kernelThreadCounts {
      Parallelism.maximumThreadCount = threads
      let result = try CTCLoss(reduction: .none).lossAndGradient(
        logits: x, labels: p.labels, inputLengths: p.inputLengths, labelLengths: p.labelLengths,
        upstreamGradient: upstream)
      if let first {
        #expect(bitPatterns(result.loss.scalars) == bitPatterns(first.loss.scalars))
        #expect(bitPatterns(result.gradient.scalars) == bitPatterns(first.gradient.scalars))
      } else {
        first = result
      }
    }
  }

  @Test func wrongShapesAreReported() throws {
    let x = try ShapedArray<Float>(
      shape: [3, 2, 3], scalars: randomFloats(18, seed: 54, spread: 1))
    let labels = try ShapedArray(shape: [2, 1], scalars: [1, 2])
    #expect(
      lossErrorMessage {
        _ = try CTCLoss(reduction: .none).lossAndGradient(
          logits: x, labels: labels, inputLengths: [3, 3], labelLengths: [1, 1],
          upstreamGradient: ShapedArray<Float>([1, 2, 3]))
      } == "upstream gradient shape [3] does not match the loss shape [2] of reduction none")
    let upstream: [Float] = [1, 2]
    expectLossErrorWritingNothing(
      .shapeMismatch, "upstream gradient holds 2 elements but the loss of reduction mean holds 1",
      counts: [18, 1]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        try labels.scalars.withUnsafeBufferPointer { y in
          try CTCLoss().lossAndGradient(
            overwritingLogProbabilities: buffers[0], shape: [3, 2, 3], labels: y,
            labelShape: [2, 1], inputLengths: [3, 3], labelLengths: [1, 1], upstreamGradient: u,
            loss: buffers[1])
        }
      }
    }
  }
}
