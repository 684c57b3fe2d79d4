import Testing

@testable import CrossEntropy

/// The caller-buffer forms of ``CLIPLoss``: bit for bit the array forms' numbers (gradients
/// into separate buffers and over the embeddings themselves), every error with its message,
/// nothing written on error.
@Suite struct CLIPLossBufferFormTests {
  @Test(arguments: [true, false])
  func buffersMatchArrays(normalizes: Bool) throws {
    try check(Float.self, normalizes: normalizes)
    try check(Double.self, normalizes: normalizes)
  }

  func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, normalizes: Bool) throws {
    let clip = CLIPLoss(normalizesEmbeddings: normalizes)
    let shape = [3, 4]
    let image = spreadValues(12, seed: 1, scale: 1).map { Scalar($0) }
    let text = spreadValues(12, seed: 4, scale: 1).map { Scalar($0) }
    let scale: Scalar = 2.5
    let expected = try clip.lossAndGradient(
      imageEmbeddings: ShapedArray(shape: shape, scalars: image),
      textEmbeddings: ShapedArray(shape: shape, scalars: text), logitScale: scale)
    let what = "\(Scalar.self) normalizes \(normalizes)"
    let loss = try image.withUnsafeBufferPointer { a in
      try text.withUnsafeBufferPointer { b in
        try clip.loss(imageEmbeddings: a, shape: shape, textEmbeddings: b, logitScale: scale)
      }
    }
    #expect(identical([loss], [expected.loss]), "loss \(what)")

    var imageGradient = [Scalar](repeating: .nan, count: 12)
    var textGradient = [Scalar](repeating: .nan, count: 12)
    let separate = try image.withUnsafeBufferPointer { a in
      try text.withUnsafeBufferPointer { b in
        try imageGradient.withUnsafeMutableBufferPointer { ga in
          try textGradient.withUnsafeMutableBufferPointer { gb in
            try clip.lossAndGradient(
              imageEmbeddings: a, shape: shape, textEmbeddings: b, logitScale: scale,
              imageGradient: ga, textGradient: gb)
          }
        }
      }
    }
    #expect(identical([separate.loss], [expected.loss]), "separate \(what)")
    #expect(identical([separate.logitScaleGradient], [expected.logitScaleGradient]), "\(what)")
    #expect(identical(imageGradient, expected.imageGradient.scalars), "image \(what)")
    #expect(identical(textGradient, expected.textGradient.scalars), "text \(what)")

    // Each gradient over its own embeddings.
    var a = image
    var b = text
    let inPlace = try a.withUnsafeMutableBufferPointer { a in
      try b.withUnsafeMutableBufferPointer { b in
        try clip.lossAndGradient(
          imageEmbeddings: UnsafeBufferPointer(a), shape: shape,
          textEmbeddings: UnsafeBufferPointer(b), logitScale: scale, imageGradient: a,
          textGradient: b)
      }
    }
    #expect(identical([inPlace.loss], [expected.loss]), "in place \(what)")
    #expect(identical(a, expected.imageGradient.scalars), "in place image \(what)")
    #expect(identical(b, expected.textGradient.scalars), "in place text \(what)")
  }

  @Test func errorsWriteNothing() {
    let clip = CLIPLoss()
    func run(_ b: [UnsafeMutableBufferPointer<Float>], shape: [Int]) throws {
      _ = try clip.lossAndGradient(
        imageEmbeddings: UnsafeBufferPointer(b[0]), shape: shape,
        textEmbeddings: UnsafeBufferPointer(b[1]), logitScale: 1, imageGradient: b[2],
        textGradient: b[3])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "image embeddings shape [0, 4] is not an N × D matrix with N >= 1",
      counts: [0, 0, 0, 0]
    ) { try run($0, shape: [0, 4]) }
    expectLossErrorWritingNothing(
      .shapeMismatch, "image embeddings holds 7 elements but the embeddings shape [2, 4] holds 8",
      counts: [7, 8, 8, 8]
    ) { try run($0, shape: [2, 4]) }
    expectLossErrorWritingNothing(
      .shapeMismatch, "text embeddings holds 9 elements but the embeddings shape [2, 4] holds 8",
      counts: [8, 9, 8, 8]
    ) { try run($0, shape: [2, 4]) }
    expectLossErrorWritingNothing(
      .shapeMismatch, "image gradient holds 6 elements but the embeddings shape [2, 4] holds 8",
      counts: [8, 8, 6, 8]
    ) { try run($0, shape: [2, 4]) }
    expectLossErrorWritingNothing(
      .shapeMismatch, "text gradient holds 0 elements but the embeddings shape [2, 4] holds 8",
      counts: [8, 8, 8, 0]
    ) { try run($0, shape: [2, 4]) }
    expectLossErrorWritingNothing(
      .shapeMismatch, "image embeddings holds 7 elements but the embeddings shape [2, 4] holds 8",
      counts: [7, 8]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      _ = try clip.loss(
        imageEmbeddings: UnsafeBufferPointer(b[0]), shape: [2, 4],
        textEmbeddings: UnsafeBufferPointer(b[1]), logitScale: 1)
    }
  }
}
