import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused fp32 softmax focal loss kernel (FusedSoftmaxFocal) against the reference kernel
// evaluated in Double on the same values (the public API with Double inputs takes the
// reference). Each case runs the kernel directly with 1, 2, 3 and 7 threads, forward only and
// with the gradient; the runs with the gradient must agree bit for bit.
//
// Tolerances (fp32 fast path vs Double reference): loss within 2e-5 relative + 1e-6 absolute
// (per element for .none); gradient within 2e-5 relative + 1e-6 of the largest gradient
// magnitude. NaN must match NaN and infinities exactly.

/// One softmax focal loss problem in fp32.
private struct SoftmaxFocalCase {
  var rows: Int
  var classes: Int
  var logits: [Float]
  var labels: [Int]
  var alpha: [Double]?
  var criterion: SoftmaxFocalLoss

  init(
    rows: Int, classes: Int, seed: UInt64, gamma: Double, weighted: Bool, reduction: Reduction,
    ignoredEvery: Int = 3
  ) {
    var generator = SeededGenerator(seed: seed &+ 77)
    self.rows = rows
    self.classes = classes
    criterion = SoftmaxFocalLoss(reduction: reduction, gamma: gamma)
    logits = randomFloats(rows * classes, seed: seed, spread: 4, shift: 2)
    let ignore = criterion.ignoreIndex
    labels = (0..<rows).map { r in
      r % ignoredEvery == 1 ? ignore : Int.random(in: 0..<classes, using: &generator)
    }
    // fp32 values, so that the public API (fp32 alpha) and the kernel (Double) agree exactly.
    alpha =
      weighted
      ? (0..<classes).map { _ in Double(Float.random(in: 0.1...2, using: &generator)) } : nil
  }

  /// The fused kernel, called directly.
  func fast(threads: Int, wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?) {
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? rows : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: logits.count) : nil
    logits.withUnsafeBufferPointer { x in
      labels.withUnsafeBufferPointer { l in
        (alpha ?? []).withUnsafeBufferPointer { a in
          loss.withUnsafeMutableBufferPointer { lb in
            func run(_ g: UnsafeMutablePointer<Float>?) {
              FusedSoftmaxFocal.run(
                logits: x.baseAddress!, labels: l, alpha: alpha == nil ? nil : a,
                classes: classes, ignoreIndex: criterion.ignoreIndex, gamma: criterion.gamma,
                reduction: criterion.reduction, loss: lb.baseAddress!, gradient: g,
                threads: threads)
            }
            if gradient != nil {
              gradient!.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
            } else {
              run(nil)
            }
          }
        }
      }
    }
    return (loss, gradient)
  }

  func reference() throws -> (loss: [Double], gradient: [Double]?) {
    let result = try criterion.lossAndGradient(
      logits: ShapedArray<Double>(shape: [rows, classes], scalars: logits.map(Double.init)),
      labels: ShapedArray<Int>(shape: [rows], scalars: labels), classWeights: alpha)
    return (result.loss.scalars, result.gradient.scalars)
  }

  func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
    expectKernelMatchesReference(
      try reference(), lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      { threads in
        "softmax focal \(rows)x\(classes) gamma \(criterion.gamma) alpha \(alpha != nil)"
          + " \(criterion.reduction) threads \(threads)"
      }, sourceLocation: sourceLocation, run: fast)
  }
}

@Suite struct SoftmaxFocalLossKernelTests {
  @Test(arguments: [1, 2, 17, 1000])
  func matchesReference(classes: Int) throws {
    var seed: UInt64 = UInt64(classes) * 1000
    for gamma in [0.0, 1, 2, 2.5] {
      for weighted in [false, true] {
        for reduction in [Reduction.none, .mean, .sum] {
          seed += 1
          try SoftmaxFocalCase(
            rows: 7, classes: classes, seed: seed, gamma: gamma, weighted: weighted,
            reduction: reduction
          ).check()
        }
      }
    }
  }

  @Test func largeRowsTakeTheOnlinePathAndMatchReference() throws {
    // 70000 classes: past the cached-row limit, so the online softmax path.
    try SoftmaxFocalCase(
      rows: 3, classes: 70000, seed: 5, gamma: 2, weighted: true, reduction: .none,
      ignoredEvery: 7
    ).check()
  }

  @Test func manyRowsSplitOverThreadsMatchReference() throws {
    try SoftmaxFocalCase(
      rows: 300, classes: 700, seed: 9, gamma: 2, weighted: false, reduction: .mean
    ).check()
  }

  @Test func nonFiniteRowsMatchReference() throws {
    for classes in [1, 17, 70000] {
      var problem = SoftmaxFocalCase(
        rows: 6, classes: classes, seed: 11, gamma: 2, weighted: false, reduction: .none,
        ignoredEvery: 100)
      problem.logits[0 * classes + classes / 2] = .infinity
      problem.logits[1 * classes + classes / 3] = .nan
      for c in 0..<classes { problem.logits[2 * classes + c] = -.infinity }
      problem.logits[3 * classes + (classes - 1) / 2] = -.infinity
      for c in 0..<classes { problem.logits[4 * classes + c] = c % 2 == 0 ? .nan : -.infinity }
      try problem.check()
    }
  }

  @Test func floatTakesTheFastPathThroughThePublicAPI() throws {
    let problem = SoftmaxFocalCase(
      rows: 40, classes: 33, seed: 21, gamma: 2, weighted: true, reduction: .mean)
    let result = try problem.criterion.lossAndGradient(
      logits: ShapedArray<Float>(shape: [40, 33], scalars: problem.logits),
      labels: ShapedArray<Int>(shape: [40], scalars: problem.labels),
      classWeights: problem.alpha?.map { Float($0) })
    let direct = problem.fast(threads: 1, wantsGradient: true)
    #expect(bitPatterns(result.loss.scalars) == bitPatterns(direct.loss))
    #expect(bitPatterns(result.gradient.scalars) == bitPatterns(direct.gradient!))
  }
}
