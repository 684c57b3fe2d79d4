import Testing

@testable import CrossEntropy

// The fast kernels against the reference implementation.
//
// Tolerances (fast path in its precision vs the reference in Double):
// - Float: loss within 2e-5 relative (+1e-6 absolute); gradient within 2e-5 relative per
//   element plus 1e-6 of the largest gradient magnitude.
// NaN must match NaN, infinities must match exactly.

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

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
    var generator = SplitMix(state: seed)
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

/// Whether `value` agrees with `expected` within the relative and absolute tolerances.
func agrees(_ value: Double, _ expected: Double, relative: Double, absolute: Double) -> Bool {
  if expected.isNaN { return value.isNaN }
  if expected.isInfinite { return value == expected }
  return abs(value - expected) <= relative * abs(expected) + absolute
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
  let maxGradient = reference.gradient.scalars.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }

  func checkLoss(_ loss: [Float], _ path: String) {
    for i in 0..<lossCount {
      #expect(
        agrees(Double(loss[i]), reference.loss.scalars[i], relative: 2e-5, absolute: 1e-6),
        "\(path) loss[\(i)] \(loss[i]) vs \(reference.loss.scalars[i])",
        sourceLocation: sourceLocation)
    }
  }
  func checkGradient(_ gradient: [Float], _ path: String) {
    var failures = 0
    for i in gradient.indices
    where !agrees(
      Double(gradient[i]), reference.gradient.scalars[i], relative: 2e-5,
      absolute: 1e-6 * maxGradient)
    {
      failures += 1
      if failures <= 3 {
        Issue.record(
          "\(path) gradient[\(i)] \(gradient[i]) vs \(reference.gradient.scalars[i])",
          sourceLocation: sourceLocation)
      }
    }
  }

  try problem.labels.withUnsafeBufferPointer { labels in
    try withOptionalBuffer(problem.weights) { weights in
      var loss = [Float](repeating: .nan, count: lossCount)
      try problem.logits.withUnsafeBufferPointer { logits in
        try loss.withUnsafeMutableBufferPointer { lossBuffer in
          try criterion.loss(
            logits: logits, shape: problem.shape, labels: labels, classWeights: weights,
            into: lossBuffer)
        }
      }
      checkLoss(loss, "forward")

      var gradient = [Float](repeating: .nan, count: problem.logits.count)
      loss = [Float](repeating: .nan, count: lossCount)
      try problem.logits.withUnsafeBufferPointer { logits in
        try loss.withUnsafeMutableBufferPointer { lossBuffer in
          try gradient.withUnsafeMutableBufferPointer { gradientBuffer in
            try criterion.lossAndGradient(
              logits: logits, shape: problem.shape, labels: labels, classWeights: weights,
              loss: lossBuffer, gradient: gradientBuffer)
          }
        }
      }
      checkLoss(loss, "forward+backward")
      checkGradient(gradient, "forward+backward")

      var inPlace = problem.logits
      loss = [Float](repeating: .nan, count: lossCount)
      try inPlace.withUnsafeMutableBufferPointer { logits in
        try loss.withUnsafeMutableBufferPointer { lossBuffer in
          try criterion.lossAndGradient(
            overwriting: logits, shape: problem.shape, labels: labels, classWeights: weights,
            loss: lossBuffer)
        }
      }
      checkLoss(loss, "in place")
      checkGradient(inPlace, "in place")
    }
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

@Suite(.serialized) struct KernelEquivalenceTests {
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
    for criterion in criteria {
      for classes in [1, 5, 40, 3000] {
        var problem = FloatProblem(
          rows: 8, classes: classes, seed: UInt64(classes), ignoredEvery: 0,
          criterion: criterion)
        let c = classes
        problem.logits[0 * c + c / 2] = .nan  // NaN in a finite row
        problem.logits[1 * c + c - 1] = .infinity  // +inf: the row is NaN
        for i in 0..<c { problem.logits[2 * c + i] = -.infinity }  // all -inf
        problem.logits[3 * c] = -.infinity  // one -inf
        problem.logits[4 * c + c / 3] = .nan  // NaN in an ignored row
        problem.labels[4] = criterion.ignoreIndex
        for i in 0..<c { problem.logits[5 * c + i] = i % 2 == 0 ? -.infinity : .nan }
        problem.logits[6 * c] = .infinity  // +inf in an ignored row
        problem.labels[6] = criterion.ignoreIndex
        if problem.labels[3] != criterion.ignoreIndex, c > 1 { problem.labels[3] = 0 }
        try expectMatchesReference(problem)
      }
    }
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

  @Test func threadCountSettingIsClampedAndEffective() {
    defer { Parallelism.maximumThreadCount = 0 }
    Parallelism.maximumThreadCount = -3
    #expect(Parallelism.maximumThreadCount == 0)
    #expect(Parallelism.effectiveThreadCount >= 1)
    Parallelism.maximumThreadCount = 5
    #expect(Parallelism.effectiveThreadCount == 5)
    #expect(Threads.count(rows: 1000, elementsPerRow: 10) == 1)
    #expect(Threads.count(rows: 1000, elementsPerRow: 100_000) == 5)
    #expect(Threads.count(rows: 2, elementsPerRow: 1_000_000) == 2)
  }
}
