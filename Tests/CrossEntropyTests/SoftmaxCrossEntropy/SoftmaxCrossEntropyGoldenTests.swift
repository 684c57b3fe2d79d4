import Testing

@testable import CrossEntropy

/// Softmax cross-entropy against PyTorch's `F.cross_entropy` (fixtures from
/// `Scripts/make_golden_fixtures.py`): loss and gradient, every public form.
@Suite struct SoftmaxCrossEntropyGoldenTests {
  @Test func labelsFloat() throws { try checkLabels(Float.self) }
  @Test func labelsDouble() throws { try checkLabels(Double.self) }
  @Test func probabilitiesFloat() throws { try checkProbabilities(Float.self) }
  @Test func probabilitiesDouble() throws { try checkProbabilities(Double.self) }

  func criterion(_ fixture: GoldenCase) -> SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: fixture.reductionValue, classAxis: fixture.classAxis!,
      ignoreIndex: fixture.ignoreIndex!, labelSmoothing: fixture.smoothingValue)
  }

  func checkLabels<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try goldenCases("softmax_cross_entropy_labels.json", as: Scalar.self)
    #expect(cases.count > 300)
    for fixture in cases {
      let name = fixture.name
      let criterion = criterion(fixture)
      let logits = try parse(fixture.input, shape: fixture.inputShape, as: Scalar.self)!
      let labels = try ShapedArray(shape: fixture.labelShape!, scalars: fixture.labels!)
      let weights: [Scalar]? = fixture.weight.map { parse($0) }
      let expectedLoss: [Scalar] = parse(fixture.loss!)
      let expectedGradient: [Scalar] = parse(fixture.gradient!)

      // Arrays.
      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, labels: labels, classWeights: weights)
      #expect(loss.shape == fixture.lossShape!, "\(name)")
      #expect(gradient.shape == fixture.inputShape, "\(name)")
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
    let cases = try goldenCases("softmax_cross_entropy_probabilities.json", as: Scalar.self)
    #expect(cases.count > 50)
    for fixture in cases {
      let name = fixture.name
      let criterion = criterion(fixture)
      let logits = try parse(fixture.input, shape: fixture.inputShape, as: Scalar.self)!
      let targets = try parse(fixture.target, shape: fixture.targetShape, as: Scalar.self)!
      let weights: [Scalar]? = fixture.weight.map { parse($0) }
      let expectedLoss: [Scalar] = parse(fixture.loss!)
      let expectedGradient: [Scalar] = parse(fixture.gradient!)

      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, targets: targets, classWeights: weights)
      #expect(loss.shape == fixture.lossShape!, "\(name)")
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
