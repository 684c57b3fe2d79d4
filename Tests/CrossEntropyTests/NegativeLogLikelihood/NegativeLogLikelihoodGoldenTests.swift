import Testing

@testable import CrossEntropy

/// NLL against PyTorch's `F.nll_loss` (fixtures from `Scripts/make_golden_fixtures.py`).
@Suite struct NegativeLogLikelihoodGoldenTests {
  @Test func float() throws { try check(Float.self) }
  @Test func double() throws { try check(Double.self) }

  func check<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try fixtureCases("negative_log_likelihood", as: Scalar.self)
    #expect(cases.count > 100)
    for fixture in cases {
      let name = fixture.name
      let criterion = NegativeLogLikelihood(
        reduction: fixture.reduction(), classAxis: fixture.options["classAxis"]!.int!,
        ignoreIndex: fixture.options["ignoreIndex"]!.int!)
      let input = fixture.inputs["input"]!.parsed(as: Scalar.self)
      let labels = fixture.inputs["labels"]!.integers
      let weights: [Scalar]? = fixture.inputs["weight"]?.values()
      let expected = fixture.expected(Scalar.self)
      let expectedLoss: [Scalar] = expected["loss"]!.values()
      let expectedGradient: [Scalar] = expected["gradient"]!.values()

      let (loss, gradient) = try criterion.lossAndGradient(
        logProbabilities: input, labels: labels, classWeights: weights)
      #expect(loss.shape == expected["loss"]!.shape, "\(name)")
      expectClose(loss.scalars, expectedLoss, "loss", in: name)
      expectClose(gradient.scalars, expectedGradient, "gradient", in: name)
      let lossOnly = try criterion.loss(
        logProbabilities: input, labels: labels, classWeights: weights)
      expectClose(lossOnly.scalars, expectedLoss, "loss (loss only)", in: name)

      var bufferLoss = [Scalar](repeating: .nan, count: expectedLoss.count)
      var bufferGradient = [Scalar](repeating: .nan, count: input.scalars.count)
      try input.scalars.withUnsafeBufferPointer { x in
        try labels.scalars.withUnsafeBufferPointer { y in
          try withOptionalBuffer(weights) { w in
            try bufferLoss.withUnsafeMutableBufferPointer { l in
              try bufferGradient.withUnsafeMutableBufferPointer { g in
                try criterion.lossAndGradient(
                  logProbabilities: x, shape: input.shape, labels: y, classWeights: w, loss: l,
                  gradient: g)
              }
            }
          }
        }
      }
      expectClose(bufferLoss, expectedLoss, "loss (buffers)", in: name)
      expectClose(bufferGradient, expectedGradient, "gradient (buffers)", in: name)
    }
  }
}
