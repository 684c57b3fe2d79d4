import Testing

@testable import CrossEntropy

// The caller-buffer and in-place forms of binary cross-entropy on probabilities: the array
// form's bits (the same reference runs), every size and value error, and nothing written when
// one is thrown.

/// The array form's loss and gradient, then each buffer form's, for one problem.
private func expectBufferFormsMatch<Scalar: BinaryFloatingPoint>(
  _: Scalar.Type, reduction: Reduction, weighted: Bool,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let shape = [2, 3]
  let p: [Scalar] = [0.1, 0.5, 0.9, 0.25, 0.999, 0.001]
  let y: [Scalar] = [0, 1, 1, 0.5, 0, 1]
  let weight = weighted ? try ShapedArray<Scalar>(shape: [3], scalars: [0.5, 2, 1.5]) : nil
  let criterion = BinaryCrossEntropy(reduction: reduction)
  let expected = try criterion.lossAndGradient(
    probabilities: ShapedArray(shape: shape, scalars: p),
    targets: ShapedArray(shape: shape, scalars: y), weight: weight)
  let lossOnly = try criterion.loss(
    probabilities: ShapedArray(shape: shape, scalars: p),
    targets: ShapedArray(shape: shape, scalars: y), weight: weight)
  let lossCount = reduction == .none ? 6 : 1
  var loss = [Scalar](repeating: -7, count: lossCount)
  var gradient = [Scalar](repeating: -7, count: 6)
  var inPlace = p
  try p.withUnsafeBufferPointer { pb in
    try y.withUnsafeBufferPointer { yb in
      try loss.withUnsafeMutableBufferPointer { lb in
        try criterion.loss(probabilities: pb, shape: shape, targets: yb, weight: weight, into: lb)
      }
      #expect(loss == lossOnly.scalars, sourceLocation: sourceLocation)
      loss = [Scalar](repeating: -7, count: lossCount)
      try loss.withUnsafeMutableBufferPointer { lb in
        try gradient.withUnsafeMutableBufferPointer { gb in
          try criterion.lossAndGradient(
            probabilities: pb, shape: shape, targets: yb, weight: weight, loss: lb, gradient: gb)
        }
      }
      #expect(loss == expected.loss.scalars, sourceLocation: sourceLocation)
      #expect(gradient == expected.gradient.scalars, sourceLocation: sourceLocation)
      loss = [Scalar](repeating: -7, count: lossCount)
      try loss.withUnsafeMutableBufferPointer { lb in
        try inPlace.withUnsafeMutableBufferPointer { xb in
          try criterion.lossAndGradient(
            overwritingProbabilities: xb, shape: shape, targets: yb, weight: weight, loss: lb)
        }
      }
      #expect(loss == expected.loss.scalars, sourceLocation: sourceLocation)
      #expect(inPlace == expected.gradient.scalars, sourceLocation: sourceLocation)
    }
  }
}

/// Runs `body` with probabilities (0.5), targets (0.5), a loss and a gradient buffer of the
/// given sizes, and checks afterwards that none of them was written.
private func withBuffers(
  input: Int, targets: Int, loss: Int, gradient: Int, inputValue: Float = 0.5,
  _ body: (
    UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>,
    UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>
  ) throws -> Void
) rethrows {
  var x = [Float](repeating: inputValue, count: input)
  let y = [Float](repeating: 0.5, count: targets)
  var lossBuffer = [Float](repeating: -7, count: loss)
  var gradientBuffer = [Float](repeating: -7, count: gradient)
  defer {
    #expect(x.allSatisfy { $0 == inputValue }, "the input is unchanged after a throw")
    #expect(lossBuffer.allSatisfy { $0 == -7 }, "the loss is unchanged after a throw")
    #expect(gradientBuffer.allSatisfy { $0 == -7 }, "the gradient is unchanged after a throw")
  }
  try x.withUnsafeMutableBufferPointer { xb in
    try y.withUnsafeBufferPointer { yb in
      try lossBuffer.withUnsafeMutableBufferPointer { lb in
        try gradientBuffer.withUnsafeMutableBufferPointer { gb in
          try body(xb, yb, lb, gb)
        }
      }
    }
  }
}

@Suite struct BinaryCrossEntropyBufferFormTests {
  @Test(arguments: [Reduction.mean, .sum, .none], [false, true])
  func probabilityFormsMatchTheArrayForm(reduction: Reduction, weighted: Bool) throws {
    try expectBufferFormsMatch(Float.self, reduction: reduction, weighted: weighted)
    try expectBufferFormsMatch(Double.self, reduction: reduction, weighted: weighted)
  }

  @Test func emptyProbabilities() throws {
    let criterion = BinaryCrossEntropy(reduction: .sum)
    var loss: [Float] = [-7]
    try loss.withUnsafeMutableBufferPointer { lb in
      try criterion.loss(
        probabilities: UnsafeBufferPointer(start: nil, count: 0), shape: [0],
        targets: UnsafeBufferPointer(start: nil, count: 0), into: lb)
    }
    #expect(loss == [0])
  }

  @Test func probabilityBufferErrors() {
    let criterion = BinaryCrossEntropy()
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "probabilities holds 5 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 5, targets: 6, loss: 1, gradient: 6) { x, y, l, _ in
        try criterion.loss(probabilities: UnsafeBufferPointer(x), shape: shape, targets: y, into: l)
      }
    }
    expectLossError(
      .shapeMismatch,
      "targets hold 5 elements but probabilities shape [2, 3] holds 6; expected the same shape"
    ) {
      try withBuffers(input: 6, targets: 5, loss: 1, gradient: 6) { x, y, l, _ in
        try criterion.lossAndGradient(
          overwritingProbabilities: x, shape: shape, targets: y, loss: l)
      }
    }
    expectLossError(
      .shapeMismatch, "gradient holds 7 elements but probabilities shape [2, 3] holds 6"
    ) {
      try withBuffers(input: 6, targets: 6, loss: 1, gradient: 7) { x, y, l, g in
        try criterion.lossAndGradient(
          probabilities: UnsafeBufferPointer(x), shape: shape, targets: y, loss: l, gradient: g)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 6 elements but reduction mean writes 1") {
      try withBuffers(input: 6, targets: 6, loss: 6, gradient: 6) { x, y, l, _ in
        try criterion.lossAndGradient(
          overwritingProbabilities: x, shape: shape, targets: y, loss: l)
      }
    }
    expectLossError(
      .shapeMismatch,
      "weight shape [3, 1] does not broadcast to the target shape [2, 3] (right-aligned"
        + " broadcasting)"
    ) {
      try withBuffers(input: 6, targets: 6, loss: 1, gradient: 6) { x, y, l, _ in
        try criterion.lossAndGradient(
          overwritingProbabilities: x, shape: shape, targets: y,
          weight: ShapedArray(shape: [3, 1], scalars: [1, 2, 3]), loss: l)
      }
    }
    expectLossError(.valueOutOfRange, "probability 1.5 at position [0, 0] is outside [0, 1]") {
      try withBuffers(input: 6, targets: 6, loss: 1, gradient: 6, inputValue: 1.5) { x, y, l, _ in
        try criterion.lossAndGradient(
          overwritingProbabilities: x, shape: shape, targets: y, loss: l)
      }
    }
  }
}
