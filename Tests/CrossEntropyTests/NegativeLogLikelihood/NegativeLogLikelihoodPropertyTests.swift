import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// Seeded property sweeps of NLL; a failure names its seed.
@Suite struct NegativeLogLikelihoodPropertyTests {
  static let seeds: Range<UInt64> = 0..<150

  @Test func gradientMatchesCentralDifferences() throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Double>(seed: seed)
      let criterion = NegativeLogLikelihood(
        reduction: p.reduction, classAxis: p.classAxis, ignoreIndex: p.ignoreIndex)
      let input = try logSoftmax(p.logits, alongAxis: p.classAxis)
      let (loss, gradient) = try criterion.lossAndGradient(
        logProbabilities: input, labels: p.labels, classWeights: p.weights)
      if loss.scalars.contains(where: \.isNaN) {
        #expect(p.labels.scalars.allSatisfy { $0 == p.ignoreIndex }, "seed \(seed)")
        #expect(gradient.scalars.allSatisfy { $0 == 0 }, "seed \(seed)")
        continue
      }
      let numeric = try centralDifferences(input.scalars) { x in
        total(
          try criterion.loss(
            logProbabilities: ShapedArray(shape: p.shape, scalars: x), labels: p.labels,
            classWeights: p.weights))
      }
      expectClose(gradient.scalars, numeric, tolerance: 1e-6, "seed \(seed): gradient")
    }
  }

  @Test func bufferFormEqualsArrayFormFloat() throws { try checkBufferForm(Float.self) }
  @Test func bufferFormEqualsArrayFormDouble() throws { try checkBufferForm(Double.self) }

  func checkBufferForm<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Scalar>(seed: seed)
      let criterion = NegativeLogLikelihood(
        reduction: p.reduction, classAxis: p.classAxis, ignoreIndex: p.ignoreIndex)
      let expected = try criterion.lossAndGradient(
        logProbabilities: p.logits, labels: p.labels, classWeights: p.weights)
      var loss = [Scalar](repeating: .nan, count: expected.loss.scalars.count)
      var lossOnly = loss
      var gradient = [Scalar](repeating: .nan, count: p.logits.scalars.count)
      var inPlace = p.logits.scalars
      var inPlaceLoss = loss
      try p.logits.scalars.withUnsafeBufferPointer { x in
        try p.labels.scalars.withUnsafeBufferPointer { y in
          try withOptionalBuffer(p.weights) { w in
            try loss.withUnsafeMutableBufferPointer { l in
              try gradient.withUnsafeMutableBufferPointer { g in
                try criterion.lossAndGradient(
                  logProbabilities: x, shape: p.shape, labels: y, classWeights: w, loss: l,
                  gradient: g)
              }
            }
            try lossOnly.withUnsafeMutableBufferPointer { l in
              try criterion.lossAndGradient(
                logProbabilities: x, shape: p.shape, labels: y, classWeights: w, loss: l)
            }
          }
        }
      }
      // The gradient may be written over the input itself.
      try inPlace.withUnsafeMutableBufferPointer { g in
        try p.labels.scalars.withUnsafeBufferPointer { y in
          try withOptionalBuffer(p.weights) { w in
            try inPlaceLoss.withUnsafeMutableBufferPointer { l in
              try criterion.lossAndGradient(
                logProbabilities: UnsafeBufferPointer(g), shape: p.shape, labels: y,
                classWeights: w, loss: l, gradient: g)
            }
          }
        }
      }
      let tolerance = Scalar.relativeTolerance
      expectClose(loss, expected.loss.scalars, tolerance: tolerance, "seed \(seed): buffer loss")
      expectClose(lossOnly, expected.loss.scalars, tolerance: tolerance, "seed \(seed): loss only")
      expectClose(
        gradient, expected.gradient.scalars, tolerance: tolerance, "seed \(seed): buffer gradient")
      expectClose(
        inPlaceLoss, expected.loss.scalars, tolerance: tolerance, "seed \(seed): in-place loss")
      expectClose(
        inPlace, expected.gradient.scalars, tolerance: tolerance, "seed \(seed): in-place gradient")
    }
  }
}
