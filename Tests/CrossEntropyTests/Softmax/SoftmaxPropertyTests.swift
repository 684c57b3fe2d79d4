import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// Seeded property sweeps of `softmax`, `logSoftmax` and `logSumExp`; a failure names its seed.
@Suite struct SoftmaxPropertyTests {
  static let seeds: Range<UInt64> = 0..<150

  @Test func float() throws { try check(Float.self, tolerance: 2e-6) }
  @Test func double() throws { try check(Double.self, tolerance: 1e-14) }

  func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, tolerance: Scalar) throws {
    for seed in Self.seeds {
      let p = RandomClassProblem<Scalar>(seed: seed, scale: 40)
      let layout = p.layout
      let probabilities = try softmax(p.logits, alongAxis: p.classAxis)
      let logProbabilities = try logSoftmax(p.logits, alongAxis: p.classAxis)
      let lse = try logSumExp(p.logits, alongAxis: p.classAxis)
      #expect(lse.shape == layout.labelShape, "seed \(seed)")
      var sums = [Scalar](repeating: 0, count: layout.rows)
      for r in 0..<layout.rows {
        for c in 0..<layout.classes {
          let i = layout.base(ofRow: r) + c * layout.inner
          sums[r] += probabilities.scalars[i]
          #expect(probabilities.scalars[i] >= 0, "seed \(seed)")
          #expect(logProbabilities.scalars[i] <= 0, "seed \(seed)")
          // log_softmax = x - logsumexp
          let difference = p.logits.scalars[i] - lse.scalars[r]
          #expect(
            abs(logProbabilities.scalars[i] - difference)
              <= tolerance * 4 * Swift.max(1, abs(difference)),
            "seed \(seed): logSoftmax != x - logSumExp")
        }
      }
      expectClose(
        sums, [Scalar](repeating: 1, count: layout.rows), tolerance: tolerance * 4,
        "seed \(seed): softmax row sums")
      expectClose(
        logProbabilities.scalars.map { Scalar(Double.exp(Double($0))) }, probabilities.scalars,
        tolerance: tolerance * 4, "seed \(seed): exp(logSoftmax) vs softmax")
    }
  }

  @Test func emptyBatchOfAHugeClassCountGivesEmptyResults() throws {
    let (logits, _) = try emptyBatchOfAHugeClassCount()
    #expect(try logSoftmax(logits).scalars.isEmpty)
    #expect(try logSumExp(logits).shape == [0])
  }
}
