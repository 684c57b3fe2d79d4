import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused fp32 sigmoid focal loss kernel (FusedSigmoidFocal) against the reference kernel
// evaluated in Double on the same values (the public API with Double inputs takes the
// reference). Each case runs the kernel directly with 1, 2, 3 and 7 threads, forward only and
// with the gradient; the runs with the gradient must agree bit for bit.
//
// Tolerances (fp32 fast path vs Double reference): loss within 2e-5 relative + 1e-6 absolute
// (per element for .none); gradient within 2e-5 relative + 1e-6 of the largest gradient
// magnitude. NaN must match NaN and infinities exactly.

/// One sigmoid focal loss problem in fp32.
private struct SigmoidFocalCase {
  var logits: [Float]
  var targets: [Float]
  var criterion: SigmoidFocalLoss

  init(count: Int, seed: UInt64, alpha: Double, gamma: Double, reduction: Reduction, soft: Bool) {
    var generator = SeededGenerator(seed: seed &+ 5)
    logits = randomFloats(count, seed: seed, spread: 12)
    targets = (0..<count).map { _ in
      soft
        ? Float.random(in: 0...1, using: &generator)
        : (Bool.random(using: &generator) ? 1 : 0)
    }
    criterion = SigmoidFocalLoss(reduction: reduction, alpha: alpha, gamma: gamma)
  }

  func fast(threads: Int, wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?) {
    let count = logits.count
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? count : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: count) : nil
    logits.withUnsafeBufferPointer { x in
      targets.withUnsafeBufferPointer { y in
        loss.withUnsafeMutableBufferPointer { lb in
          func run(_ g: UnsafeMutablePointer<Float>?) {
            FusedSigmoidFocal.run(
              logits: x.baseAddress!, targets: y.baseAddress!, count: count,
              alpha: criterion.alpha, gamma: criterion.gamma, reduction: criterion.reduction,
              loss: lb.baseAddress!, gradient: g, threads: threads)
          }
          if gradient != nil {
            gradient!.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
          } else {
            run(nil)
          }
        }
      }
    }
    return (loss, gradient)
  }

  func reference() throws -> (loss: [Double], gradient: [Double]?) {
    let shape = [logits.count]
    let result = try criterion.lossAndGradient(
      logits: ShapedArray<Double>(shape: shape, scalars: logits.map(Double.init)),
      targets: ShapedArray<Double>(shape: shape, scalars: targets.map(Double.init)))
    return (result.loss.scalars, result.gradient.scalars)
  }

  func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
    expectKernelMatchesReference(
      try reference(), lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      { threads in
        "sigmoid focal n \(logits.count) alpha \(criterion.alpha) gamma \(criterion.gamma)"
          + " \(criterion.reduction) threads \(threads)"
      }, sourceLocation: sourceLocation, run: fast)
  }
}

@Suite struct SigmoidFocalLossKernelTests {
  @Test(arguments: [1, 2, 17, 1000, 5000])
  func matchesReference(count: Int) throws {
    var seed = UInt64(count) * 100
    for gamma in [0.0, 1, 2, 3, 4, 1.5, 2.5, 7.3] {
      for alpha in [0.25, -1, 0.9] {
        for reduction in [Reduction.none, .mean, .sum] {
          for soft in [false, true] {
            seed += 1
            try SigmoidFocalCase(
              count: count, seed: seed, alpha: alpha, gamma: gamma, reduction: reduction,
              soft: soft
            ).check()
          }
        }
      }
    }
  }

  @Test func manyBlocksSplitOverThreadsMatchReference() throws {
    try SigmoidFocalCase(
      count: 200_003, seed: 3, alpha: 0.25, gamma: 2, reduction: .mean, soft: false
    ).check()
  }

  @Test(arguments: [2.0, 2.5])
  func nonFiniteElementsMatchReference(gamma: Double) throws {
    var problem = SigmoidFocalCase(
      count: 40, seed: 8, alpha: 0.25, gamma: gamma, reduction: .none, soft: false)
    let specials: [(Float, Float)] = [
      (.infinity, 1), (.infinity, 0), (-.infinity, 1), (-.infinity, 0), (.nan, 1), (1, .nan),
      (2, .infinity), (.infinity, 0.5), (0, 0), (-0.0, 1), (100, 1), (-100, 0), (100, 0),
      (-100, 1),
    ]
    for (k, (x, y)) in specials.enumerated() {
      problem.logits[2 * k + 1] = x
      problem.targets[2 * k + 1] = y
    }
    for reduction in [Reduction.none, .sum] {
      problem.criterion.reduction = reduction
      try problem.check()
    }
  }

  @Test func unsupportedGammaTakesTheReference() throws {
    #expect(FusedSigmoidFocal.supports(gamma: 2))
    #expect(FusedSigmoidFocal.supports(gamma: 1.5))
    #expect(!FusedSigmoidFocal.supports(gamma: 0.5))
    #expect(!FusedSigmoidFocal.supports(gamma: 17))
    // Through the public API, a gamma below 1 in fp32 still matches the reference.
    let problem = SigmoidFocalCase(
      count: 100, seed: 4, alpha: 0.25, gamma: 0.5, reduction: .none, soft: true)
    let result = try problem.criterion.lossAndGradient(
      logits: ShapedArray<Float>(shape: [100], scalars: problem.logits),
      targets: ShapedArray<Float>(shape: [100], scalars: problem.targets))
    let expected = try problem.reference()
    expectClose(
      loss: result.loss.scalars, gradient: result.gradient.scalars, reference: expected,
      lossTolerance: Tolerance(relative: 1e-6, absolute: 1e-7),
      gradientTolerance: Tolerance(relative: 1e-6, absolute: 1e-7), "gamma 0.5")
  }

  @Test func floatTakesTheFastPathThroughThePublicAPI() throws {
    let problem = SigmoidFocalCase(
      count: 999, seed: 6, alpha: 0.25, gamma: 2, reduction: .mean, soft: false)
    let result = try problem.criterion.lossAndGradient(
      logits: ShapedArray<Float>(shape: [27, 37], scalars: problem.logits),
      targets: ShapedArray<Float>(shape: [27, 37], scalars: problem.targets))
    let direct = problem.fast(threads: 1, wantsGradient: true)
    #expect(bitPatterns(result.loss.scalars) == bitPatterns(direct.loss))
    #expect(bitPatterns(result.gradient.scalars) == bitPatterns(direct.gradient!))
    #expect(result.gradient.shape == [27, 37])
  }
}
