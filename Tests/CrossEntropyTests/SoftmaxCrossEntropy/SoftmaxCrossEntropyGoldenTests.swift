import Testing

@testable import CrossEntropy

/// Softmax cross-entropy against PyTorch's `F.cross_entropy` (fixtures from
/// `Scripts/make_golden_fixtures.py`): loss and gradient, every public form.
@Suite struct SoftmaxCrossEntropyGoldenTests {
  @Test func labelsFloat() throws { try checkLabels(Float.self) }
  @Test func labelsDouble() throws { try checkLabels(Double.self) }
  @Test func probabilitiesFloat() throws { try checkProbabilities(Float.self) }
  @Test func probabilitiesDouble() throws { try checkProbabilities(Double.self) }

  func criterion(_ fixture: FixtureCase) -> SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: fixture.reduction(), classAxis: fixture.options["classAxis"]!.int!,
      ignoreIndex: fixture.options["ignoreIndex"]!.int!,
      labelSmoothing: fixture.options["labelSmoothing"]?.double ?? 0)
  }

  func checkLabels<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try fixtureCases("softmax_cross_entropy_labels", as: Scalar.self)
    #expect(cases.count > 300)
    for fixture in cases {
      let name = fixture.name
      let criterion = criterion(fixture)
      let logits = fixture.inputs["input"]!.parsed(as: Scalar.self)
      let labels = fixture.inputs["labels"]!.integers
      let weights: [Scalar]? = fixture.inputs["weight"]?.values()
      let expected = fixture.expected(Scalar.self)
      let expectedLoss: [Scalar] = expected["loss"]!.values()
      let expectedGradient: [Scalar] = expected["gradient"]!.values()

      // Arrays.
      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, labels: labels, classWeights: weights)
      #expect(loss.shape == expected["loss"]!.shape, "\(name)")
      #expect(gradient.shape == fixture.inputs["input"]!.shape, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, expectedGradient, "gradient", in: name)
      let lossOnly = try criterion.loss(logits: logits, labels: labels, classWeights: weights)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)

      // Caller-owned buffers, and the gradient written over the logits.
      var bufferLoss = [Scalar](repeating: .nan, count: expectedLoss.count)
      var bufferGradient = [Scalar](repeating: .nan, count: logits.scalars.count)
      var overwritten = logits.scalars
      var overwriteLoss = bufferLoss
      var lossOnlyBuffer = bufferLoss
      try logits.scalars.withUnsafeBufferPointer { x in
        try labels.scalars.withUnsafeBufferPointer { y in
          try withOptionalBuffer(weights) { w in
            try bufferLoss.withUnsafeMutableBufferPointer { l in
              try bufferGradient.withUnsafeMutableBufferPointer { g in
                try criterion.lossAndGradient(
                  logits: x, shape: logits.shape, labels: y, classWeights: w, loss: l, gradient: g)
              }
            }
            try lossOnlyBuffer.withUnsafeMutableBufferPointer { l in
              try criterion.loss(
                logits: x, shape: logits.shape, labels: y, classWeights: w, into: l)
            }
            try overwritten.withUnsafeMutableBufferPointer { g in
              try overwriteLoss.withUnsafeMutableBufferPointer { l in
                try criterion.lossAndGradient(
                  overwriting: g, shape: logits.shape, labels: y, classWeights: w, loss: l)
              }
            }
          }
        }
      }
      expectClose(bufferLoss, expectedLoss, "loss (buffers)", in: name)
      expectClose(bufferGradient, expectedGradient, "gradient (buffers)", in: name)
      expectClose(lossOnlyBuffer, expectedLoss, "loss (loss-only buffer)", in: name)
      expectClose(overwriteLoss, expectedLoss, "loss (overwriting)", in: name)
      expectClose(overwritten, expectedGradient, "gradient (overwriting)", in: name)
    }
  }

  func checkProbabilities<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try fixtureCases("softmax_cross_entropy_probabilities", as: Scalar.self)
    #expect(cases.count > 50)
    for fixture in cases {
      let name = fixture.name
      let criterion = criterion(fixture)
      let logits = fixture.inputs["input"]!.parsed(as: Scalar.self)
      let targets = fixture.inputs["target"]!.parsed(as: Scalar.self)
      let weights: [Scalar]? = fixture.inputs["weight"]?.values()
      let expected = fixture.expected(Scalar.self)
      let expectedLoss: [Scalar] = expected["loss"]!.values()
      let expectedGradient: [Scalar] = expected["gradient"]!.values()

      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, targets: targets, classWeights: weights)
      #expect(loss.shape == expected["loss"]!.shape, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, expectedGradient, "gradient", in: name)
      let lossOnly = try criterion.loss(
        logits: logits, targets: targets, classWeights: weights)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)

      var bufferLoss = [Scalar](repeating: .nan, count: expectedLoss.count)
      var bufferGradient = [Scalar](repeating: .nan, count: logits.scalars.count)
      var lossOnlyBuffer = bufferLoss
      try logits.scalars.withUnsafeBufferPointer { x in
        try targets.scalars.withUnsafeBufferPointer { t in
          try withOptionalBuffer(weights) { w in
            try bufferLoss.withUnsafeMutableBufferPointer { l in
              try bufferGradient.withUnsafeMutableBufferPointer { g in
                try criterion.lossAndGradient(
                  logits: x, shape: logits.shape, targets: t, classWeights: w, loss: l,
                  gradient: g)
              }
            }
            try lossOnlyBuffer.withUnsafeMutableBufferPointer { l in
              try criterion.loss(
                logits: x, shape: logits.shape, targets: t, classWeights: w, into: l)
            }
          }
        }
      }
      expectClose(bufferLoss, expectedLoss, "loss (buffers)", in: name)
      expectClose(bufferGradient, expectedGradient, "gradient (buffers)", in: name)
      expectClose(lossOnlyBuffer, expectedLoss, "loss (loss-only buffer)", in: name)
    }
  }
}
