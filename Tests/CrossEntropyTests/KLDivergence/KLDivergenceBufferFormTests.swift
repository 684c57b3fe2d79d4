import Testing

@testable import CrossEntropy

/// The caller-buffer forms of ``KLDivergence`` against its array forms (see `BufferForms`).
@Suite struct KLDivergenceBufferFormTests {
  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let shape = [4, 5]
    let input: [Scalar] = randomValues(20, seed: 41)
    var targets: [Scalar] = randomValues(20, seed: 42).map { abs($0) / 3 }
    targets[3] = 0
    for reduction in KLDivergence.Reduction.allCases {
      for logTarget in [false, true] {
        let criterion = KLDivergence(reduction: reduction, logTarget: logTarget)
        let expected = try criterion.lossAndGradient(
          logProbabilities: ShapedArray(shape: shape, scalars: input),
          targets: ShapedArray(shape: shape, scalars: targets))
        try targets.withUnsafeBufferPointer { t in
          try BufferForms(
            input: input, lossCount: reduction == .none ? 20 : 1,
            loss: { try criterion.loss(logProbabilities: $0, shape: shape, targets: t, into: $1) },
            both: {
              try criterion.lossAndGradient(
                logProbabilities: $0, shape: shape, targets: t, loss: $1, gradient: $2)
            },
            overwriting: {
              try criterion.lossAndGradient(overwriting: $0, shape: shape, targets: t, loss: $1)
            }
          ).check(against: expected, "KL \(Scalar.self) \(reduction) log \(logTarget)")
        }
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
    try KLDivergence(reduction: .none).loss(
      logProbabilities: empty, shape: [0], targets: empty, into: none)
  }
}
