import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused kernels with the z-loss and logit soft-capping against the reference (Double).
//
// Tolerances are those of SoftmaxCrossEntropyKernelTests: Float loss within 2e-5 relative (+1e-6),
// gradient within 2e-5 relative plus 1e-6 of the largest gradient (probabilities: 4e-5 plus
// 2e-5 of the largest); Float16 2e-3 and 1e-3 of the largest; bfloat16 loss 2e-5, gradient
// 8e-3 plus 4e-3 of the largest. The soft cap's extra error (tanh within 2 ULP, its factor
// 1 - t^2 kept with a small relative error) fits them. Float16 gradients that fall among its
// subnormals get half a subnormal step (2^-25) of absolute slack.

/// Criteria with the z-loss, the soft cap, or both, combined with the other options.
let logitOptionCriteria: [SoftmaxCrossEntropy] = [
  SoftmaxCrossEntropy(zLossScale: 1e-4),
  SoftmaxCrossEntropy(reduction: .sum, zLossScale: 0.1),
  SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.1, zLossScale: 0.05),
  SoftmaxCrossEntropy(logitSoftCap: 30),
  SoftmaxCrossEntropy(reduction: .none, logitSoftCap: 2.5),
  SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.2, logitSoftCap: 5),
  SoftmaxCrossEntropy(labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 4),
  SoftmaxCrossEntropy(
    reduction: .sum, ignoreIndex: 0, labelSmoothing: 1, zLossScale: 0.02, logitSoftCap: 1),
]

@Suite(.serialized) struct SoftmaxCrossEntropyLogitOptionsKernelTests {
  @Test(arguments: [1, 2, 15, 16, 17, 63, 64, 65, 1000, 2049])
  func floatRowsMatchReference(classes: Int) throws {
    for (k, criterion) in logitOptionCriteria.enumerated() {
      for weighted in [false, true] {
        let problem = FloatProblem(
          rows: 1 + (classes + k) % 7, classes: classes, seed: UInt64(classes * 100 + k + 7),
          weighted: weighted, ignoredEvery: 3, criterion: criterion)
        try expectMatchesReference(problem)
      }
    }
  }

  @Test func floatLargeRowsMatchReference() throws {
    // Capped rows keep two fp32 rows in cache: 40_000 classes cached, 70_000 and 140_000 online.
    for classes in [40_000, 70_000, 140_000] {
      for criterion in [
        SoftmaxCrossEntropy(zLossScale: 1e-3),
        SoftmaxCrossEntropy(labelSmoothing: 0.1, zLossScale: 1e-4, logitSoftCap: 15),
        SoftmaxCrossEntropy(reduction: .none, logitSoftCap: 30),
      ] {
        try expectMatchesReference(
          FloatProblem(
            rows: 3, classes: classes, seed: UInt64(classes + 3), spread: 20, weighted: true,
            ignoredEvery: 3, criterion: criterion))
      }
    }
  }

  @Test func floatNonFiniteRowsMatchReference() throws {
    for problem in FloatProblem.nonFiniteProblems(logitOptionCriteria) {
      try expectMatchesReference(problem)
    }
  }

  @Test func floatProbabilityTargetsMatchReference() throws {
    var generator = SeededGenerator(seed: 91)
    for classes in [1, 2, 17, 1000, 70_000] {
      for criterion in [
        SoftmaxCrossEntropy(zLossScale: 0.05),
        SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.2, logitSoftCap: 3),
        SoftmaxCrossEntropy(reduction: .sum, zLossScale: 1e-3, logitSoftCap: 20),
      ] {
        for weighted in [false, true] {
          let rows = classes > 10_000 ? 2 : 6
          var problem = FloatProblem(
            rows: rows, classes: classes, seed: UInt64(classes + 19), spread: 10,
            weighted: weighted, criterion: criterion)
          var targets = (0..<rows * classes).map { _ in
            Float.random(in: 0...1, using: &generator)
          }
          if classes == 17 {
            problem.logits[2] = .nan
            problem.logits[17 + 4] = .infinity
            for c in 0..<17 { problem.logits[34 + c] = -.infinity }
            targets[68 + 1] = .nan
          }
          try expectProbabilityTargetsMatchReference(problem, targets: targets)
        }
      }
    }
  }

  @Test func resultsAreBitIdenticalForAnyThreadCount() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1, zLossScale: 1e-3, logitSoftCap: 10)
    let perRow = SoftmaxCrossEntropy(reduction: .none, zLossScale: 1e-3, logitSoftCap: 10)
    let problem = FloatProblem(
      rows: 67, classes: 8000, seed: 13, weighted: true, ignoredEvery: 5, criterion: criterion)
    let x = try ShapedArray(shape: problem.shape, scalars: problem.logits)
    let y = try ShapedArray(shape: [problem.rows], scalars: problem.labels)
    var generator = SeededGenerator(seed: 3)
    let t = try ShapedArray(
      shape: problem.shape,
      scalars: problem.logits.map { _ in Float.random(in: 0...1, using: &generator) / 4000 })
    let bf16 = problem.logits.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
    var first: [[UInt32]]? = nil
    for threads in [1, 2, 3, 7] {
      Parallelism.maximumThreadCount = threads
      var results: [[Float]] = []
      let labelled = try criterion.lossAndGradient(
        logits: x, labels: y, classWeights: problem.weights)
      results += [labelled.loss.scalars, labelled.gradient.scalars]
      results.append(try perRow.loss(logits: x, labels: y).scalars)
      let soft = try criterion.lossAndGradient(logits: x, targets: t)
      results += [soft.loss.scalars, soft.gradient.scalars]
      results.append(try criterion.zLoss(logits: x, labels: y).scalars)
      results.append(try perRow.zLoss(logits: x).scalars)
      var loss: Float = 0
      var g = bf16
      try criterion.lossAndGradient(
        overwritingBFloat16: &g, shape: problem.shape, labels: problem.labels, loss: &loss)
      results.append([loss] + g.map { Float(bitPattern: UInt32($0) << 16) })
      let bits = results.map { $0.map(\.bitPattern) }
      if let first {
        #expect(first == bits, "\(threads) threads")
      } else {
        first = bits
      }
    }
    try expectMatchesReference(problem)
  }

  @Test func bfloat16MatchesReference() throws {
    for problem in Self.halfProblems() {
      try expectBFloat16MatchesReference(problem, inPlace: false)
    }
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16MatchesReference() throws {
      for problem in Self.halfProblems() { try expectFloat16MatchesReference(problem) }
    }

    @Test func float16ProbabilityTargetsMatchReference() throws {
      var generator = SeededGenerator(seed: 23)
      for classes in [3, 40, 70_000] {
        let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 6)
        let problem = FloatProblem(rows: 3, classes: classes, seed: 9, criterion: criterion)
        let x = problem.logits.map { Float16($0) }
        let t = (0..<x.count).map { _ in
          Float16(Float.random(in: 0...2, using: &generator) / Float(classes))
        }
        let reference = try criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: x.map(Double.init)),
          targets: ShapedArray(shape: problem.shape, scalars: t.map(Double.init)))
        let (loss, gradient) = try criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: x),
          targets: ShapedArray(shape: problem.shape, scalars: t))
        expectClose(
          loss: loss.scalars.map(Double.init), gradient: nil,
          reference: (reference.loss.scalars, reference.gradient.scalars),
          lossTolerance: Tolerance(relative: 2e-3, absolute: 1e-6),
          gradientTolerance: Tolerance(relative: 2e-3, absolute: 1e-3), "float16 probabilities")
        // The z-loss's p * dz puts gradients among Float16's subnormals (steps of 2^-24), whose
        // rounding the relative tolerance cannot cover: allow half a step more.
        let largest = reference.gradient.scalars.reduce(0) { max($0, abs($1)) }
        for (a, b) in zip(gradient.scalars, reference.gradient.scalars) {
          #expect(
            agrees(Double(a), b, relative: 2e-3, absolute: 1e-3 * largest + 0x1p-25),
            "float16 probabilities gradient \(a) vs \(b)")
        }
      }
    }
  #endif

  /// Half-precision problems: small and large rows (cached and online), the logit options,
  /// non-finite rows.
  static func halfProblems() -> [FloatProblem] {
    FloatProblem.halfProblems(
      [
        SoftmaxCrossEntropy(zLossScale: 1e-3),
        SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.2, logitSoftCap: 3),
        SoftmaxCrossEntropy(
          reduction: .sum, labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 8),
      ], seed: 70)
  }
}

// MARK: - The z-loss on its own

@Suite struct SoftmaxCrossEntropyZLossKernelTests {
  /// The fused z-loss report against the reference on the same (Double) values: Float within
  /// 2e-5 relative (+1e-6), Float16 (rounded to Float16) within 2e-3.
  @Test(arguments: [1, 17, 1000, 140_000])
  func matchesReference(classes: Int) throws {
    var generator = SeededGenerator(seed: UInt64(classes))
    let rows = classes > 10_000 ? 3 : 9
    let logits = (0..<rows * classes).map { _ in Float.random(in: -8...12, using: &generator) }
    var labels = (0..<rows).map { _ in Int.random(in: 0..<classes, using: &generator) }
    labels[1] = -100
    for reduction in Reduction.allCases {
      for cap: Double? in [nil, 5] {
        let ce = SoftmaxCrossEntropy(reduction: reduction, zLossScale: 0.25, logitSoftCap: cap)
        let x = try ShapedArray(shape: [rows, classes], scalars: logits)
        let y = try ShapedArray(shape: [rows], scalars: labels)
        let wide = try ShapedArray(shape: [rows, classes], scalars: logits.map(Double.init))
        for (fast, reference) in [
          (try ce.zLoss(logits: x, labels: y), try ce.zLoss(logits: wide, labels: y)),
          (try ce.zLoss(logits: x), try ce.zLoss(logits: wide)),
        ] {
          #expect(fast.shape == reference.shape)
          for (a, b) in zip(fast.scalars, reference.scalars) {
            #expect(
              agrees(Double(a), b, relative: 2e-5, absolute: 1e-6),
              "\(classes) \(reduction) \(String(describing: cap)): \(a) vs \(b)")
          }
        }
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
          let half = logits.map { Float16($0) }
          let h = try ShapedArray(shape: [rows, classes], scalars: half)
          let hw = try ShapedArray(shape: [rows, classes], scalars: half.map(Double.init))
          let fast = try ce.zLoss(logits: h, labels: y)
          let reference = try ce.zLoss(logits: hw, labels: y)
          for (a, b) in zip(fast.scalars, reference.scalars) {
            #expect(agrees(Double(a), b, relative: 2e-3, absolute: 1e-6), "float16 \(a) vs \(b)")
          }
        #endif
      }
    }
  }

  @Test func nonFiniteRowsMatchReference() throws {
    let c = 40
    var logits = [Float](repeating: 1, count: 5 * c)
    logits[3] = .nan
    logits[c + 7] = .infinity
    for i in 0..<c { logits[2 * c + i] = -.infinity }
    for i in 0..<c { logits[3 * c + i] = i % 2 == 0 ? -.infinity : .nan }
    for cap: Double? in [nil, 2] {
      let ce = SoftmaxCrossEntropy(reduction: .none, zLossScale: 0.5, logitSoftCap: cap)
      let fast = try ce.zLoss(logits: ShapedArray(shape: [5, c], scalars: logits))
      let reference = try ce.zLoss(
        logits: ShapedArray(shape: [5, c], scalars: logits.map(Double.init)))
      for (a, b) in zip(fast.scalars, reference.scalars) {
        #expect(agrees(Double(a), b, relative: 2e-5, absolute: 1e-6), "\(a) vs \(b)")
      }
    }
  }
}
