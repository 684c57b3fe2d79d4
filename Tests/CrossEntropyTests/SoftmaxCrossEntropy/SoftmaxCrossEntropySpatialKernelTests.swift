import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused kernel for a class axis that is not last (FusedSoftmaxSpatial) against the reference
// implementation, on (outer, classes, inner) logits with the classes on axis 1.
//
// Tolerances as in SoftmaxCrossEntropyKernelTests: Float loss within 2e-5 relative (+1e-6
// absolute), gradient within 2e-5 relative per element plus 1e-6 of the largest gradient
// magnitude (probability targets: 4e-5). Float16: 2e-3 for both; bfloat16: loss 2e-5, gradient 8e-3.
// NaN must match NaN, infinities must match exactly.

/// One spatial problem: logits (outer, classes, inner...) with the classes on axis 1.
struct SpatialProblem {
  var shape: [Int]
  var logits: [Float]
  var labels: [Int]
  var targets: [Float]
  var weights: [Float]?
  var criterion: SoftmaxCrossEntropy

  var classes: Int { shape[1] }
  var labelShape: [Int] { [shape[0]] + shape.dropFirst(2) }
  var positions: Int { labelShape.reduce(1, *) }

  init(
    shape: [Int], seed: UInt64, spread: Float = 4, weighted: Bool = false, ignoredEvery: Int = 0,
    criterion: SoftmaxCrossEntropy = SoftmaxCrossEntropy()
  ) {
    var generator = SeededGenerator(seed: seed)
    self.shape = shape
    var criterion = criterion
    criterion.classAxis = 1
    self.criterion = criterion
    let count = shape.reduce(1, *)
    let classes = shape[1]
    logits = (0..<count).map { _ in Float.random(in: -spread...spread, using: &generator) + 3 }
    let positions = count / classes
    labels = (0..<positions).map { r in
      ignoredEvery > 0 && r % ignoredEvery == 1
        ? criterion.ignoreIndex : Int.random(in: 0..<classes, using: &generator)
    }
    targets = (0..<count).map { _ in Float.random(in: 0...1, using: &generator) }
    weights =
      weighted ? (0..<classes).map { _ in Float.random(in: 0.1...2, using: &generator) } : nil
  }

  /// The reference's loss and gradient in Double, on logits given as Double values.
  func reference(
    logits values: [Double]? = nil, probabilities: Bool = false, weights w: [Double]? = nil
  ) throws -> (loss: [Double], gradient: [Double]) {
    let x = try ShapedArray(shape: shape, scalars: values ?? logits.map(Double.init))
    let weights = w ?? self.weights?.map(Double.init)
    let result =
      probabilities
      ? try criterion.lossAndGradient(
        logits: x,
        targets: ShapedArray(shape: shape, scalars: targets.map(Double.init)),
        classWeights: weights)
      : try criterion.lossAndGradient(
        logits: x, labels: ShapedArray(shape: labelShape, scalars: labels),
        classWeights: weights)
    return (result.loss.scalars, result.gradient.scalars)
  }

  /// Forward only, forward + backward into a buffer, and in place, in fp32.
  func fastResults(
    probabilities: Bool = false
  ) throws -> [(path: String, loss: [Float], gradient: [Float]?)] {
    try bufferFormResults(
      criterion, logits: logits, shape: shape, labels: labels,
      probabilities: probabilities ? targets : nil, weights: weights,
      lossCount: criterion.reduction == .none ? positions : 1)
  }

  /// Checks every fp32 entry point against the reference.
  func expectMatchesReference(
    probabilities: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let reference = try self.reference(probabilities: probabilities)
    let tolerance = probabilities ? 4e-5 : 2e-5
    for (path, loss, gradient) in try fastResults(probabilities: probabilities) {
      expectClose(
        loss: loss.map(Double.init), gradient: gradient?.map(Double.init),
        reference: reference, lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
        gradientTolerance: Tolerance(relative: tolerance, absolute: tolerance / 2),
        "\(shape) \(criterion.reduction) e=\(criterion.labelSmoothing) w=\(weights != nil) \(path)",
        sourceLocation: sourceLocation)
    }
  }
}

@Suite(.serialized) struct SoftmaxCrossEntropySpatialKernelTests {
  /// (outer, classes, inner...) shapes: one and two classes, odd inner extents around the
  /// vector width, a class axis longer than the kernel's fp32 block (512), a 4-D input.
  static let shapes: [[Int]] = [
    [1, 1, 2], [3, 1, 17], [2, 2, 3], [2, 5, 15], [1, 5, 16], [3, 7, 17], [2, 21, 33],
    [1, 64, 100], [2, 3, 300], [1, 513, 19], [1, 1000, 5], [1, 1100, 17], [2, 21, 5, 7],
  ]

  @Test(arguments: shapes)
  func floatLabelsMatchReference(shape: [Int]) throws {
    for (k, criterion) in criteria.enumerated() {
      for weighted in [false, true] {
        try SpatialProblem(
          shape: shape, seed: UInt64(shape.reduce(0, +) * 10 + k), weighted: weighted,
          ignoredEvery: 3, criterion: criterion
        ).expectMatchesReference()
      }
    }
  }

  @Test(arguments: shapes)
  func floatProbabilityTargetsMatchReference(shape: [Int]) throws {
    for criterion in [
      SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.2),
      SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.05),
    ] {
      for weighted in [false, true] {
        try SpatialProblem(
          shape: shape, seed: UInt64(shape.reduce(0, +) + 3), spread: 10, weighted: weighted,
          criterion: criterion
        ).expectMatchesReference(probabilities: true)
      }
    }
  }

  @Test func floatNonFiniteColumnsMatchReference() throws {
    for criterion in criteria {
      for classes in [1, 5, 40, 600] {
        // 84 positions: a full tile of 64 (four columns) and a partial one of 20.
        var problem = SpatialProblem(shape: [2, classes, 84], seed: UInt64(classes))
        problem.criterion = criterion
        problem.criterion.classAxis = 1
        let inner = 84
        func at(_ o: Int, _ c: Int, _ p: Int) -> Int { (o * classes + c) * inner + p }
        problem.logits[at(0, classes / 2, 0)] = .nan  // NaN in a finite position
        problem.logits[at(0, classes - 1, 1)] = .infinity  // +inf: the position is NaN
        for c in 0..<classes { problem.logits[at(0, c, 2)] = -.infinity }  // all -inf
        problem.logits[at(0, 0, 3)] = -.infinity  // one -inf
        problem.logits[at(0, classes / 3, 4)] = .nan  // NaN at an ignored position
        problem.labels[4] = criterion.ignoreIndex
        for c in 0..<classes { problem.logits[at(1, c, 18)] = c % 2 == 0 ? -.infinity : .nan }
        problem.logits[at(1, 0, 17)] = .infinity  // +inf at an ignored position
        problem.labels[84 + 17] = criterion.ignoreIndex
        problem.logits[at(1, 0, 5)] = .nan  // NaN in a full column with no other problem
        problem.logits[at(1, 0, 70)] = .nan  // in the partial tile
        problem.logits[at(0, classes - 1, 80)] = .infinity
        if problem.labels[3] != criterion.ignoreIndex, classes > 1 { problem.labels[3] = 0 }
        try problem.expectMatchesReference()
        problem.criterion.ignoreIndex = -100  // probability targets take no ignore index
        try problem.expectMatchesReference(probabilities: true)
      }
    }
  }

  @Test func floatResultsAreBitIdenticalForAnyThreadCount() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    for (criterion, probabilities) in [
      (SoftmaxCrossEntropy(reduction: .none), false),
      (SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.1), false),
      (SoftmaxCrossEntropy(labelSmoothing: 0.1), true),
    ] {
      // 468K logits in 15 chunks: up to 7 threads.
      let problem = SpatialProblem(
        shape: [3, 30, 5203], seed: 7, weighted: true, ignoredEvery: 5, criterion: criterion)
      var first: [(String, [Float], [Float]?)]? = nil
      for threads in [1, 2, 3, 7] {
        Parallelism.maximumThreadCount = threads
        let results = try problem.fastResults(probabilities: probabilities)
        #expect(results[0].1.map(\.bitPattern) == results[1].1.map(\.bitPattern))
        if let first {
          for (a, b) in zip(first, results) {
            #expect(a.1.map(\.bitPattern) == b.1.map(\.bitPattern), "\(threads) \(a.0)")
            #expect(
              a.2.map { $0.map(\.bitPattern) } == b.2.map { $0.map(\.bitPattern) },
              "\(threads) \(a.0)")
          }
        } else {
          first = results
        }
      }
    }
  }

  /// Problems for the half-precision paths.
  static func halfProblems() -> [SpatialProblem] {
    var problems: [SpatialProblem] = []
    for (k, shape) in [[2, 1, 3], [2, 17, 20], [1, 600, 33], [3, 21, 4, 5]].enumerated() {
      for criterion in [
        SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.2),
        SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.1),
      ] {
        var problem = SpatialProblem(
          shape: shape, seed: UInt64(k + 50), weighted: k % 2 == 1, ignoredEvery: 3,
          criterion: criterion)
        if shape[1] == 17 {
          problem.logits[3] = .nan
          problem.logits[20 * 5 + 2] = .infinity
        }
        problems.append(problem)
      }
    }
    return problems
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16MatchesReference() throws {
      for problem in Self.halfProblems() { try expectFloat16MatchesReference(problem) }
    }
  #endif

  @Test func bfloat16MatchesReference() throws {
    for problem in Self.halfProblems() { try expectBFloat16MatchesReference(problem) }
  }
}

extension SoftmaxCrossEntropySpatialKernelTests {
  /// The public entry points reach the spatial kernel (the equivalence tests above would pass
  /// on the reference path too): their results equal a direct call bit for bit.
  @Test func publicCallsRunTheSpatialKernel() throws {
    let problem = SpatialProblem(
      shape: [2, 21, 37], seed: 3, weighted: true, ignoredEvery: 4,
      criterion: SoftmaxCrossEntropy(labelSmoothing: 0.1))
    let results = try problem.fastResults()
    let layout = try ClassLayout(shape: problem.shape, classAxis: 1)
    var loss: Float = .nan
    var gradient = [Float](repeating: .nan, count: problem.logits.count)
    problem.logits.withUnsafeBufferPointer { x in
      problem.labels.withUnsafeBufferPointer { y in
        problem.weights!.withUnsafeBufferPointer { w in
          gradient.withUnsafeMutableBufferPointer { g in
            withUnsafeMutablePointer(to: &loss) { l in
              FusedSoftmaxSpatial.run(
                logits: x.baseAddress!, labels: y, classWeights: w,
                problem: SoftmaxProblem(
                  layout: layout, ignoreIndex: -100, labelSmoothing: 0.1, reduction: .mean),
                loss: UnsafeMutableBufferPointer(start: l, count: 1), gradient: g.baseAddress,
                FloatStorage.self)
            }
          }
        }
      }
    }
    #expect(results[1].1[0].bitPattern == loss.bitPattern)
    #expect(results[1].2!.map(\.bitPattern) == gradient.map(\.bitPattern))
    // The reference evaluated in fp32 would not round every element the same way.
    let reference = try problem.reference()
    #expect(gradient.map(\.bitPattern) != reference.gradient.map { Float($0).bitPattern })
  }
}
