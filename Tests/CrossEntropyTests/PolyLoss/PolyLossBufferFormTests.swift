import Testing

@testable import CrossEntropy

// The caller-buffer forms of Poly-1: every form against the array form, bit for bit (see
// `BufferForms`); the in-place form with probability targets: the array form's bits (the same
// reference runs), its size errors, and an input left unchanged when one is thrown.

@Suite struct PolyLossBufferFormTests {
  @Test(arguments: [Reduction.mean, .sum, .none])
  func inPlaceTargetsMatchTheArrayForm(reduction: Reduction) throws {
    try check(Float.self, reduction: reduction)
    try check(Double.self, reduction: reduction)
  }

  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, reduction: Reduction) throws {
    let shape = [2, 3]
    let x: [Scalar] = [0.5, -1, 2, 3, 0.25, -0.75]
    let t: [Scalar] = [0.2, 0.3, 0.5, 0, 1, 0]
    let criterion = PolyLoss(epsilon: 1.5, reduction: reduction)
    let expected = try criterion.lossAndGradient(
      logits: ShapedArray(shape: shape, scalars: x), targets: ShapedArray(shape: shape, scalars: t))
    var loss = [Scalar](repeating: -7, count: reduction == .none ? 2 : 1)
    var gradient = x
    try t.withUnsafeBufferPointer { tb in
      try loss.withUnsafeMutableBufferPointer { lb in
        try gradient.withUnsafeMutableBufferPointer { gb in
          try criterion.lossAndGradient(overwriting: gb, shape: shape, targets: tb, loss: lb)
        }
      }
    }
    #expect(loss == expected.loss.scalars)
    #expect(gradient == expected.gradient.scalars)
  }

  @Test func inPlaceTargetsErrors() {
    let criterion = PolyLoss()
    func call(logits: Int, targets: Int, loss: Int, epsilon: Double = 2) throws {
      var x = [Float](repeating: 0.5, count: logits)
      let t = [Float](repeating: 0.5, count: targets)
      var l = [Float](repeating: -7, count: loss)
      defer {
        #expect(x.allSatisfy { $0 == 0.5 }, "the logits are unchanged after a throw")
        #expect(l.allSatisfy { $0 == -7 }, "the loss is unchanged after a throw")
      }
      var poly = criterion
      poly.epsilon = epsilon
      try t.withUnsafeBufferPointer { tb in
        try l.withUnsafeMutableBufferPointer { lb in
          try x.withUnsafeMutableBufferPointer { xb in
            try poly.lossAndGradient(overwriting: xb, shape: [2, 3], targets: tb, loss: lb)
          }
        }
      }
    }
    expectLossError(.shapeMismatch, "logits holds 5 elements but its shape [2, 3] needs 6") {
      try call(logits: 5, targets: 6, loss: 1)
    }
    expectLossError(
      .shapeMismatch,
      "targets hold 5 elements but logits shape [2, 3] holds 6; expected the same shape"
    ) { try call(logits: 6, targets: 5, loss: 1) }
    expectLossError(.shapeMismatch, "loss buffer holds 2 elements but reduction mean writes 1") {
      try call(logits: 6, targets: 6, loss: 2)
    }
    expectLossError(.invalidOption, "poly-1 epsilon inf is invalid; expected a finite value") {
      try call(logits: 6, targets: 6, loss: 1, epsilon: .infinity)
    }
  }

  // Every form, labels and probability targets (see `BufferForms`).

  private func checkEveryForm<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let (rows, classes) = (7, 11)
    let shape = [rows, classes]
    let logits: [Scalar] = randomValues(rows * classes, seed: 21)
    let y = randomLabels(rows, classes: classes, seed: 22, ignoredEvery: 3)
    let targets: [Scalar] = randomValues(rows * classes, seed: 23).map { abs($0) / 10 }
    for reduction in [Reduction.none, .mean, .sum] {
      let criterion = PolyLoss(epsilon: 1.5, reduction: reduction)
      let lossCount = reduction == .none ? rows : 1
      let expected = try criterion.lossAndGradient(
        logits: ShapedArray(shape: shape, scalars: logits),
        labels: ShapedArray(shape: [rows], scalars: y))
      try y.withUnsafeBufferPointer { l in
        try BufferForms(
          input: logits, lossCount: lossCount,
          loss: { try criterion.loss(logits: $0, shape: shape, labels: l, into: $1) },
          both: {
            try criterion.lossAndGradient(
              logits: $0, shape: shape, labels: l, loss: $1, gradient: $2)
          },
          overwriting: {
            try criterion.lossAndGradient(overwriting: $0, shape: shape, labels: l, loss: $1)
          }
        ).check(against: expected, "poly labels \(Scalar.self) \(reduction)")
      }
      let soft = try criterion.lossAndGradient(
        logits: ShapedArray(shape: shape, scalars: logits),
        targets: ShapedArray(shape: shape, scalars: targets))
      try targets.withUnsafeBufferPointer { t in
        try BufferForms(
          input: logits, lossCount: lossCount,
          loss: { try criterion.loss(logits: $0, shape: shape, targets: t, into: $1) },
          both: {
            try criterion.lossAndGradient(
              logits: $0, shape: shape, targets: t, loss: $1, gradient: $2)
          },
          overwriting: { x, l in
            // No overwriting form for probability targets: the separate form into the input.
            try criterion.lossAndGradient(
              logits: UnsafeBufferPointer(x), shape: shape, targets: t, loss: l,
              gradient: x)
          }
        ).check(against: soft, "poly probabilities \(Scalar.self) \(reduction)")
      }
    }
  }

  @Test func matchesTheArrayForm() throws {
    try checkEveryForm(Float.self)
    try checkEveryForm(Double.self)
  }

  @Test func emptyInputWritesNothingAndDoesNotTrap() throws {
    let empty = UnsafeBufferPointer<Float>(start: nil, count: 0)
    let none = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    try PolyLoss(reduction: .none).loss(
      logits: empty, shape: [0, 4], labels: UnsafeBufferPointer(start: nil, count: 0),
      into: none)
  }
}
