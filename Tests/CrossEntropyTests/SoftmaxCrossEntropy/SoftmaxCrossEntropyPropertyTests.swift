import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// Seeded property sweeps of softmax cross-entropy over random ranks, class axes and options.
/// A failure names its seed; `RandomClassProblem(seed:)` replays it.
@Suite struct SoftmaxCrossEntropyPropertyTests {
  static let seeds: Range<UInt64> = 0..<150

  @Test func labelGradientMatchesCentralDifferences() throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Double>(seed: seed)
      let (loss, gradient) = try p.criterion.lossAndGradient(
        logits: p.logits, labels: p.labels, classWeights: p.weights)
      if loss.scalars.contains(where: \.isNaN) {
        // Every label ignored under .mean: 0 / 0 = NaN, and a zero gradient.
        #expect(p.reduction == .mean, "seed \(seed)")
        #expect(p.labels.scalars.allSatisfy { $0 == p.ignoreIndex }, "seed \(seed)")
        #expect(gradient.scalars.allSatisfy { $0 == 0 }, "seed \(seed)")
        continue
      }
      let numeric = try centralDifferences(p.logits.scalars) { x in
        total(
          try p.criterion.loss(
            logits: ShapedArray(shape: p.shape, scalars: x), labels: p.labels,
            classWeights: p.weights))
      }
      expectClose(gradient.scalars, numeric, tolerance: 1e-6, "seed \(seed): label gradient")
    }
  }

  @Test func probabilityGradientMatchesCentralDifferences() throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Double>(seed: seed)
      let criterion = p.probabilityCriterion
      let gradient = try criterion.lossAndGradient(
        logits: p.logits, targets: p.probabilities, classWeights: p.weights
      ).gradient
      let numeric = try centralDifferences(p.logits.scalars) { x in
        total(
          try criterion.loss(
            logits: ShapedArray(shape: p.shape, scalars: x), targets: p.probabilities,
            classWeights: p.weights))
      }
      expectClose(gradient.scalars, numeric, tolerance: 1e-6, "seed \(seed): probability gradient")
    }
  }

  @Test(arguments: [Float(8), 32]) func shiftInvarianceFloat(shift: Float) throws {
    try checkShiftInvariance(shift: shift, tolerance: 2e-5)
  }

  @Test(arguments: [Double(8), 1024]) func shiftInvarianceDouble(shift: Double) throws {
    try checkShiftInvariance(shift: shift, tolerance: 1e-10)
  }

  /// Adding the same constant to every logit of a row changes neither the loss nor the gradient.
  func checkShiftInvariance<Scalar: BinaryFloatingPoint>(shift: Scalar, tolerance: Scalar) throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Scalar>(seed: seed)
      let layout = p.layout
      var shifted = p.logits.scalars
      for r in 0..<layout.rows {
        let rowShift = shift * Scalar(r % 3 + 1)
        for c in 0..<layout.classes {
          shifted[layout.base(ofRow: r) + c * layout.inner] += rowShift
        }
      }
      let moved = try ShapedArray(shape: p.shape, scalars: shifted)
      let plain = try p.criterion.lossAndGradient(
        logits: p.logits, labels: p.labels, classWeights: p.weights)
      let other = try p.criterion.lossAndGradient(
        logits: moved, labels: p.labels, classWeights: p.weights)
      expectClose(
        other.loss.scalars, plain.loss.scalars, tolerance: tolerance, "seed \(seed): loss")
      expectClose(
        other.gradient.scalars, plain.gradient.scalars, tolerance: tolerance,
        "seed \(seed): gradient")
      let soft = p.probabilityCriterion
      let plainSoft = try soft.lossAndGradient(
        logits: p.logits, targets: p.probabilities, classWeights: p.weights)
      let otherSoft = try soft.lossAndGradient(
        logits: moved, targets: p.probabilities, classWeights: p.weights)
      expectClose(
        otherSoft.loss.scalars, plainSoft.loss.scalars, tolerance: tolerance,
        "seed \(seed): soft loss")
      expectClose(
        otherSoft.gradient.scalars, plainSoft.gradient.scalars, tolerance: tolerance,
        "seed \(seed): soft gradient")
    }
  }

  @Test func smoothingZeroIsLogSoftmaxThenNLLFloat() throws { try checkPlain(Float.self, 2e-5) }
  @Test func smoothingZeroIsLogSoftmaxThenNLLDouble() throws { try checkPlain(Double.self, 1e-12) }

  /// With smoothing 0, cross-entropy equals `logSoftmax` followed by NLL (an independent path),
  /// and, for every-row-labelled problems, the loss against one-hot probability targets.
  func checkPlain<Scalar: BinaryFloatingPoint>(_: Scalar.Type, _ tolerance: Scalar) throws {
    for seed in Self.seeds {
      var p = RandomClassProblem<Scalar>(seed: seed)
      p.smoothing = 0
      let fused = try p.criterion.lossAndGradient(
        logits: p.logits, labels: p.labels, classWeights: p.weights)
      let nll = NegativeLogLikelihood(
        reduction: p.reduction, classAxis: p.classAxis, ignoreIndex: p.ignoreIndex)
      let composed = try nll.loss(
        logProbabilities: logSoftmax(p.logits, alongAxis: p.classAxis), labels: p.labels,
        classWeights: p.weights)
      expectClose(fused.loss.scalars, composed.scalars, tolerance: tolerance, "seed \(seed): loss")

      // One-hot targets: the same loss and gradient where no label is ignored (and, for .mean,
      // without weights, since probability targets divide by the row count).
      guard !p.labels.scalars.contains(p.ignoreIndex), p.reduction != .mean || p.weights == nil
      else { continue }
      let layout = p.layout
      var oneHot = [Scalar](repeating: 0, count: layout.count)
      for (r, label) in p.labels.scalars.enumerated() {
        oneHot[layout.base(ofRow: r) + label * layout.inner] = 1
      }
      let soft = try p.probabilityCriterion.lossAndGradient(
        logits: p.logits, targets: ShapedArray(shape: p.shape, scalars: oneHot),
        classWeights: p.weights)
      expectClose(
        soft.loss.scalars, fused.loss.scalars, tolerance: tolerance, "seed \(seed): one-hot loss")
      expectClose(
        soft.gradient.scalars, fused.gradient.scalars, tolerance: tolerance,
        "seed \(seed): one-hot gradient")
    }
  }

  @Test func lossIsNonNegativeFloat() throws { try checkNonNegative(Float.self) }
  @Test func lossIsNonNegativeDouble() throws { try checkNonNegative(Double.self) }

  func checkNonNegative<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for seed in Self.seeds {
      var p = RandomClassProblem<Scalar>(seed: seed, scale: 30)
      p.reduction = .none
      let hard = try p.criterion.loss(logits: p.logits, labels: p.labels, classWeights: p.weights)
      let soft = try p.probabilityCriterion.loss(
        logits: p.logits, targets: p.probabilities, classWeights: p.weights)
      for value in hard.scalars + soft.scalars {
        #expect(value >= 0, "seed \(seed): loss \(value) is negative")
      }
    }
  }

  @Test func bufferFormsEqualArrayFormsFloat() throws { try checkBufferForms(Float.self) }
  @Test func bufferFormsEqualArrayFormsDouble() throws { try checkBufferForms(Double.self) }

  /// The caller-buffer forms and the in-place (`overwriting:`) form give the array form's numbers.
  func checkBufferForms<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Scalar>(seed: seed)
      let criterion = p.criterion
      let expected = try criterion.lossAndGradient(
        logits: p.logits, labels: p.labels, classWeights: p.weights)
      let expectedSoft = try p.probabilityCriterion.lossAndGradient(
        logits: p.logits, targets: p.probabilities, classWeights: p.weights)
      let lossCount = expected.loss.scalars.count
      var loss = [Scalar](repeating: .nan, count: lossCount)
      var lossOnly = loss
      var inPlaceLoss = loss
      var softLoss = loss
      var softLossOnly = loss
      var gradient = [Scalar](repeating: .nan, count: p.logits.scalars.count)
      var softGradient = gradient
      var inPlace = p.logits.scalars
      try p.logits.scalars.withUnsafeBufferPointer { x in
        try p.labels.scalars.withUnsafeBufferPointer { y in
          try p.probabilities.scalars.withUnsafeBufferPointer { t in
            try withOptionalBuffer(p.weights) { w in
              try loss.withUnsafeMutableBufferPointer { l in
                try gradient.withUnsafeMutableBufferPointer { g in
                  try criterion.lossAndGradient(
                    logits: x, shape: p.shape, labels: y, classWeights: w, loss: l, gradient: g)
                }
              }
              try lossOnly.withUnsafeMutableBufferPointer { l in
                try criterion.loss(logits: x, shape: p.shape, labels: y, classWeights: w, into: l)
              }
              try inPlace.withUnsafeMutableBufferPointer { g in
                try inPlaceLoss.withUnsafeMutableBufferPointer { l in
                  try criterion.lossAndGradient(
                    overwriting: g, shape: p.shape, labels: y, classWeights: w, loss: l)
                }
              }
              let soft = p.probabilityCriterion
              try softLoss.withUnsafeMutableBufferPointer { l in
                try softGradient.withUnsafeMutableBufferPointer { g in
                  try soft.lossAndGradient(
                    logits: x, shape: p.shape, targets: t, classWeights: w, loss: l,
                    gradient: g)
                }
              }
              try softLossOnly.withUnsafeMutableBufferPointer { l in
                try soft.loss(
                  logits: x, shape: p.shape, targets: t, classWeights: w, into: l)
              }
            }
          }
        }
      }
      let tolerance = Scalar.relativeTolerance
      let l = expected.loss.scalars
      let g = expected.gradient.scalars
      expectClose(loss, l, tolerance: tolerance, "seed \(seed): buffer loss")
      expectClose(gradient, g, tolerance: tolerance, "seed \(seed): buffer gradient")
      expectClose(lossOnly, l, tolerance: tolerance, "seed \(seed): loss-only buffer")
      expectClose(inPlaceLoss, l, tolerance: tolerance, "seed \(seed): in-place loss")
      expectClose(inPlace, g, tolerance: tolerance, "seed \(seed): in-place gradient")
      let sl = expectedSoft.loss.scalars
      expectClose(softLoss, sl, tolerance: tolerance, "seed \(seed): soft buffer loss")
      expectClose(
        softGradient, expectedSoft.gradient.scalars, tolerance: tolerance,
        "seed \(seed): soft buffer gradient")
      expectClose(softLossOnly, sl, tolerance: tolerance, "seed \(seed): soft loss-only buffer")
    }
  }
}
