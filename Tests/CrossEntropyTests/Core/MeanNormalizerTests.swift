import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The `normalizer` of NLL, softmax focal and Poly-1: `.mean` becomes the `.sum` divided by
/// it, loss and gradient, with and without sample weights; an invalid one throws.
@Suite struct MeanNormalizerTests {
  static let normalizer = 2.5

  /// One loss with a reduction and a normaliser: `(loss, gradient)`.
  typealias Evaluation = (Reduction, Double?) throws -> (loss: [Double], gradient: [Double])

  static let values: [Double] = {
    var generator = SeededGenerator(seed: 11)
    return generator.normals(6 * 5, scale: 2).map { Double(Float($0)) }
  }()
  static let labels = [0, -100, 4, 2, -100, 1]
  static let sampleWeights: [Double] = [0.5, 2, 1.5, 1, 3, 0.25]

  func expectSumOverNormalizer(_ evaluate: Evaluation, tolerance: Double, _ what: String) throws {
    let mean = try evaluate(.mean, Self.normalizer)
    let sum = try evaluate(.sum, nil)
    expectClose(
      mean.loss, sum.loss.map { $0 / Self.normalizer }, relative: tolerance, absolute: 0,
      "\(what): loss")
    expectClose(
      mean.gradient, sum.gradient.map { $0 / Self.normalizer }, relative: tolerance,
      absolute: tolerance / 10, "\(what): gradient")
  }

  @Test func meanIsSumOverNormalizer() throws {
    let logits = try ShapedArray(shape: [6, 5], scalars: Self.values)
    let floatLogits = try ShapedArray(shape: [6, 5], scalars: Self.values.map { Float($0) })
    let labels = try ShapedArray(shape: [6], scalars: Self.labels)
    for weights in [nil, Self.sampleWeights] {
      let samples = try weights.map { try ShapedArray(shape: [6], scalars: $0) }
      let floatSamples = try weights.map {
        try ShapedArray(shape: [6], scalars: $0.map { Float($0) })
      }
      let suffix = weights == nil ? "" : " with sample weights"
      try expectSumOverNormalizer(
        { reduction, normalizer in
          let r = try NegativeLogLikelihood(reduction: reduction, normalizer: normalizer)
            .lossAndGradient(
              logProbabilities: logSoftmax(logits), labels: labels, classWeights: [1, 2, 3, 4, 5],
              sampleWeights: samples)
          return (r.loss.scalars, r.gradient.scalars)
        }, tolerance: 1e-14, "NLL\(suffix)")
      try expectSumOverNormalizer(
        { reduction, normalizer in
          let r = try SoftmaxFocalLoss(reduction: reduction, normalizer: normalizer)
            .lossAndGradient(logits: logits, labels: labels, sampleWeights: samples)
          return (r.loss.scalars, r.gradient.scalars)
        }, tolerance: 1e-14, "focal\(suffix)")
      try expectSumOverNormalizer(
        { reduction, normalizer in
          let r = try SoftmaxFocalLoss(reduction: reduction, normalizer: normalizer)
            .lossAndGradient(logits: floatLogits, labels: labels, sampleWeights: floatSamples)
          return (r.loss.scalars.map { Double($0) }, r.gradient.scalars.map { Double($0) })
        }, tolerance: 1e-6, "fused focal\(suffix)")
      try expectSumOverNormalizer(
        { reduction, normalizer in
          let r = try PolyLoss(epsilon: 1, reduction: reduction, normalizer: normalizer)
            .lossAndGradient(logits: logits, labels: labels, sampleWeights: samples)
          return (r.loss.scalars, r.gradient.scalars)
        }, tolerance: 1e-14, "Poly-1\(suffix)")
    }
  }

  @Test func invalidNormalizerThrows() throws {
    let logits = try ShapedArray(shape: [6, 5], scalars: Self.values)
    let labels = try ShapedArray(shape: [6], scalars: Self.labels)
    for bad in [0, -1, Double.nan, .infinity] {
      let expected = LossError.invalidOption(
        "normalizer \(bad) is invalid; expected a finite value > 0")
      #expect(throws: expected) {
        try NegativeLogLikelihood(normalizer: bad).loss(logProbabilities: logits, labels: labels)
      }
      #expect(throws: expected) {
        try SoftmaxFocalLoss(normalizer: bad).loss(logits: logits, labels: labels)
      }
      #expect(throws: expected) {
        try PolyLoss(normalizer: bad).loss(logits: logits, labels: labels)
      }
    }
  }
}
