import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The statistics forms over caller buffers (Float, Double, bfloat16, and the language-model
/// head's) against the array forms, and their count checks.
@Suite struct SoftmaxCrossEntropyStatisticsBufferTests {
  /// Bit patterns of a row of values, NaN included.
  private func bits<Scalar: BinaryFloatingPoint>(_ values: [Scalar]) -> [UInt64] {
    values.map { Double($0).bitPattern }
  }

  /// The four statistics buffers of one call, filled with a sentinel.
  private struct Outputs<Scalar: BinaryFloatingPoint> {
    var logSumExp: [Scalar]
    var predicted: [Int]
    var probability: [Scalar]
    var entropy: [Scalar]

    init(rows: Int) {
      logSumExp = .init(repeating: 7, count: rows)
      predicted = .init(repeating: -7, count: rows)
      probability = .init(repeating: 7, count: rows)
      entropy = .init(repeating: 7, count: rows)
    }

    /// Calls `body` with the four buffers.
    mutating func with<R>(
      _ body: (
        UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Int>,
        UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>
      ) throws -> R
    ) rethrows -> R {
      try logSumExp.withUnsafeMutableBufferPointer { l in
        try predicted.withUnsafeMutableBufferPointer { p in
          try probability.withUnsafeMutableBufferPointer { q in
            try entropy.withUnsafeMutableBufferPointer { h in try body(l, p, q, h) }
          }
        }
      }
    }

    /// Expects the same values as `statistics`, bit for bit.
    func expectEqual(_ statistics: SoftmaxStatistics<Scalar>, _ what: String) {
      func bits(_ values: [Scalar]) -> [UInt64] { values.map { Double($0).bitPattern } }
      #expect(bits(logSumExp) == bits(statistics.logSumExp.scalars), "\(what): lse")
      #expect(predicted == statistics.predictedClass.scalars, "\(what): predicted")
      #expect(bits(probability) == bits(statistics.targetProbability.scalars), "\(what): p")
      #expect(bits(entropy) == bits(statistics.entropy.scalars), "\(what): entropy")
    }
  }

  private func problem(rows: Int, classes: Int, seed: UInt64) -> ([Float], [Int]) {
    var generator = SeededGenerator(scrambledSeed: seed)
    // Multiples of 1/16 in [-4, 4]: exact in bfloat16.
    let logits = (0..<rows * classes).map { _ in
      Float(Int.random(in: -64...64, using: &generator)) / 16
    }
    let labels = (0..<rows).map { r in
      r % 3 == 1 ? -100 : Int.random(in: 0..<classes, using: &generator)
    }
    return (logits, labels)
  }

  @Test func bufferFormsMatchTheArrayForms() throws {
    try check(Float.self)
    try check(Double.self)
  }

  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let (rows, classes) = (11, 40)
    let (values, labels) = problem(rows: rows, classes: classes, seed: 1)
    let logits = values.map { Scalar($0) }
    let criterion = SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.1)
    let x = try ShapedArray(shape: [rows, classes], scalars: logits)
    let y = try ShapedArray(shape: [rows], scalars: labels)
    let forward = try criterion.lossAndStatistics(logits: x, labels: y)
    let backward = try criterion.lossGradientAndStatistics(logits: x, labels: y)
    var loss = [Scalar](repeating: 0, count: rows)
    var outputs = Outputs<Scalar>(rows: rows)
    let counts = try outputs.with { l, p, q, h in
      try logits.withUnsafeBufferPointer { logits in
        try labels.withUnsafeBufferPointer { labels in
          try loss.withUnsafeMutableBufferPointer { loss in
            try criterion.lossAndStatistics(
              logits: logits, shape: [rows, classes], labels: labels, into: loss, logSumExp: l,
              predictedClass: p, targetProbability: q, entropy: h)
          }
        }
      }
    }
    #expect(bits(loss) == bits(forward.loss.scalars))
    outputs.expectEqual(forward.statistics, "\(Scalar.self) forward")
    #expect(counts.correctCount == forward.statistics.correctCount)
    #expect(counts.labeledCount == forward.statistics.labeledCount)
    // In place, with only the predicted classes asked for.
    var gradient = logits
    var predicted = [Int](repeating: -1, count: rows)
    let inPlace = try gradient.withUnsafeMutableBufferPointer { g in
      try labels.withUnsafeBufferPointer { labels in
        try loss.withUnsafeMutableBufferPointer { loss in
          try predicted.withUnsafeMutableBufferPointer { p in
            try criterion.lossGradientAndStatistics(
              logits: UnsafeBufferPointer(g), shape: [rows, classes], labels: labels, loss: loss,
              gradient: g, predictedClass: p)
          }
        }
      }
    }
    #expect(bits(loss) == bits(backward.loss.scalars))
    #expect(bits(gradient) == bits(backward.gradient.scalars))
    #expect(predicted == backward.statistics.predictedClass.scalars)
    #expect(inPlace.correctCount == backward.statistics.correctCount)
  }

  @Test func wrongStatisticsCountsThrowBeforeWriting() throws {
    let (logits, labels) = problem(rows: 4, classes: 5, seed: 2)
    var loss: [Float] = [7]
    var gradient = [Float](repeating: 7, count: 20)
    var outputs = Outputs<Float>(rows: 3)
    let criterion = SoftmaxCrossEntropy()
    #expect(throws: LossError.self) {
      try outputs.with { l, p, q, h in
        try logits.withUnsafeBufferPointer { x in
          try labels.withUnsafeBufferPointer { y in
            try loss.withUnsafeMutableBufferPointer { loss in
              try gradient.withUnsafeMutableBufferPointer { g in
                try criterion.lossGradientAndStatistics(
                  logits: x, shape: [4, 5], labels: y, loss: loss, gradient: g,
                  predictedClass: p)
              }
            }
          }
        }
      }
    }
    do {
      _ = try outputs.with { l, _, _, _ in
        try logits.withUnsafeBufferPointer { x in
          try labels.withUnsafeBufferPointer { y in
            try loss.withUnsafeMutableBufferPointer { loss in
              try criterion.lossAndStatistics(
                logits: x, shape: [4, 5], labels: y, into: loss, logSumExp: l)
            }
          }
        }
      }
      Issue.record("no error")
    } catch let error as LossError {
      #expect(
        error.message == "log-sum-exp buffer holds 3 elements but the labels need 4, one per row")
    }
    #expect(loss == [7])
    #expect(gradient.allSatisfy { $0 == 7 })
    #expect(outputs.predicted.allSatisfy { $0 == -7 })
    #expect(outputs.logSumExp.allSatisfy { $0 == 7 })
  }

  /// bfloat16 logits: the loss and gradient are those of the plain bfloat16 forms, the
  /// statistics those of the fp32 array forms on the same values (classes last: the fused
  /// kernels; classes on axis 1 and the soft cap: the reference's).
  @Test(arguments: [
    (SoftmaxCrossEntropy(reduction: .none), [6, 33]),
    (SoftmaxCrossEntropy(labelSmoothing: 0.1), [6, 33]),
    (SoftmaxCrossEntropy(reduction: .sum, logitSoftCap: 2), [6, 33]),
    (SoftmaxCrossEntropy(classAxis: 1), [2, 11, 3]),
  ])
  func bfloat16MatchesFloat(criterion: SoftmaxCrossEntropy, shape: [Int]) throws {
    let count = shape.reduce(1, *)
    let axis = criterion.classAxis < 0 ? shape.count - 1 : criterion.classAxis
    let classes = shape[axis]
    let rows = count / classes
    let (values, labels) = problem(rows: rows, classes: classes, seed: 3)
    let raw = values.map { UInt16($0.bitPattern >> 16) }
    var labelShape = shape
    labelShape.remove(at: axis)
    let x = try ShapedArray(shape: shape, scalars: values)
    let y = try ShapedArray(shape: labelShape, scalars: labels)
    let reference = try criterion.lossGradientAndStatistics(logits: x, labels: y).statistics
    let lossCount = criterion.reduction == .none ? rows : 1
    var plainLoss = [Float](repeating: 0, count: lossCount)
    var plainGradient = [UInt16](repeating: 0, count: count)
    var loss = [Float](repeating: 0, count: lossCount)
    var gradient = [UInt16](repeating: 0, count: count)
    var forwardLoss = [Float](repeating: 0, count: lossCount)
    var plainForward = [Float](repeating: 0, count: lossCount)
    var outputs = Outputs<Float>(rows: rows)
    var forward = Outputs<Float>(rows: rows)
    try raw.withUnsafeBufferPointer { raw in
      try labels.withUnsafeBufferPointer { labels in
        try plainLoss.withUnsafeMutableBufferPointer { l in
          try plainGradient.withUnsafeMutableBufferPointer { g in
            try criterion.lossAndGradient(
              bfloat16Logits: raw, shape: shape, labels: labels, loss: l, gradient: g)
          }
        }
        try plainForward.withUnsafeMutableBufferPointer { l in
          try criterion.loss(bfloat16Logits: raw, shape: shape, labels: labels, into: l)
        }
        let counts = try outputs.with { lse, p, q, h in
          try loss.withUnsafeMutableBufferPointer { l in
            try gradient.withUnsafeMutableBufferPointer { g in
              try criterion.lossGradientAndStatistics(
                bfloat16Logits: raw, shape: shape, labels: labels, loss: l, gradient: g,
                logSumExp: lse, predictedClass: p, targetProbability: q, entropy: h)
            }
          }
        }
        #expect(counts.correctCount == reference.correctCount)
        #expect(counts.labeledCount == reference.labeledCount)
        try forward.with { lse, p, q, h in
          try forwardLoss.withUnsafeMutableBufferPointer { l in
            _ = try criterion.lossAndStatistics(
              bfloat16Logits: raw, shape: shape, labels: labels, into: l, logSumExp: lse,
              predictedClass: p, targetProbability: q, entropy: h)
          }
        }
      }
    }
    #expect(bits(loss) == bits(plainLoss))
    #expect(gradient == plainGradient)
    #expect(bits(forwardLoss) == bits(plainForward))
    for (what, result) in [("gradient", outputs), ("forward", forward)] {
      #expect(result.predicted == reference.predictedClass.scalars, "\(what)")
      for (a, b) in [
        (result.logSumExp, reference.logSumExp.scalars),
        (result.probability, reference.targetProbability.scalars),
        (result.entropy, reference.entropy.scalars),
      ] {
        for (u, v) in zip(a, b) {
          #expect(u.isNaN ? v.isNaN : abs(u - v) <= 1e-5 * (1 + abs(v)), "\(what): \(u) vs \(v)")
        }
      }
    }
  }

  /// The head's buffer forms (Float, and bfloat16 with fp32 outputs) against its array form.
  @Test func linearHeadBufferForms() throws {
    let (rows, size, classes) = (7, 4, 30)
    let (hiddenValues, labels) = problem(rows: rows, classes: size, seed: 4)
    let (weightValues, _) = problem(rows: classes, classes: size, seed: 5)
    var labelValues = labels
    for r in labelValues.indices where labelValues[r] >= 0 { labelValues[r] = (r * 7) % classes }
    let head = LinearCrossEntropy(reduction: .none)
    let h = try ShapedArray(shape: [rows, size], scalars: hiddenValues)
    let w = try ShapedArray(shape: [classes, size], scalars: weightValues)
    let y = try ShapedArray(shape: [rows], scalars: labelValues)
    let forward = try head.lossAndStatistics(hidden: h, weight: w, labels: y)
    let backward = try head.lossGradientAndStatistics(hidden: h, weight: w, labels: y)
    var loss = [Float](repeating: 0, count: rows)
    var outputs = Outputs<Float>(rows: rows)
    let counts = try outputs.with { lse, p, q, e in
      try hiddenValues.withUnsafeBufferPointer { hidden in
        try weightValues.withUnsafeBufferPointer { weight in
          try labelValues.withUnsafeBufferPointer { labels in
            try loss.withUnsafeMutableBufferPointer { l in
              try head.lossAndStatistics(
                hidden: hidden, shape: [rows, size], weight: weight, weightShape: [classes, size],
                labels: labels, into: l, logSumExp: lse, predictedClass: p,
                targetProbability: q, entropy: e)
            }
          }
        }
      }
    }
    #expect(bits(loss) == bits(forward.loss.scalars))
    outputs.expectEqual(forward.statistics, "head forward")
    #expect(counts.correctCount == forward.statistics.correctCount)
    #expect(counts.labeledCount == forward.statistics.labeledCount)

    // bfloat16 inputs holding the same values: the same fp32 products and row kernel.
    let rawHidden = hiddenValues.map { UInt16($0.bitPattern >> 16) }
    let rawWeight = weightValues.map { UInt16($0.bitPattern >> 16) }
    var dh = [Float](repeating: 0, count: rows * size)
    var dw = [Float](repeating: 0, count: classes * size)
    var bfloat16 = Outputs<Float>(rows: rows)
    try bfloat16.with { lse, p, q, e in
      try rawHidden.withUnsafeBufferPointer { hidden in
        try rawWeight.withUnsafeBufferPointer { weight in
          try labelValues.withUnsafeBufferPointer { labels in
            try loss.withUnsafeMutableBufferPointer { l in
              try dh.withUnsafeMutableBufferPointer { dh in
                try dw.withUnsafeMutableBufferPointer { dw in
                  _ = try head.lossGradientAndStatistics(
                    bfloat16Hidden: hidden, shape: [rows, size], bfloat16Weight: weight,
                    weightShape: [classes, size], labels: labels, loss: l, hiddenGradient: dh,
                    weightGradient: dw, logSumExp: lse, predictedClass: p, targetProbability: q,
                    entropy: e)
                }
              }
            }
          }
        }
      }
    }
    #expect(bits(loss) == bits(backward.loss.scalars))
    #expect(bits(dh) == bits(backward.hiddenGradient.scalars))
    #expect(bits(dw) == bits(backward.weightGradient.scalars))
    bfloat16.expectEqual(backward.statistics, "head bfloat16")
    var bfloat16Forward = Outputs<Float>(rows: rows)
    let forwardCounts = try bfloat16Forward.with { lse, p, q, e in
      try rawHidden.withUnsafeBufferPointer { hidden in
        try rawWeight.withUnsafeBufferPointer { weight in
          try labelValues.withUnsafeBufferPointer { labels in
            try loss.withUnsafeMutableBufferPointer { l in
              try head.lossAndStatistics(
                bfloat16Hidden: hidden, shape: [rows, size], bfloat16Weight: weight,
                weightShape: [classes, size], labels: labels, into: l, logSumExp: lse,
                predictedClass: p, targetProbability: q, entropy: e)
            }
          }
        }
      }
    }
    #expect(bits(loss) == bits(forward.loss.scalars))
    bfloat16Forward.expectEqual(forward.statistics, "head bfloat16 forward")
    #expect(forwardCounts.correctCount == forward.statistics.correctCount)
  }
}
