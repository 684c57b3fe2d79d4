import Testing

@testable import CrossEntropy

// The deprecated `probabilities:` forms of PolyLoss forward to the `targets:` forms.

@Suite struct PolyLossDeprecationTests {
  @available(*, deprecated)
  @Test func probabilitiesFormsForward() throws {
    let criterion = PolyLoss(epsilon: 1, reduction: .none)
    let shape = [2, 3]
    let x: [Double] = [0.5, -1, 2, 3, 0.25, -0.75]
    let t: [Double] = [0.2, 0.3, 0.5, 0, 1, 0]
    let logits = try ShapedArray(shape: shape, scalars: x)
    let targets = try ShapedArray(shape: shape, scalars: t)
    let expected = try criterion.lossAndGradient(logits: logits, targets: targets)
    #expect(try criterion.loss(logits: logits, probabilities: targets) == expected.loss)
    let old = try criterion.lossAndGradient(logits: logits, probabilities: targets)
    #expect(old.loss == expected.loss && old.gradient == expected.gradient)
    var loss = [Double](repeating: 0, count: 2)
    var gradient = [Double](repeating: 0, count: 6)
    try x.withUnsafeBufferPointer { xb in
      try t.withUnsafeBufferPointer { tb in
        try loss.withUnsafeMutableBufferPointer { lb in
          try criterion.loss(logits: xb, shape: shape, probabilities: tb, into: lb)
        }
        #expect(loss == expected.loss.scalars)
        loss = [0, 0]
        try loss.withUnsafeMutableBufferPointer { lb in
          try gradient.withUnsafeMutableBufferPointer { gb in
            try criterion.lossAndGradient(
              logits: xb, shape: shape, probabilities: tb, loss: lb, gradient: gb)
          }
        }
      }
    }
    #expect(loss == expected.loss.scalars && gradient == expected.gradient.scalars)
  }
}
