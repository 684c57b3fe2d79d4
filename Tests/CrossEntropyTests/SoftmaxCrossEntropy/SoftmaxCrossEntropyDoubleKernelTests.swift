import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused Double kernel (class-index labels, classes last) against the reference, both in
// Double.
//
// Tolerances: loss within 1e-12 relative plus 1e-12 absolute (a loss below 1 is the log of a sum
// near 1, whose rounding depends on the order of the sum); each gradient element within 1e-12
// relative plus 1e-12 of the largest gradient magnitude (the label's element cancels,
// `dlogp - p * total`, so its error follows the magnitude of the others). NaN matches NaN and
// infinities match exactly. The vector exp is within 2 ULP of libm's on [-708.39, 0].

/// The reference kernel itself (the public API takes the fast path for Double).
private func reference(
  _ logits: [Double], shape: [Int], labels: [Int], weights: [Double]?,
  criterion: SoftmaxCrossEntropy
) throws -> (loss: [Double], gradient: [Double]) {
  let problem = SoftmaxProblem(
    layout: try ClassLayout(shape: shape, classAxis: criterion.classAxis),
    ignoreIndex: criterion.ignoreIndex, labelSmoothing: criterion.labelSmoothing,
    reduction: criterion.reduction)
  var loss = [Double](repeating: .nan, count: criterion.reduction == .none ? shape[0] : 1)
  var gradient = [Double](repeating: .nan, count: logits.count)
  logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { y in
      withOptionalBuffer(weights) { w in
        loss.withUnsafeMutableBufferPointer { l in
          gradient.withUnsafeMutableBufferPointer { g in
            Reference.softmaxCrossEntropy(
              logits: x.baseAddress!, target: .labels(y), classWeights: w, problem: problem,
              loss: l, gradient: g.baseAddress)
          }
        }
      }
    }
  }
  return (loss, gradient)
}

/// Checks the three public entry points for Double (loss only, gradient into a new array, in
/// place) against the reference.
private func expectDoubleMatchesReference(
  _ problem: FloatProblem, sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let criterion = problem.criterion
  // Spread the fp32 values over Double's precision, so the inputs are not fp32 values.
  let logits = problem.logits.enumerated().map { Double($1) + Double($0 % 7) * 1e-9 }
  let weights = problem.weights?.map { Double($0) + 1e-10 }
  let expected = try reference(
    logits, shape: problem.shape, labels: problem.labels, weights: weights, criterion: criterion)
  let largest = expected.gradient.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
  func check(_ values: [Double], _ reference: [Double], absolute: Double, _ what: String) {
    var failures = 0
    for (i, (a, e)) in zip(values, reference).enumerated()
    where !agrees(a, e, relative: 1e-12, absolute: absolute) {
      failures += 1
      if failures <= 3 {
        Issue.record("\(what)[\(i)] \(a) vs \(e)", sourceLocation: sourceLocation)
      }
    }
  }
  let x = try ShapedArray(shape: problem.shape, scalars: logits)
  let y = try ShapedArray(shape: [problem.rows], scalars: problem.labels)
  let forward = try criterion.loss(logits: x, labels: y, classWeights: weights)
  check(forward.scalars, expected.loss, absolute: 1e-12, "forward loss")
  let (loss, gradient) = try criterion.lossAndGradient(logits: x, labels: y, classWeights: weights)
  check(loss.scalars, expected.loss, absolute: 1e-12, "forward+backward loss")
  check(gradient.scalars, expected.gradient, absolute: 1e-12 * largest, "gradient")
  let (inPlaceLoss, inPlace) = try inPlaceResults(
    criterion, logits: logits, shape: problem.shape, labels: problem.labels, weights: weights,
    lossCount: expected.loss.count)
  check(inPlaceLoss, expected.loss, absolute: 1e-12, "in-place loss")
  check(inPlace, expected.gradient, absolute: 1e-12 * largest, "in-place gradient")
}

@Suite(.serialized) struct SoftmaxCrossEntropyDoubleKernelTests {
  @Test(arguments: [1, 2, 7, 8, 15, 16, 17, 33, 1000, 4099])
  func doubleRowsMatchReference(classes: Int) throws {
    for (k, criterion) in criteria.enumerated() {
      for weighted in [false, true] {
        try expectDoubleMatchesReference(
          FloatProblem(
            rows: 1 + (classes + k) % 7, classes: classes, seed: UInt64(classes * 10 + k),
            spread: 30, weighted: weighted, ignoredEvery: 3, criterion: criterion))
      }
    }
  }

  @Test func doubleNonFiniteRowsMatchReference() throws {
    for problem in FloatProblem.nonFiniteProblems(criteria) {
      try expectDoubleMatchesReference(problem)
    }
  }

  @Test func doubleResultsAreBitIdenticalForAnyThreadCount() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    for criterion in [
      SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none),
      SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.1),
    ] {
      let problem = FloatProblem(
        rows: 67, classes: 4000, seed: 9, weighted: true, ignoredEvery: 5, criterion: criterion)
      let x = try ShapedArray(shape: problem.shape, scalars: problem.logits.map(Double.init))
      let y = try ShapedArray(shape: [problem.rows], scalars: problem.labels)
      let w = problem.weights?.map(Double.init)
      var first: ([UInt64], [UInt64])? = nil
      for threads in [1, 2, 3, 7] {
        Parallelism.maximumThreadCount = threads
        let (loss, gradient) = try criterion.lossAndGradient(logits: x, labels: y, classWeights: w)
        let forward = try criterion.loss(logits: x, labels: y, classWeights: w)
        #expect(forward.scalars.map(\.bitPattern) == loss.scalars.map(\.bitPattern))
        let bits = (loss.scalars.map(\.bitPattern), gradient.scalars.map(\.bitPattern))
        if let first {
          #expect(first.0 == bits.0, "\(threads) threads: loss")
          #expect(first.1 == bits.1, "\(threads) threads: gradient")
        } else {
          first = bits
        }
      }
    }
  }

  /// The vector exp against libm's `exp` on a sweep of [-708.39, 0] (steps of 1e-3 to 2e-3, plus random
  /// points near 0 and near the bound), and its special values.
  @Test func doubleExpIsWithinTwoULPOfLibm() {
    var worst = 0.0
    func measure(_ xs: DoubleVector) {
      let e = VectorMathDouble.exp(xs)
      for k in 0..<8 {
        let expected = Foundation.exp(xs[k])
        worst = max(worst, abs(e[k] - expected) / expected.ulp)
      }
    }
    var generator = SeededGenerator(seed: 11)
    var x = 0.0
    var v = DoubleVector()
    var lane = 0
    while x > VectorMathDouble.expLowerBound {
      v[lane] = x
      lane += 1
      if lane == 8 {
        measure(v)
        lane = 0
      }
      x -= 1e-3 * (1 + Double.random(in: 0..<1, using: &generator))
    }
    for _ in 0..<20_000 {
      for k in 0..<8 {
        v[k] =
          k < 4
          ? -Double.random(in: 0...1e-3, using: &generator)
          : VectorMathDouble.expLowerBound + Double.random(in: 0...1, using: &generator)
      }
      measure(v)
    }
    #expect(worst <= 2, "worst error \(worst) ULP")
    let special = VectorMathDouble.exp(
      DoubleVector(0, -0.0, -.infinity, .nan, -709, -1e-300, 1, -745))
    #expect(special[0] == 1 && special[1] == 1 && special[2] == 0 && special[3].isNaN)
    #expect(special[4] == 0 && special[5] == 1 && special[7] == 0)
    #expect(abs(special[6] - Foundation.exp(1.0)) <= 2 * Foundation.exp(1.0).ulp)
  }
}
