import Testing

@testable import CrossEntropy

/// The caller-buffer `loss(...into:)` and the `overwriting:` forms of ``NegativeLogLikelihood``:
/// bit for bit the array forms' numbers, every error with its message, nothing written when
/// they throw.
@Suite struct NegativeLogLikelihoodBufferFormTests {
  @Test(arguments: [Reduction.mean, .sum, .none])
  func buffersMatchArrays(reduction: Reduction) throws {
    try check(Float.self, reduction: reduction)
    try check(Double.self, reduction: reduction)
  }

  func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, reduction: Reduction) throws {
    for (shape, axis) in [([4, 5], -1), ([2, 3, 4], 1), ([0, 3], -1)] {
      let criterion = NegativeLogLikelihood(reduction: reduction, classAxis: axis, ignoreIndex: 1)
      let layout = try ClassLayout(shape: shape, classAxis: axis)
      let input = spreadValues(layout.count, seed: 3).map { Scalar(-abs($0)) }
      let labels = (0..<layout.rows).map { $0 * 5 % layout.classes }
      let weights = (0..<layout.classes).map { Scalar(0.5 + Double($0)) }
      let expected = try criterion.lossAndGradient(
        logProbabilities: ShapedArray(shape: shape, scalars: input),
        labels: ShapedArray(shape: layout.labelShape, scalars: labels), classWeights: weights)
      var loss = [Scalar](repeating: .nan, count: expected.loss.scalars.count)
      var gradient = input
      try labels.withUnsafeBufferPointer { y in
        try weights.withUnsafeBufferPointer { w in
          try input.withUnsafeBufferPointer { x in
            try loss.withUnsafeMutableBufferPointer { l in
              try criterion.loss(
                logProbabilities: x, shape: shape, labels: y, classWeights: w, into: l)
            }
          }
          #expect(identical(loss, expected.loss.scalars), "\(Scalar.self) \(shape) \(reduction)")
          loss = [Scalar](repeating: .nan, count: loss.count)
          try gradient.withUnsafeMutableBufferPointer { x in
            try loss.withUnsafeMutableBufferPointer { l in
              try criterion.lossAndGradient(
                overwriting: x, shape: shape, labels: y, classWeights: w, loss: l)
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars), "in place \(Scalar.self) \(shape)")
      #expect(identical(gradient, expected.gradient.scalars), "in place \(Scalar.self) \(shape)")
    }
  }

  @Test func errorsWriteNothing() {
    let criterion = NegativeLogLikelihood()
    let labels = [0, 2]
    labels.withUnsafeBufferPointer { y in
      expectLossErrorWritingNothing(
        .shapeMismatch, "log-probabilities holds 5 elements but its shape [2, 3] needs 6",
        counts: [5, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try criterion.loss(
          logProbabilities: UnsafeBufferPointer(b[0]), shape: [2, 3], labels: y, into: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "log-probabilities holds 5 elements but its shape [2, 3] needs 6",
        counts: [5, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try criterion.lossAndGradient(overwriting: b[0], shape: [2, 3], labels: y, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch,
        "labels hold 2 elements but log-probabilities shape [3, 3] needs 3, one per position of"
          + " [3]",
        counts: [9, 1]
      ) { (b: [UnsafeMutableBufferPointer<Double>]) in
        try criterion.lossAndGradient(overwriting: b[0], shape: [3, 3], labels: y, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "loss buffer holds 2 elements but reduction mean writes 1",
        counts: [6, 2]
      ) { (b: [UnsafeMutableBufferPointer<Double>]) in
        try criterion.loss(
          logProbabilities: UnsafeBufferPointer(b[0]), shape: [2, 3], labels: y, into: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "loss buffer holds 1 element but reduction none writes 2",
        counts: [6, 1]
      ) { (b: [UnsafeMutableBufferPointer<Double>]) in
        try NegativeLogLikelihood(reduction: .none).lossAndGradient(
          overwriting: b[0], shape: [2, 3], labels: y, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch,
        "class weights have 2 elements but log-probabilities have 3 classes on axis 1",
        counts: [6, 1, 2]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try criterion.lossAndGradient(
          overwriting: b[0], shape: [2, 3], labels: y, classWeights: UnsafeBufferPointer(b[2]),
          loss: b[1])
      }
      expectLossErrorWritingNothing(
        .invalidAxis,
        "class axis 2 is out of range for log-probabilities of shape [2, 3] (expected -2..<2)",
        counts: [6, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try NegativeLogLikelihood(classAxis: 2).loss(
          logProbabilities: UnsafeBufferPointer(b[0]), shape: [2, 3], labels: y, into: b[1])
      }
    }
    [0, 3].withUnsafeBufferPointer { y in
      expectLossErrorWritingNothing(
        .labelOutOfRange, "label 3 at position [1] is outside 0..<3 (ignore index -100)",
        counts: [6, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try criterion.lossAndGradient(overwriting: b[0], shape: [2, 3], labels: y, loss: b[1])
      }
    }
  }
}
