import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fast softmax cross-entropy kernels (class-index labels and probability targets, classes
// last) against the reference implementation.
//
// Tolerances (fast path in its precision vs the reference in Double):
// - Float: loss within 2e-5 relative (+1e-6 absolute); gradient within 2e-5 relative per
//   element plus 1e-6 of the largest gradient magnitude.
// NaN must match NaN, infinities must match exactly.

/// One softmax cross-entropy problem in fp32.
struct FloatProblem {
  var rows: Int
  var classes: Int
  var logits: [Float]
  var labels: [Int]
  var weights: [Float]?
  var criterion: SoftmaxCrossEntropy

  init(
    rows: Int, classes: Int, seed: UInt64, spread: Float = 4, weighted: Bool = false,
    ignoredEvery: Int = 0, criterion: SoftmaxCrossEntropy = SoftmaxCrossEntropy()
  ) {
    var generator = SeededGenerator(seed: seed)
    self.rows = rows
    self.classes = classes
    self.logits = (0..<rows * classes).map { _ in
      Float.random(in: -spread...spread, using: &generator) + 3
    }
    self.labels = (0..<rows).map { r in
      ignoredEvery > 0 && r % ignoredEvery == 1
        ? criterion.ignoreIndex : Int.random(in: 0..<classes, using: &generator)
    }
    self.weights =
      weighted ? (0..<classes).map { _ in Float.random(in: 0.1...2, using: &generator) } : nil
    self.criterion = criterion
  }

  var shape: [Int] { [rows, classes] }
}

/// Runs every fast entry point of `problem` (loss only, gradient into a buffer, in place) and
/// checks each against the reference evaluated in Double on the same values.
func expectMatchesReference(
  _ problem: FloatProblem, sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let criterion = problem.criterion
  let reference = try criterion.lossAndGradient(
    logits: ShapedArray<Double>(shape: problem.shape, scalars: problem.logits.map(Double.init)),
    labels: ShapedArray<Int>(shape: [problem.rows], scalars: problem.labels),
    classWeights: problem.weights?.map(Double.init))
  let lossCount = criterion.reduction == .none ? problem.rows : 1
  for (path, loss, gradient) in try bufferFormResults(
    criterion, logits: problem.logits, shape: problem.shape, labels: problem.labels,
    probabilities: nil, weights: problem.weights, lossCount: lossCount)
  {
    expectClose(
      loss: loss, gradient: gradient,
      reference: (reference.loss.scalars, reference.gradient.scalars),
      lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 2e-5, absolute: 1e-6), path,
      sourceLocation: sourceLocation)
  }
}

/// The criteria every shape is tried with.
let criteria: [SoftmaxCrossEntropy] = [
  SoftmaxCrossEntropy(),
  SoftmaxCrossEntropy(reduction: .sum),
  SoftmaxCrossEntropy(reduction: .none),
  SoftmaxCrossEntropy(labelSmoothing: 0.1),
  SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.25),
  SoftmaxCrossEntropy(reduction: .sum, ignoreIndex: 0, labelSmoothing: 1),
]

@Suite(.serialized) struct SoftmaxCrossEntropyKernelTests {
  @Test(arguments: [1, 2, 15, 16, 17, 63, 64, 65, 1000, 2049])
  func floatRowsMatchReference(classes: Int) throws {
    for (k, criterion) in criteria.enumerated() {
      for weighted in [false, true] {
        let problem = FloatProblem(
          rows: 1 + (classes + k) % 7, classes: classes, seed: UInt64(classes * 100 + k),
          weighted: weighted, ignoredEvery: 3, criterion: criterion)
        try expectMatchesReference(problem)
      }
    }
  }

  @Test func floatLargeRowsTakeTheOnlinePathAndMatchReference() throws {
    // 70_000 classes: cached in place, online with a separate gradient. 140_000: online both.
    for classes in [70_000, 140_000] {
      for criterion in [SoftmaxCrossEntropy(), SoftmaxCrossEntropy(labelSmoothing: 0.1)] {
        try expectMatchesReference(
          FloatProblem(
            rows: 3, classes: classes, seed: UInt64(classes), spread: 20, weighted: true,
            ignoredEvery: 3, criterion: criterion))
      }
    }
  }

  @Test func floatNonFiniteRowsMatchReference() throws {
    for problem in FloatProblem.nonFiniteProblems(criteria) { try expectMatchesReference(problem) }
  }

  @Test func floatResultsAreBitIdenticalForAnyThreadCount() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    for criterion in [
      SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none),
      SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.1),
    ] {
      let problem = FloatProblem(
        rows: 67, classes: 8000, seed: 7, weighted: true, ignoredEvery: 5, criterion: criterion)
      var first: ([Float], [Float])? = nil
      for threads in [1, 2, 3, 7] {
        Parallelism.maximumThreadCount = threads
        let (loss, gradient) = try criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: problem.logits),
          labels: ShapedArray(shape: [problem.rows], scalars: problem.labels),
          classWeights: problem.weights)
        let forward = try criterion.loss(
          logits: ShapedArray(shape: problem.shape, scalars: problem.logits),
          labels: ShapedArray(shape: [problem.rows], scalars: problem.labels),
          classWeights: problem.weights)
        #expect(forward.scalars.map(\.bitPattern) == loss.scalars.map(\.bitPattern))
        if let first {
          #expect(first.0.map(\.bitPattern) == loss.scalars.map(\.bitPattern), "\(threads)")
          #expect(first.1.map(\.bitPattern) == gradient.scalars.map(\.bitPattern), "\(threads)")
        } else {
          first = (loss.scalars, gradient.scalars)
          try expectMatchesReference(problem)
        }
      }
    }
  }
}

// MARK: - Half precision
//
// Tolerances: the inputs are exactly representable, the arithmetic is fp32, so the only extra
// error is the final rounding of the outputs. Float16: loss within 2e-3 relative (it is stored in
// Float16), gradient within 2e-3 relative plus 1e-3 of the largest gradient. bfloat16 (8-bit
// significand): loss (fp32) within 2e-5 relative, gradient within 8e-3 relative plus 4e-3 of the
// largest gradient.

/// The reference's loss and gradient in Double for logits given as Double values.
func referenceResult(
  _ logits: [Double], _ problem: FloatProblem
) throws -> (loss: [Double], gradient: [Double]) {
  let result = try problem.criterion.lossAndGradient(
    logits: ShapedArray(shape: problem.shape, scalars: logits),
    labels: ShapedArray(shape: [problem.rows], scalars: problem.labels),
    classWeights: problem.weights?.map(Double.init))
  return (result.loss.scalars, result.gradient.scalars)
}

extension SoftmaxCrossEntropyKernelTests {
  /// Problems for the half-precision paths: small and large rows, options, non-finite rows.
  static func halfProblems() -> [FloatProblem] {
    FloatProblem.halfProblems(
      [
        SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.2),
        SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.1),
      ], seed: 50)
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16MatchesReference() throws {
      for problem in Self.halfProblems() { try expectFloat16MatchesReference(problem) }
    }
  #endif

  @Test func bfloat16MatchesReference() throws {
    for problem in Self.halfProblems() { try expectBFloat16MatchesReference(problem) }
  }

  @Test func bfloat16ArrayFormAndErrors() throws {
    var logits: [UInt16] = [0x3F80, 0x0000, 0xBF80]  // 1, 0, -1
    var loss: Float = 0
    try SoftmaxCrossEntropy().lossAndGradient(
      overwritingBFloat16: &logits, shape: [1, 3], labels: [0], loss: &loss)
    let expected = -1 + Double.log(Double.exp(1) + 1 + Double.exp(-1))
    #expect(abs(Double(loss) - expected) < 1e-6)
    #expect(Float(bitPattern: UInt32(logits[0]) << 16) < 0)
    var bad: [UInt16] = [0, 0, 0]
    #expect(throws: LossError.self) {
      try SoftmaxCrossEntropy(reduction: .none).lossAndGradient(
        overwritingBFloat16: &bad, shape: [1, 3], labels: [0], loss: &loss)
    }
    do {
      try SoftmaxCrossEntropy().lossAndGradient(
        overwritingBFloat16: &bad, shape: [1, 3], labels: [3], loss: &loss)
      Issue.record("expected an error")
    } catch {
      #expect(error.message.contains("label 3"), "\(error.message)")
    }
    #expect(bad == [0, 0, 0])
  }
}

extension FloatProblem {
  /// A copy with other class weights.
  init(copying problem: FloatProblem, weights: [Float]?) {
    self = problem
    self.weights = weights
  }
}

// MARK: - Probability targets (tolerances as for labels)

extension SoftmaxCrossEntropyKernelTests {
  @Test(arguments: [1, 2, 17, 1000, 70_000, 140_000])
  func floatProbabilityTargetsMatchReference(classes: Int) throws {
    var generator = SeededGenerator(seed: UInt64(classes))
    for criterion in [
      SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.2),
      SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.05),
    ] {
      for weighted in [false, true] {
        let rows = classes > 10_000 ? 2 : 6
        var problem = FloatProblem(
          rows: rows, classes: classes, seed: UInt64(classes + 7), spread: 10,
          weighted: weighted, criterion: criterion)
        var targets = (0..<rows * classes).map { _ in Float.random(in: 0...1, using: &generator) }
        if classes == 17 {
          problem.logits[2] = .nan
          problem.logits[17 + 4] = .infinity
          for c in 0..<17 { problem.logits[34 + c] = -.infinity }
          problem.logits[51 + 3] = -.infinity
          targets[51 + 3] = 0
          targets[68 + 1] = .nan
        }
        try expectProbabilityTargetsMatchReference(problem, targets: targets)
      }
    }
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16ProbabilityTargetsMatchReference() throws {
      var generator = SeededGenerator(seed: 11)
      for classes in [3, 40, 70_000] {
        let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)  // .mean: no Float16 overflow
        let problem = FloatProblem(rows: 3, classes: classes, seed: 5, criterion: criterion)
        let x = problem.logits.map { Float16($0) }
        let t = (0..<x.count).map { _ in
          Float16(Float.random(in: 0...2, using: &generator) / Float(classes))  // rows sum to ~1
        }
        let reference = try criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: x.map(Double.init)),
          targets: ShapedArray(shape: problem.shape, scalars: t.map(Double.init)))
        let (loss, gradient) = try criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: x),
          targets: ShapedArray(shape: problem.shape, scalars: t))
        expectClose(
          loss: loss.scalars.map(Double.init), gradient: gradient.scalars.map(Double.init),
          reference: (reference.loss.scalars, reference.gradient.scalars),
          lossTolerance: Tolerance(relative: 2e-3, absolute: 1e-6),
          gradientTolerance: Tolerance(relative: 2e-3, absolute: 1e-3), "float16 probabilities")
      }
    }
  #endif
}
