import Testing

@testable import CrossEntropy

/// The caller-buffer forms of ``SoftmaxFocalLoss`` against its array forms (see `BufferForms`).
@Suite struct SoftmaxFocalLossBufferFormTests {
  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for (rows, classes) in [(5, 1), (6, 17), (3, 1000), (2, 70000)] {
      let logits: [Scalar] = randomValues(rows * classes, seed: UInt64(classes) + 10)
      let y = randomLabels(rows, classes: classes, seed: 4, ignoredEvery: 4)
      let alpha: [Scalar] = randomValues(classes, seed: 5).map { abs($0) + 0.1 }
      let shape = [rows, classes]
      for reduction in [Reduction.none, .mean, .sum] {
        for (gamma, weighted) in [(0.0, false), (2, true), (1.5, false)] {
          let criterion = SoftmaxFocalLoss(reduction: reduction, gamma: gamma)
          let arrays = try (
            ShapedArray(shape: shape, scalars: logits), ShapedArray(shape: [rows], scalars: y)
          )
          let expected = try criterion.lossAndGradient(
            logits: arrays.0, labels: arrays.1, classWeights: weighted ? alpha : nil)
          let forward = try criterion.loss(
            logits: arrays.0, labels: arrays.1, classWeights: weighted ? alpha : nil)
          try y.withUnsafeBufferPointer { l in
            try alpha.withUnsafeBufferPointer { a in
              let a = weighted ? a : nil
              try BufferForms(
                input: logits, lossCount: reduction == .none ? rows : 1,
                loss: {
                  try criterion.loss(logits: $0, shape: shape, labels: l, classWeights: a, into: $1)
                },
                both: {
                  try criterion.lossAndGradient(
                    logits: $0, shape: shape, labels: l, classWeights: a, loss: $1, gradient: $2)
                },
                overwriting: {
                  try criterion.lossAndGradient(
                    overwriting: $0, shape: shape, labels: l, classWeights: a, loss: $1)
                }
              ).check(
                against: (expected.loss, expected.gradient), forward: forward,
                "softmax focal \(Scalar.self) \(rows)x\(classes) gamma \(gamma) \(reduction)")
            }
          }
        }
      }
    }
  }

  @Test func matchesTheArrayForm() throws {
    try check(Float.self)
    try check(Double.self)
  }
}
