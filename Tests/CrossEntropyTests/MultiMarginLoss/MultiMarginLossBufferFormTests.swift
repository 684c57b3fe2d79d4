import Testing

@testable import CrossEntropy

/// The caller-buffer forms of ``MultiMarginLoss`` against its array forms (see `BufferForms`).
@Suite struct MultiMarginLossBufferFormTests {
  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let (rows, classes) = (6, 9)
    let shape = [rows, classes]
    let logits: [Scalar] = randomValues(rows * classes, seed: 31, spread: 1)
    let y = randomLabels(rows, classes: classes, seed: 32)
    let weights: [Scalar] = randomValues(classes, seed: 33).map { abs($0) + 0.5 }
    for reduction in [Reduction.none, .mean, .sum] {
      for (p, weighted) in [(1, false), (2, true)] {
        let criterion = MultiMarginLoss(reduction: reduction, p: p, margin: 0.7)
        let expected = try criterion.lossAndGradient(
          logits: ShapedArray(shape: shape, scalars: logits),
          labels: ShapedArray(shape: [rows], scalars: y), classWeights: weighted ? weights : nil)
        try y.withUnsafeBufferPointer { l in
          try weights.withUnsafeBufferPointer { w in
            let w = weighted ? w : nil
            try BufferForms(
              input: logits, lossCount: reduction == .none ? rows : 1,
              loss: {
                try criterion.loss(logits: $0, shape: shape, labels: l, classWeights: w, into: $1)
              },
              both: {
                try criterion.lossAndGradient(
                  logits: $0, shape: shape, labels: l, classWeights: w, loss: $1, gradient: $2)
              },
              overwriting: {
                try criterion.lossAndGradient(
                  overwriting: $0, shape: shape, labels: l, classWeights: w, loss: $1)
              }
            ).check(against: expected, "multi-margin \(Scalar.self) p \(p) \(reduction)")
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
