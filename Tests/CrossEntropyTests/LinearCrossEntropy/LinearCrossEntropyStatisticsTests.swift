import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The head's statistics against ``SoftmaxCrossEntropy``'s on the materialised logits in Double,
/// on both schedules, and its loss and gradients against the plain calls, bit for bit.
///
/// Tolerances: Double within 1e-12 (relative for the log-sum-exp, absolute for the probability
/// and the entropy, scaled by 1 + log V); fp32 (fp32 products and row kernel against Double
/// logits) within 1e-5. An fp32 predicted class may differ from Double's only where the two
/// logits are within that tolerance of each other.
@Suite(.serialized) struct LinearCrossEntropyStatisticsTests {
  /// Whether `a` and `b` agree within `tolerance` (NaN with NaN, infinities exactly).
  private func close(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return abs(a - b) <= tolerance
  }

  /// Checks `statistics` against the Double statistics of the materialised logits.
  private func expectClose<Scalar: BinaryFloatingPoint>(
    _ statistics: SoftmaxStatistics<Scalar>, _ reference: SoftmaxStatistics<Double>,
    logits: [Double], classes: Int, tolerance: Double, _ what: String
  ) {
    let scale = 1 + log(Double(classes))
    for r in reference.logSumExp.scalars.indices {
      let want = reference.logSumExp.scalars[r]
      let lse = Double(statistics.logSumExp.scalars[r])
      #expect(close(lse, want, tolerance * (1 + abs(want))), "\(what) row \(r) lse \(lse) \(want)")
      let p = Double(statistics.targetProbability.scalars[r])
      let wantP = reference.targetProbability.scalars[r]
      #expect(close(p, wantP, tolerance), "\(what) row \(r) p \(p) vs \(wantP)")
      let h = Double(statistics.entropy.scalars[r])
      let wantH = reference.entropy.scalars[r]
      #expect(close(h, wantH, tolerance * scale), "\(what) row \(r) entropy \(h) vs \(wantH)")
      let predicted = statistics.predictedClass.scalars[r]
      let wantPredicted = reference.predictedClass.scalars[r]
      if predicted != wantPredicted {
        let a = logits[r * classes + predicted]
        let b = logits[r * classes + wantPredicted]
        #expect(
          Scalar.self != Double.self && abs(a - b) <= tolerance * (1 + abs(b)),
          "\(what) row \(r) argmax \(predicted) (\(a)) vs \(wantPredicted) (\(b))")
      }
    }
    #expect(statistics.labeledCount == reference.labeledCount, "\(what) labeled")
    if Scalar.self == Double.self {
      #expect(statistics.correctCount == reference.correctCount, "\(what) correct")
    }
  }

  /// Runs both statistics forms in `Scalar`, checks their loss and gradients against the plain
  /// calls bit for bit and their statistics against `reference`; returns the bits of every
  /// output.
  private func check<Scalar: BinaryFloatingPoint>(
    _ criterion: LinearCrossEntropy, _ problem: HeadProblem, as _: Scalar.Type,
    reference: SoftmaxStatistics<Double>, logits: [Double], _ what: String
  ) throws -> [UInt64] {
    let rows = problem.rows
    let hidden = try ShapedArray(
      shape: [rows, problem.size], scalars: problem.hidden.map { Scalar($0) })
    let weight = try ShapedArray(
      shape: [problem.classes, problem.size], scalars: problem.weight.map { Scalar($0) })
    let bias = try problem.bias.map {
      try ShapedArray(shape: [problem.classes], scalars: $0.map { Scalar($0) })
    }
    let labels = try ShapedArray(shape: [rows], scalars: problem.labels)
    let classWeights = problem.classWeights?.map { Scalar($0) }
    func bits(_ a: ShapedArray<Scalar>?) -> [UInt64] {
      (a?.scalars ?? []).map { Double($0).bitPattern }
    }
    let plainLoss = try criterion.loss(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
    let plain = try criterion.lossAndGradient(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
    let forward = try criterion.lossAndStatistics(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
    let backward = try criterion.lossGradientAndStatistics(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
    #expect(bits(forward.loss) == bits(plainLoss), "\(what): loss")
    #expect(bits(backward.loss) == bits(plain.loss), "\(what): loss with gradients")
    #expect(bits(backward.hiddenGradient) == bits(plain.hiddenGradient), "\(what): dH")
    #expect(bits(backward.weightGradient) == bits(plain.weightGradient), "\(what): dW")
    #expect(bits(backward.biasGradient) == bits(plain.biasGradient), "\(what): db")
    func statisticsBits(_ s: SoftmaxStatistics<Scalar>) -> [UInt64] {
      bits(s.logSumExp) + bits(s.targetProbability) + bits(s.entropy)
        + s.predictedClass.scalars.map { UInt64(bitPattern: Int64($0)) }
        + [UInt64(s.correctCount), UInt64(s.labeledCount)]
    }
    // With and without gradients the fp32 row kernel sums a row in different orders (as the
    // plain loss does), so each form is checked on its own.
    let tolerance = Scalar.self == Double.self ? 1e-12 : 1e-5
    for statistics in [forward.statistics, backward.statistics] {
      expectClose(
        statistics, reference, logits: logits, classes: problem.classes, tolerance: tolerance,
        what)
    }
    return bits(backward.loss) + bits(backward.hiddenGradient) + bits(backward.weightGradient)
      + bits(backward.biasGradient) + statisticsBits(forward.statistics)
      + statisticsBits(backward.statistics)
  }

  /// ``SoftmaxCrossEntropy``'s statistics of the materialised logits in Double.
  private func reference(
    _ criterion: LinearCrossEntropy, _ problem: HeadProblem
  ) throws -> (SoftmaxStatistics<Double>, [Double]) {
    let logits = problem.logits
    let statistics = try HeadProblem.softmax(criterion).lossAndStatistics(
      logits: ShapedArray(shape: [problem.rows, problem.classes], scalars: logits),
      labels: ShapedArray(shape: [problem.rows], scalars: problem.labels),
      classWeights: problem.classWeights
    ).statistics
    return (statistics, logits)
  }

  static let problems: [HeadProblem] = [
    .random(rows: 20, size: 3, classes: 300, bias: true, ignoring: true, scale: 3, seed: 31),
    .random(rows: 1, size: 4, classes: 37, classWeights: true, seed: 32),
    // Fewer classes than one 16-lane tile.
    .random(rows: 9, size: 2, classes: 5, bias: true, ignoring: true, seed: 33),
  ]

  static let criteria: [LinearCrossEntropy] = [
    LinearCrossEntropy(),
    LinearCrossEntropy(reduction: .none, labelSmoothing: 0.1, zLossScale: 1e-2),
    LinearCrossEntropy(reduction: .sum, logitSoftCap: 2),
  ]

  /// Both schedules (one chunk of rows; vocabulary blocks of 6 classes; blocks of 1 class),
  /// every option, in fp32 and Double.
  @Test(arguments: criteria)
  func agreesWithSoftmaxStatistics(criterion: LinearCrossEntropy) throws {
    for (index, problem) in Self.problems.enumerated() {
      let (reference, logits) = try reference(criterion, problem)
      for scratch in [LinearCrossEntropy.defaultScratchLimit, 100, 1] {
        var head = criterion
        for (bytes, name) in [(4, "Float"), (8, "Double")] {
          head.scratchLimit = scratch == 100 ? 100 * bytes : scratch
          let what = "problem \(index) scratch \(head.scratchLimit) \(name)"
          if bytes == 4 {
            _ = try check(head, problem, as: Float.self, reference: reference, logits: logits, what)
          } else {
            _ = try check(
              head, problem, as: Double.self, reference: reference, logits: logits, what)
          }
        }
      }
    }
  }

  /// Which schedule the scratch limits of ``agreesWithSoftmaxStatistics(criterion:)`` take.
  @Test func scratchLimitsTakeBothSchedules() throws {
    func blocking(_ problem: HeadProblem, _ limit: Int, _ bytes: Int) throws
      -> LinearCrossEntropyProblem.Blocking
    {
      try problem.labels.withUnsafeBufferPointer { labels in
        try LinearCrossEntropy(scratchLimit: limit).validate(
          hiddenCount: problem.hidden.count, shape: [problem.rows, problem.size],
          weightCount: problem.weight.count, weightShape: [problem.classes, problem.size],
          biasCount: nil, labels: labels, classWeights: nil, classWeightCount: nil,
          sampleWeightCount: nil, upstreamGradientCount: nil, lossCount: 1,
          hiddenGradientCount: nil, weightGradientCount: nil, biasGradientCount: nil,
          logSumExpCount: nil
        ).blocking(elementBytes: bytes)
      }
    }
    for problem in Self.problems {
      for bytes in [4, 8] {
        let chunked = try blocking(problem, LinearCrossEntropy.defaultScratchLimit, bytes)
        #expect(chunked == .rows(problem.rows))
        for limit in [100 * bytes, 1] where limit < problem.classes * bytes {
          guard case .vocabulary = try blocking(problem, limit, bytes) else {
            Issue.record("\(problem) at \(limit) bytes does not split the vocabulary")
            continue
          }
        }
      }
    }
  }

  /// A NaN hidden row and a class whose logit is -inf everywhere (its bias), on both
  /// schedules: the reference's semantics (NaN statistics, the first NaN predicted; -inf
  /// logits add nothing to the entropy).
  @Test func nonFiniteLogits() throws {
    var problem = HeadProblem.random(rows: 4, size: 2, classes: 40, bias: true, seed: 34)
    problem.hidden[2] = .nan
    problem.bias![3] = -.infinity
    problem.labels[3] = -100
    for criterion in [LinearCrossEntropy(reduction: .none), LinearCrossEntropy(logitSoftCap: 3)] {
      let (reference, logits) = try reference(criterion, problem)
      #expect(reference.logSumExp.scalars[1].isNaN)
      for scratch in [LinearCrossEntropy.defaultScratchLimit, 1] {
        var head = criterion
        head.scratchLimit = scratch
        _ = try check(
          head, problem, as: Float.self, reference: reference, logits: logits, "Float \(scratch)")
        _ = try check(
          head, problem, as: Double.self, reference: reference, logits: logits,
          "Double \(scratch)")
      }
    }
  }

  /// Every output, the statistics included, is the same bits at 1, 2, 3 and 7 threads, on
  /// both schedules.
  @Test(arguments: [LinearCrossEntropy.defaultScratchLimit, 20 * 3_500 * 8, 8 * 900 * 8])
  func threadCountsAreBitIdentical(scratchLimit: Int) throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let problem = LinearCrossEntropyScheduleTests.large
    let criterion = LinearCrossEntropy(labelSmoothing: 0.1, scratchLimit: scratchLimit)
    let (reference, logits) = try reference(criterion, problem)
    var firstFloat: [UInt64]? = nil
    var firstDouble: [UInt64]? = nil
    for threads in kernelThreadCounts {
      Parallelism.maximumThreadCount = threads
      let what = "scratch \(scratchLimit), \(threads) threads"
      let float = try check(
        criterion, problem, as: Float.self, reference: reference, logits: logits, what)
      let double = try check(
        criterion, problem, as: Double.self, reference: reference, logits: logits, what)
      #expect(float == (firstFloat ?? float), "Float, \(what)")
      #expect(double == (firstDouble ?? double), "Double, \(what)")
      firstFloat = firstFloat ?? float
      firstDouble = firstDouble ?? double
    }
  }
}
