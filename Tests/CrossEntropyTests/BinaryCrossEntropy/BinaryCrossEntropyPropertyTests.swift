import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// Seeded property sweeps of binary cross-entropy (logits and probabilities), with random
/// broadcast shapes for `weight` and `positiveWeight`; a failure names its seed.
@Suite struct BinaryCrossEntropyPropertyTests {
  static let seeds: Range<UInt64> = 0..<150

  /// A random problem: a target of rank 0...4 and weights of a shape that broadcasts to it.
  struct Problem {
    var shape: [Int]
    var input: [Double]
    var targets: ShapedArray<Double>
    var weight: ShapedArray<Double>?
    var positiveWeight: ShapedArray<Double>?
    var reduction: Reduction

    init(seed: UInt64, probabilities: Bool) {
      var random = SeededGenerator(scrambledSeed: seed)
      let rank = Int.random(in: 0...4, using: &random)
      shape = (0..<rank).map { _ in Int.random(in: 1...3, using: &random) }
      let count = shape.reduce(1, *)
      input = (0..<count).map { _ in
        probabilities
          ? Double.random(in: 0.05...0.95, using: &random)
          : Double.random(in: -6...6, using: &random)
      }
      targets = try! ShapedArray(
        shape: shape,
        scalars: (0..<count).map { _ in
          Bool.random(using: &random)
            ? Double(Int.random(in: 0...1, using: &random))
            : Double.random(in: 0...1, using: &random)
        })
      let shape = self.shape
      func broadcastable(_ random: inout SeededGenerator) -> ShapedArray<Double>? {
        guard Bool.random(using: &random) else { return nil }
        let kept = Int.random(in: 0...shape.count, using: &random)
        let weightShape = shape.suffix(kept).map { Bool.random(using: &random) ? $0 : 1 }
        let values = (0..<weightShape.reduce(1, *)).map { _ in
          Double.random(in: 0.1...3, using: &random)
        }
        return try! ShapedArray(shape: Array(weightShape), scalars: values)
      }
      weight = broadcastable(&random)
      positiveWeight = probabilities ? nil : broadcastable(&random)
      reduction = Reduction.allCases.randomElement(using: &random)!
    }
  }

  @Test func logitGradientMatchesCentralDifferences() throws {
    for seed in Self.seeds {
      let p = Problem(seed: seed, probabilities: false)
      let criterion = BinaryCrossEntropy(reduction: p.reduction)
      let logits = try ShapedArray(shape: p.shape, scalars: p.input)
      let (loss, gradient) = try criterion.lossAndGradient(
        logits: logits, targets: p.targets, weight: p.weight, positiveWeight: p.positiveWeight)
      #expect(loss.shape == (p.reduction == .none ? p.shape : []), "seed \(seed)")
      let numeric = try centralDifferences(p.input) { x in
        total(
          try criterion.loss(
            logits: ShapedArray(shape: p.shape, scalars: x), targets: p.targets,
            weight: p.weight, positiveWeight: p.positiveWeight))
      }
      expectClose(gradient.scalars, numeric, tolerance: 1e-6, "seed \(seed): logit gradient")
      if p.weight == nil && p.positiveWeight == nil || p.reduction == .none {
        for value in loss.scalars { #expect(value >= 0, "seed \(seed): loss \(value) < 0") }
      }
    }
  }

  @Test func probabilityGradientMatchesCentralDifferences() throws {
    for seed in Self.seeds {
      let p = Problem(seed: seed, probabilities: true)
      let criterion = BinaryCrossEntropy(reduction: p.reduction)
      let probabilities = try ShapedArray(shape: p.shape, scalars: p.input)
      let (loss, gradient) = try criterion.lossAndGradient(
        probabilities: probabilities, targets: p.targets, weight: p.weight)
      let numeric = try centralDifferences(p.input, step: 1e-7) { x in
        total(
          try criterion.loss(
            probabilities: ShapedArray(shape: p.shape, scalars: x), targets: p.targets,
            weight: p.weight))
      }
      expectClose(gradient.scalars, numeric, tolerance: 1e-6, "seed \(seed): probability gradient")
      for value in loss.scalars { #expect(value >= 0, "seed \(seed): loss \(value) < 0") }
    }
  }

  /// BCE with logits equals BCE on `sigmoid(x)` away from saturation (an independent path).
  @Test func logitsAgreeWithProbabilitiesOfTheirSigmoid() throws {
    for seed in Self.seeds {
      let p = Problem(seed: seed, probabilities: false)
      let criterion = BinaryCrossEntropy(reduction: p.reduction)
      let logits = try ShapedArray(shape: p.shape, scalars: p.input)
      let sigmoid = try ShapedArray(shape: p.shape, scalars: p.input.map { 1 / (1 + .exp(-$0)) })
      let fromLogits = try criterion.loss(logits: logits, targets: p.targets, weight: p.weight)
      let fromProbabilities = try criterion.loss(
        probabilities: sigmoid, targets: p.targets, weight: p.weight)
      expectClose(
        fromLogits.scalars, fromProbabilities.scalars, tolerance: 1e-12, "seed \(seed): loss")
    }
  }
}
