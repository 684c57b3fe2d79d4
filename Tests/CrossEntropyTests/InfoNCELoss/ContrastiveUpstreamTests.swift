import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Upstream gradients of InfoNCE (every reduction; the temperature's derivative too) and CLIP
// (one value): PyTorch's `loss.backward(gradient=g)` (Fixtures/upstream.json), the buffer forms,
// ones changing nothing, and the shape errors.
@Suite struct ContrastiveUpstreamTests {
  func checkInfoNCE<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("infonce", Scalar.self, minimumCases: 6) { c in
      let criterion = InfoNCELoss(
        temperature: Double(c.array("temperature")!.scalars[0]), reduction: c.reduction)
      let result = try criterion.lossAndGradient(
        similarities: c.input, upstreamGradient: c.upstreamGradient)
      return [
        "loss": result.loss, "gradient": result.gradient,
        "temperatureGradient": try ShapedArray(shape: [], scalars: [result.temperatureGradient]),
      ]
    }
  }

  func checkCLIP<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("clip", Scalar.self, minimumCases: 2) { c in
      let result = try CLIPLoss(normalizesEmbeddings: c.flag("normalize")).lossAndGradient(
        imageEmbeddings: c.input, textEmbeddings: c.array("textEmbeddings")!,
        logitScale: c.array("logitScale")!.scalars[0],
        upstreamGradient: c.upstreamGradient.scalars[0])
      return [
        "loss": try ShapedArray(shape: [], scalars: [result.loss]),
        "gradient": result.imageGradient, "textGradient": result.textGradient,
        "logitScaleGradient": try ShapedArray(shape: [], scalars: [result.logitScaleGradient]),
      ]
    }
  }

  @Test func infoNCEMatchesPyTorchInDouble() throws { try checkInfoNCE(Double.self) }
  @Test func infoNCEMatchesPyTorchInFloat() throws { try checkInfoNCE(Float.self) }
  @Test func clipMatchesPyTorchInDouble() throws { try checkCLIP(Double.self) }
  @Test func clipMatchesPyTorchInFloat() throws { try checkCLIP(Float.self) }

  @Test func bufferFormsMatchTheArrayForm() throws {
    try UpstreamFixtures.check("infonce", Float.self, minimumCases: 6) { c in
      let criterion = InfoNCELoss(
        temperature: Double(c.array("temperature")!.scalars[0]), reduction: c.reduction)
      let expected = try criterion.lossAndGradient(
        similarities: c.input, upstreamGradient: c.upstreamGradient)
      var loss = [Float](repeating: 7, count: expected.loss.scalars.count)
      var inPlace = c.input.scalars
      let temperatureGradient = try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
        try inPlace.withUnsafeMutableBufferPointer { g in
          try loss.withUnsafeMutableBufferPointer { l in
            try criterion.lossAndGradient(
              overwriting: g, shape: c.input.shape, upstreamGradient: u, loss: l)
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars))
      #expect(identical(inPlace, expected.gradient.scalars))
      #expect(identical([temperatureGradient], [expected.temperatureGradient]))
      return ["loss": expected.loss, "gradient": expected.gradient]
    }
    try UpstreamFixtures.check("clip", Float.self, minimumCases: 2) { c in
      let criterion = CLIPLoss(normalizesEmbeddings: c.flag("normalize"))
      let scale = c.array("logitScale")!.scalars[0]
      let g = c.upstreamGradient.scalars[0]
      let text = c.array("textEmbeddings")!
      let expected = try criterion.lossAndGradient(
        imageEmbeddings: c.input, textEmbeddings: text, logitScale: scale, upstreamGradient: g)
      var imageGradient = [Float](repeating: 7, count: c.input.scalars.count)
      var textGradient = imageGradient
      let result = try c.input.scalars.withUnsafeBufferPointer { a in
        try text.scalars.withUnsafeBufferPointer { b in
          try imageGradient.withUnsafeMutableBufferPointer { da in
            try textGradient.withUnsafeMutableBufferPointer { db in
              try criterion.lossAndGradient(
                imageEmbeddings: a, shape: c.input.shape, textEmbeddings: b, logitScale: scale,
                upstreamGradient: g, imageGradient: da, textGradient: db)
            }
          }
        }
      }
      #expect(
        identical(
          [result.loss, result.logitScaleGradient], [expected.loss, expected.logitScaleGradient]))
      #expect(identical(imageGradient, expected.imageGradient.scalars))
      #expect(identical(textGradient, expected.textGradient.scalars))
      return ["gradient": expected.imageGradient]
    }
  }

  @Test(arguments: [Reduction.none, .mean, .sum])
  func onesChangeNothing(reduction: Reduction) throws {
    let s = try ShapedArray(shape: [4, 6], scalars: randomFloats(24, seed: 61, spread: 1))
    let criterion = InfoNCELoss(temperature: 0.2, reduction: reduction)
    let plain = try criterion.lossAndGradient(similarities: s)
    let scaled = try criterion.lossAndGradient(
      similarities: s, upstreamGradient: onesUpstream([4], elementwise: reduction == .none))
    #expect(identical(scaled.loss.scalars, plain.loss.scalars))
    #expect(identical(scaled.gradient.scalars, plain.gradient.scalars))
    #expect(identical([scaled.temperatureGradient], [plain.temperatureGradient]))
    let a = try ShapedArray(shape: [3, 4], scalars: randomFloats(12, seed: 62, spread: 1))
    let b = try ShapedArray(shape: [3, 4], scalars: randomFloats(12, seed: 63, spread: 1))
    let clipPlain = try CLIPLoss().lossAndGradient(
      imageEmbeddings: a, textEmbeddings: b, logitScale: 2)
    let clipScaled = try CLIPLoss().lossAndGradient(
      imageEmbeddings: a, textEmbeddings: b, logitScale: 2, upstreamGradient: 1)
    #expect(
      identical(
        [clipScaled.loss, clipScaled.logitScaleGradient],
        [clipPlain.loss, clipPlain.logitScaleGradient]))
    #expect(identical(clipScaled.imageGradient.scalars, clipPlain.imageGradient.scalars))
    #expect(identical(clipScaled.textGradient.scalars, clipPlain.textGradient.scalars))
  }

  @Test func wrongShapesAreReported() throws {
    let s = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 0.5, 0.2, 0.9, 0.1])
    #expect(
      lossErrorMessage {
        _ = try InfoNCELoss(temperature: 0.5, reduction: .none).lossAndGradient(
          similarities: s, upstreamGradient: ShapedArray<Float>([1, 2, 3]))
      } == "upstream gradient shape [3] does not match the loss shape [2] of reduction none")
    let upstream: [Float] = [1, 2]
    expectLossErrorWritingNothing(
      .shapeMismatch, "upstream gradient holds 2 elements but the loss of reduction mean holds 1",
      counts: [6, 1]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        _ = try InfoNCELoss(temperature: 0.5).lossAndGradient(
          overwriting: buffers[0], shape: [2, 3], upstreamGradient: u, loss: buffers[1])
      }
    }
  }
}
