import Testing

@testable import CrossEntropy

// The deprecated buffer forms of DistillationLoss (`shape:` after `teacherLogits:`) forward to
// the `studentLogits:shape:teacherLogits:` forms.

@Suite struct DistillationLossDeprecationTests {
  @available(*, deprecated)
  @Test func shapeAfterTeacherFormsForward() throws {
    let criterion = DistillationLoss(temperature: 2, hardLabelWeight: 0.5, reduction: .none)
    let shape = [2, 3]
    let s: [Double] = [0.5, -1, 2, 3, 0.25, -0.75]
    let t: [Double] = [1, 0, -1, 0.5, 0.5, 2]
    let y = [2, 0]
    let expected = try criterion.lossAndGradient(
      studentLogits: ShapedArray(shape: shape, scalars: s),
      teacherLogits: ShapedArray(shape: shape, scalars: t),
      labels: ShapedArray(shape: [2], scalars: y))
    var loss = [Double](repeating: 0, count: 2)
    var gradient = [Double](repeating: 0, count: 6)
    var inPlace = s
    try s.withUnsafeBufferPointer { sb in
      try t.withUnsafeBufferPointer { tb in
        try y.withUnsafeBufferPointer { yb in
          try loss.withUnsafeMutableBufferPointer { lb in
            try criterion.loss(
              studentLogits: sb, shape: shape, teacherLogits: tb, labels: yb, into: lb)
          }
          #expect(loss == expected.loss.scalars)
          try loss.withUnsafeMutableBufferPointer { lb in
            try gradient.withUnsafeMutableBufferPointer { gb in
              try criterion.lossAndGradient(
                studentLogits: sb, shape: shape, teacherLogits: tb, labels: yb, loss: lb,
                gradient: gb)
            }
          }
          #expect(gradient == expected.gradient.scalars)
          try loss.withUnsafeMutableBufferPointer { lb in
            try inPlace.withUnsafeMutableBufferPointer { ib in
              try criterion.lossAndGradient(
                overwriting: ib, shape: shape, teacherLogits: tb, labels: yb, loss: lb)
            }
          }
          #expect(loss == expected.loss.scalars && inPlace == expected.gradient.scalars)
        }
      }
    }
  }
}
