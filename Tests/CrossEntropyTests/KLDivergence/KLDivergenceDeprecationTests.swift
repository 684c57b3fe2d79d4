import Testing

@testable import CrossEntropy

// The deprecated buffer forms of KLDivergence (`shape:` after `targets:`) forward to the
// `logProbabilities:shape:targets:` forms.

@Suite struct KLDivergenceDeprecationTests {
  @available(*, deprecated)
  @Test func shapeAfterTargetsFormsForward() throws {
    let criterion = KLDivergence(reduction: .sum)
    let shape = [2, 3]
    let x: [Double] = [-0.5, -1, -2, -3, -0.25, -0.75]
    let t: [Double] = [0.2, 0.3, 0.5, 0, 1, 0]
    let expected = try criterion.lossAndGradient(
      logProbabilities: ShapedArray(shape: shape, scalars: x),
      targets: ShapedArray(shape: shape, scalars: t))
    var loss: [Double] = [0]
    var gradient = [Double](repeating: 0, count: 6)
    var inPlace = x
    try x.withUnsafeBufferPointer { xb in
      try t.withUnsafeBufferPointer { tb in
        try loss.withUnsafeMutableBufferPointer { lb in
          try criterion.loss(logProbabilities: xb, shape: shape, targets: tb, into: lb)
        }
        #expect(loss == expected.loss.scalars)
        try loss.withUnsafeMutableBufferPointer { lb in
          try gradient.withUnsafeMutableBufferPointer { gb in
            try criterion.lossAndGradient(
              logProbabilities: xb, shape: shape, targets: tb, loss: lb, gradient: gb)
          }
        }
        #expect(gradient == expected.gradient.scalars)
        try loss.withUnsafeMutableBufferPointer { lb in
          try inPlace.withUnsafeMutableBufferPointer { ib in
            try criterion.lossAndGradient(overwriting: ib, shape: shape, targets: tb, loss: lb)
          }
        }
        #expect(loss == expected.loss.scalars && inPlace == expected.gradient.scalars)
      }
    }
  }
}
