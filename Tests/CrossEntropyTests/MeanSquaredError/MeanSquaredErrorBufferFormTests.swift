import Testing

@testable import CrossEntropy

/// The caller-buffer forms of ``MeanSquaredError`` against its array forms (see `BufferForms`).
@Suite struct MeanSquaredErrorBufferFormTests {
  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let shape = [4, 5]
    let input: [Scalar] = randomValues(20, seed: 41)
    var targets: [Scalar] = randomValues(20, seed: 42).map { abs($0) / 3 }
    targets[3] = 0
    for reduction in [Reduction.none, .mean, .sum] {
      let criterion = MeanSquaredError(reduction: reduction)
      let expected = try criterion.lossAndGradient(
        predictions: ShapedArray(shape: shape, scalars: input),
        targets: ShapedArray(shape: shape, scalars: targets))
      try targets.withUnsafeBufferPointer { t in
        try BufferForms(
          input: input, lossCount: reduction == .none ? 20 : 1,
          loss: { try criterion.loss(predictions: $0, shape: shape, targets: t, into: $1) },
          both: {
            try criterion.lossAndGradient(
              predictions: $0, shape: shape, targets: t, loss: $1, gradient: $2)
          },
          overwriting: {
            try criterion.lossAndGradient(overwriting: $0, shape: shape, targets: t, loss: $1)
          }
        ).check(against: expected, "MSE \(Scalar.self) \(reduction)")
      }
    }
  }

  @Test func matchesTheArrayForm() throws {
    try check(Float.self)
    try check(Double.self)
  }

  @Test func emptyInputWritesNothingAndDoesNotTrap() throws {
    let empty = UnsafeBufferPointer<Float>(start: nil, count: 0)
    let none = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    try MeanSquaredError(reduction: .none).lossAndGradient(
      predictions: empty, shape: [0, 3], targets: empty, loss: none, gradient: none)
  }
}
