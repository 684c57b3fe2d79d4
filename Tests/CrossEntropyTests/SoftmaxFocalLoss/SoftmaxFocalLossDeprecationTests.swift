import Testing

@testable import CrossEntropy

// The deprecated `alpha:` forms of SoftmaxFocalLoss forward to the `classWeights:` forms.

@Suite struct SoftmaxFocalLossDeprecationTests {
  @available(*, deprecated)
  @Test func alphaFormsForward() throws {
    let criterion = SoftmaxFocalLoss(reduction: .none, gamma: 2)
    let shape = [2, 3]
    let x: [Double] = [0.5, -1, 2, 3, 0.25, -0.75]
    let y = [2, 0]
    let w: [Double] = [0.2, 0.5, 0.3]
    let logits = try ShapedArray(shape: shape, scalars: x)
    let labels = try ShapedArray(shape: [2], scalars: y)
    let expected = try criterion.lossAndGradient(logits: logits, labels: labels, classWeights: w)
    #expect(try criterion.loss(logits: logits, labels: labels, alpha: w) == expected.loss)
    let old = try criterion.lossAndGradient(logits: logits, labels: labels, alpha: w)
    #expect(old.loss == expected.loss && old.gradient == expected.gradient)
    var loss = [Double](repeating: 0, count: 2)
    var gradient = [Double](repeating: 0, count: 6)
    var inPlace = x
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        try w.withUnsafeBufferPointer { wb in
          try loss.withUnsafeMutableBufferPointer { lb in
            try criterion.loss(logits: xb, shape: shape, labels: yb, alpha: wb, into: lb)
          }
          #expect(loss == expected.loss.scalars)
          try loss.withUnsafeMutableBufferPointer { lb in
            try gradient.withUnsafeMutableBufferPointer { gb in
              try criterion.lossAndGradient(
                logits: xb, shape: shape, labels: yb, alpha: wb, loss: lb, gradient: gb)
            }
          }
          #expect(gradient == expected.gradient.scalars)
          try loss.withUnsafeMutableBufferPointer { lb in
            try inPlace.withUnsafeMutableBufferPointer { ib in
              try criterion.lossAndGradient(
                overwriting: ib, shape: shape, labels: yb, alpha: wb, loss: lb)
            }
          }
          #expect(loss == expected.loss.scalars && inPlace == expected.gradient.scalars)
        }
      }
    }
  }
}
