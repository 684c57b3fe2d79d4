import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The statistics of `lossAndStatistics` and `lossGradientAndStatistics` against a direct
// Double computation from the logits, and their loss and gradient against the plain calls,
// bit for bit.
//
// Tolerances (fp32 kernel vs Double): log-sum-exp within 1e-5 relative (+1e-5), the target
// probability within 1e-5, the entropy within 2e-5 (1 + log C). Double within 1e-12.

/// The statistics of one row computed directly in Double from the definitions: the argmax as
/// `torch.argmax` (first NaN, else first maximum), `H = lse - sum_c p_c x_c`.
private func direct(_ row: [Double], label: Int?) -> RowStatistics {
  var predicted = 0
  if let nan = row.firstIndex(where: \.isNaN) {
    predicted = nan
  } else {
    predicted = row.firstIndex(of: row.max()!) ?? 0
  }
  // The maximum ignoring NaN; a row of -inf has log-sum-exp -inf (log 0).
  let m = row.filter { !$0.isNaN }.max() ?? .nan
  let lse = m == -.infinity ? m : m + log(row.reduce(0) { $0 + exp($1 - m) })
  var weighted = 0.0
  for x in row {
    let p = exp(x - lse)
    if p != 0 { weighted += p * x }
  }
  return RowStatistics(
    logSumExp: lse, predictedClass: predicted,
    targetProbability: label.map { exp(row[$0] - lse) } ?? .nan,
    entropy: lse - weighted)
}

/// The rows of `logits` (classes on `axis` of `shape`) in Double.
private func rows<Scalar: BinaryFloatingPoint>(
  _ logits: [Scalar], shape: [Int], axis: Int
) -> [[Double]] {
  let classes = shape[axis]
  let inner = shape[(axis + 1)...].reduce(1, *)
  let outer = shape[..<axis].reduce(1, *)
  return (0..<outer * inner).map { r in
    let (o, i) = r.quotientAndRemainder(dividingBy: inner)
    return (0..<classes).map { c in Double(logits[(o * classes + c) * inner + i]) }
  }
}

private func close(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool {
  if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
  if a.isInfinite || b.isInfinite { return a == b }
  return abs(a - b) <= tolerance
}

/// Checks statistics against the direct computation on `logits`.
private func expectStatistics<Scalar: BinaryFloatingPoint>(
  _ statistics: SoftmaxStatistics<Scalar>, logits: [Scalar], shape: [Int], axis: Int,
  labels: [Int], ignoreIndex: Int = -100, tolerance: Double,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let rows = rows(logits, shape: shape, axis: axis)
  var correct = 0
  var labeled = 0
  for (r, row) in rows.enumerated() {
    let label = labels[r] == ignoreIndex ? nil : labels[r]
    let want = direct(row, label: label)
    let classes = Double(row.count)
    let lse = Double(statistics.logSumExp.scalars[r])
    #expect(
      close(lse, want.logSumExp, tolerance * (1 + abs(want.logSumExp))),
      "row \(r) lse \(lse) vs \(want.logSumExp)", sourceLocation: sourceLocation)
    #expect(
      statistics.predictedClass.scalars[r] == want.predictedClass, "row \(r) argmax",
      sourceLocation: sourceLocation)
    let p = Double(statistics.targetProbability.scalars[r])
    #expect(
      close(p, want.targetProbability, tolerance), "row \(r) p \(p) vs \(want.targetProbability)",
      sourceLocation: sourceLocation)
    let h = Double(statistics.entropy.scalars[r])
    #expect(
      close(h, want.entropy, 2 * tolerance * (1 + log(classes))),
      "row \(r) entropy \(h) vs \(want.entropy)", sourceLocation: sourceLocation)
    if let label {
      labeled += 1
      if want.predictedClass == label { correct += 1 }
    }
  }
  #expect(statistics.labeledCount == labeled, sourceLocation: sourceLocation)
  #expect(statistics.correctCount == correct, sourceLocation: sourceLocation)
  if labeled > 0 {
    #expect(
      statistics.accuracy == Double(correct) / Double(labeled), sourceLocation: sourceLocation)
  } else {
    #expect(statistics.accuracy.isNaN, sourceLocation: sourceLocation)
  }
}

/// Runs both statistics forms and checks their loss and gradient against the plain calls bit
/// for bit, then their statistics against the direct computation; returns the statistics.
@discardableResult
private func expectStatisticsMatch<Scalar: BinaryFloatingPoint>(
  _ criterion: SoftmaxCrossEntropy, logits: [Scalar], shape: [Int], labels: [Int],
  classWeights: [Scalar]? = nil, tolerance: Double,
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> SoftmaxStatistics<Scalar> {
  let axis = criterion.classAxis < 0 ? criterion.classAxis + shape.count : criterion.classAxis
  var labelShape = shape
  labelShape.remove(at: axis)
  let x = try ShapedArray(shape: shape, scalars: logits)
  let y = try ShapedArray(shape: labelShape, scalars: labels)
  let plainLoss = try criterion.loss(logits: x, labels: y, classWeights: classWeights)
  let plain = try criterion.lossAndGradient(logits: x, labels: y, classWeights: classWeights)
  let forward = try criterion.lossAndStatistics(logits: x, labels: y, classWeights: classWeights)
  let backward = try criterion.lossGradientAndStatistics(
    logits: x, labels: y, classWeights: classWeights)
  func bits(_ a: ShapedArray<Scalar>) -> [[UInt8]] {
    a.scalars.map { value in withUnsafeBytes(of: value) { Array($0) } }
  }
  #expect(bits(forward.loss) == bits(plainLoss), "loss", sourceLocation: sourceLocation)
  #expect(bits(backward.loss) == bits(plain.loss), "loss", sourceLocation: sourceLocation)
  #expect(
    bits(backward.gradient) == bits(plain.gradient), "gradient", sourceLocation: sourceLocation)
  #expect(forward.loss.shape == plainLoss.shape, sourceLocation: sourceLocation)
  #expect(forward.statistics.logSumExp.shape == labelShape, sourceLocation: sourceLocation)
  // The forward pass takes the online passes, so its values may differ in the last bit.
  #expect(
    forward.statistics.predictedClass == backward.statistics.predictedClass,
    sourceLocation: sourceLocation)
  expectStatistics(
    forward.statistics, logits: logits, shape: shape, axis: axis, labels: labels,
    ignoreIndex: criterion.ignoreIndex, tolerance: tolerance, sourceLocation: sourceLocation)
  expectStatistics(
    backward.statistics, logits: logits, shape: shape, axis: axis, labels: labels,
    ignoreIndex: criterion.ignoreIndex, tolerance: tolerance, sourceLocation: sourceLocation)
  return backward.statistics
}

/// Random logits with ties: row 0 constant, row 1 with its maximum twice.
private func logitsWithTies(rows: Int, classes: Int, seed: UInt64) -> [Float] {
  var generator = SeededGenerator(seed: seed)
  var x = (0..<rows * classes).map { _ in Float.random(in: -6...6, using: &generator) }
  for c in 0..<classes { x[c] = 1.5 }
  if rows > 1, classes > 2 {
    x[classes + 1] = 20
    x[2 * classes - 1] = 20
  }
  return x
}

private func labels(rows: Int, classes: Int, seed: UInt64, ignoredEvery: Int = 3) -> [Int] {
  var generator = SeededGenerator(seed: seed)
  return (0..<rows).map { r in
    r % ignoredEvery == 2 ? -100 : Int.random(in: 0..<classes, using: &generator)
  }
}

@Suite(.serialized) struct SoftmaxCrossEntropyStatisticsTests {
  @Test func floatClassesLastMatchesDirect() throws {
    for classes in [1, 15, 16, 17, 100] {
      let rows = 9
      let x = logitsWithTies(rows: rows, classes: classes, seed: UInt64(classes))
      let y = labels(rows: rows, classes: classes, seed: 3)
      for criterion in [
        SoftmaxCrossEntropy(), SoftmaxCrossEntropy(reduction: .none),
        SoftmaxCrossEntropy(reduction: .sum, labelSmoothing: 0.1, zLossScale: 1e-3),
      ] {
        let statistics = try expectStatisticsMatch(
          criterion, logits: x, shape: [rows, classes], labels: y,
          classWeights: (0..<classes).map { Float($0 % 3) + 0.5 }, tolerance: 1e-5)
        #expect(statistics.predictedClass.scalars[0] == 0)
        if classes > 2 { #expect(statistics.predictedClass.scalars[1] == 1) }
      }
    }
  }

  @Test func floatLargeRowsTakeTheOnlinePasses() throws {
    // 70 000 classes: the gradient row and the logits do not fit the cached path.
    let classes = 70_000
    let x = logitsWithTies(rows: 3, classes: classes, seed: 11)
    try expectStatisticsMatch(
      SoftmaxCrossEntropy(reduction: .none), logits: x, shape: [3, classes],
      labels: [5, 69_999, -100], tolerance: 1e-5)
  }

  @Test func floatStatisticsAreBitIdenticalForAnyThreadCount() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let (rows, classes) = (67, 3000)
    let x = try ShapedArray(
      shape: [rows, classes], scalars: logitsWithTies(rows: rows, classes: classes, seed: 5))
    let y = try ShapedArray(shape: [rows], scalars: labels(rows: rows, classes: classes, seed: 6))
    var firsts: [SoftmaxStatistics<Float>] = []
    for threads in [1, 2, 3, 7] {
      Parallelism.maximumThreadCount = threads
      let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)
      let forward = try criterion.lossAndStatistics(logits: x, labels: y).statistics
      let backward = try criterion.lossGradientAndStatistics(logits: x, labels: y).statistics
      for (path, statistics) in [forward, backward].enumerated() {
        if firsts.count > path {
          let first = firsts[path]
          #expect(
            first.logSumExp.scalars.map(\.bitPattern)
              == statistics.logSumExp.scalars.map(\.bitPattern))
          #expect(
            first.entropy.scalars.map(\.bitPattern) == statistics.entropy.scalars.map(\.bitPattern))
          #expect(
            first.targetProbability.scalars.map(\.bitPattern)
              == statistics.targetProbability.scalars.map(\.bitPattern))
          #expect(first.predictedClass == statistics.predictedClass)
        } else {
          firsts.append(statistics)
        }
      }
    }
  }

  @Test func doubleMatchesDirect() throws {
    for classes in [1, 17, 100] {
      let x = logitsWithTies(rows: 7, classes: classes, seed: 9).map(Double.init)
      try expectStatisticsMatch(
        SoftmaxCrossEntropy(reduction: .none), logits: x, shape: [7, classes],
        labels: labels(rows: 7, classes: classes, seed: 1), tolerance: 1e-12)
    }
  }

  @Test func spatialLayoutMatchesDirect() throws {
    let shape = [2, 5, 3, 2]
    var generator = SeededGenerator(seed: 4)
    let x = (0..<60).map { _ in Float.random(in: -5...5, using: &generator) }
    let y = (0..<12).map { r in r % 5 == 3 ? -100 : r % 5 }
    try expectStatisticsMatch(
      SoftmaxCrossEntropy(classAxis: 1), logits: x, shape: shape, labels: y, tolerance: 1e-5)
    try expectStatisticsMatch(
      SoftmaxCrossEntropy(classAxis: 1), logits: x.map(Double.init), shape: shape, labels: y,
      tolerance: 1e-12)
  }

  @Test func softCapStatisticsAreOfTheCappedLogits() throws {
    let cap = 3.0
    let x: [Float] = [1, 8, -2, 0.5, 4, 4, 2, -7]
    let criterion = SoftmaxCrossEntropy(logitSoftCap: cap)
    let result = try criterion.lossAndStatistics(
      logits: ShapedArray(shape: [2, 4], scalars: x),
      labels: ShapedArray(shape: [2], scalars: [0, 3]))
    let capped = x.map { Float(cap * tanh(Double($0) / cap)) }
    expectStatistics(
      result.statistics, logits: capped, shape: [2, 4], axis: 1, labels: [0, 3], tolerance: 1e-5)
  }

  @Test func nonFiniteRowsHaveNaNStatistics() throws {
    let inf = Float.infinity
    let classes = 20
    var x = [Float](repeating: 0, count: 5 * classes)
    for c in 0..<classes { x[c] = Float(c % 7) }
    x[3] = .nan  // row 0: a NaN after a maximum's first occurrence? (6 at index 6 comes later)
    for c in 0..<classes { x[classes + c] = Float(c) }
    x[classes + 4] = inf  // row 1: +inf
    for c in 0..<classes { x[2 * classes + c] = -inf }  // row 2: all -inf
    for c in 0..<classes { x[3 * classes + c] = c % 2 == 0 ? -inf : Float(c) / 4 }  // row 3
    for c in 0..<classes { x[4 * classes + c] = Float(c % 5) }
    x[4 * classes + 17] = .nan  // row 4: a NaN after the first maximum
    let y = [1, 2, 0, 4, 4]
    for criterion in [SoftmaxCrossEntropy(reduction: .none), SoftmaxCrossEntropy()] {
      let statistics = try expectStatisticsMatch(
        criterion, logits: x, shape: [5, classes], labels: y, tolerance: 1e-5)
      #expect(statistics.predictedClass.scalars == [3, 4, 0, 19, 17])
      #expect(statistics.logSumExp.scalars[0].isNaN)
      #expect(statistics.logSumExp.scalars[1].isNaN)
      #expect(statistics.entropy.scalars[2].isNaN)
      #expect(statistics.entropy.scalars[3].isFinite)
      #expect(statistics.targetProbability.scalars[3] == 0)
      try expectStatisticsMatch(
        criterion, logits: x.map(Double.init), shape: [5, classes], labels: y, tolerance: 1e-12)
    }
  }

  @Test func ignoredRowsAndAccuracy() throws {
    let x: [Float] = [3, 1, 0, 0, 2, 1, 5, 5, 0]
    let criterion = SoftmaxCrossEntropy(reduction: .none)
    let shaped = try ShapedArray(shape: [3, 3], scalars: x)
    let result = try criterion.lossAndStatistics(
      logits: shaped, labels: ShapedArray(shape: [3], scalars: [0, -100, 1]))
    #expect(result.statistics.predictedClass.scalars == [0, 1, 0])
    #expect(result.statistics.targetProbability.scalars[1].isNaN)
    #expect(result.statistics.entropy.scalars[1] > 0)
    #expect(result.statistics.correctCount == 1)
    #expect(result.statistics.labeledCount == 2)
    #expect(result.statistics.accuracy == 0.5)
    let none = try criterion.lossAndStatistics(
      logits: shaped, labels: ShapedArray(shape: [3], scalars: [-100, -100, -100]))
    #expect(none.statistics.accuracy.isNaN)
    #expect(none.statistics.labeledCount == 0)
    #expect(none.statistics.logSumExp.scalars.allSatisfy { $0.isFinite })
  }

  @Test func sampleWeightsAndUpstreamGradientKeepTheirBits() throws {
    let (rows, classes) = (6, 33)
    let x = try ShapedArray(
      shape: [rows, classes], scalars: logitsWithTies(rows: rows, classes: classes, seed: 2))
    let y = try ShapedArray(shape: [rows], scalars: labels(rows: rows, classes: classes, seed: 8))
    let s = try ShapedArray<Float>(shape: [rows], scalars: [1, 0.5, 2, 0, 3, 1])
    let criterion = SoftmaxCrossEntropy(reduction: .none)
    let plain = try criterion.lossAndGradient(
      logits: x, labels: y, sampleWeights: s, upstreamGradient: s)
    let withStatistics = try criterion.lossGradientAndStatistics(
      logits: x, labels: y, sampleWeights: s, upstreamGradient: s)
    #expect(plain.loss.scalars.map(\.bitPattern) == withStatistics.loss.scalars.map(\.bitPattern))
    #expect(
      plain.gradient.scalars.map(\.bitPattern) == withStatistics.gradient.scalars.map(\.bitPattern))
    let unweighted = try criterion.lossGradientAndStatistics(logits: x, labels: y)
    #expect(
      unweighted.statistics.entropy.scalars.map(\.bitPattern)
        == withStatistics.statistics.entropy.scalars.map(\.bitPattern))
  }

  @Test func emptyBatch() throws {
    let result = try SoftmaxCrossEntropy().lossAndStatistics(
      logits: ShapedArray<Float>(shape: [0, 4], scalars: []),
      labels: ShapedArray(shape: [0], scalars: []))
    #expect(result.statistics.predictedClass.shape == [0])
    #expect(result.statistics.accuracy.isNaN)
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16MatchesDirect() throws {
      let x = logitsWithTies(rows: 5, classes: 40, seed: 12).map { Float16($0) }
      try expectStatisticsMatch(
        SoftmaxCrossEntropy(reduction: .none), logits: x, shape: [5, 40],
        labels: labels(rows: 5, classes: 40, seed: 4), tolerance: 2e-3)
    }
  #endif
}
