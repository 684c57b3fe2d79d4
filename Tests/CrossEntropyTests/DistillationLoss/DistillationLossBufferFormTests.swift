import Testing

@testable import CrossEntropy

/// The caller-buffer forms of ``DistillationLoss`` against its array forms (see `BufferForms`).
@Suite struct DistillationLossBufferFormTests {
  private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for (rows, classes) in [(5, 1), (6, 17), (3, 1000), (2, 5000)] {
      let student: [Scalar] = randomValues(rows * classes, seed: UInt64(classes))
      let teacher: [Scalar] = randomValues(rows * classes, seed: UInt64(classes) + 1)
      let y = randomLabels(rows, classes: classes, seed: 3, ignoredEvery: 3)
      let shape = [rows, classes]
      for reduction in [Reduction.none, .mean, .sum] {
        for (temperature, weight) in [(1.0, 0.0), (2, 0.5), (3, 0.2), (0.5, 1)] {
          let criterion = DistillationLoss(
            temperature: temperature, hardLabelWeight: weight, reduction: reduction)
          let arrays = try (
            ShapedArray(shape: shape, scalars: student),
            ShapedArray(shape: shape, scalars: teacher), ShapedArray(shape: [rows], scalars: y)
          )
          let expected = try criterion.lossAndGradient(
            studentLogits: arrays.0, teacherLogits: arrays.1, labels: arrays.2)
          let forward = try criterion.loss(
            studentLogits: arrays.0, teacherLogits: arrays.1, labels: arrays.2)
          try y.withUnsafeBufferPointer { l in
            try teacher.withUnsafeBufferPointer { t in
              try BufferForms(
                input: student, lossCount: reduction == .none ? rows : 1,
                loss: {
                  try criterion.loss(
                    studentLogits: $0, shape: shape, teacherLogits: t, labels: l, into: $1)
                },
                both: {
                  try criterion.lossAndGradient(
                    studentLogits: $0, shape: shape, teacherLogits: t, labels: l, loss: $1,
                    gradient: $2)
                },
                overwriting: {
                  try criterion.lossAndGradient(
                    overwriting: $0, shape: shape, teacherLogits: t, labels: l, loss: $1)
                }
              ).check(
                against: (expected.loss, expected.gradient), forward: forward,
                "distillation \(Scalar.self) \(rows)x\(classes) T \(temperature) w \(weight)"
                  + " \(reduction)")
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

  @Test func inPlaceKeepsNonFiniteRowsExact() throws {
    // Rows that take the scalar path read the student row after the exp pass: in place, it
    // must still hold the logits.
    let classes = 40
    var student: [Float] = randomValues(4 * classes, seed: 7)
    let teacher: [Float] = randomValues(4 * classes, seed: 8)
    student[5] = .infinity
    student[classes + 3] = .nan
    student[2 * classes + 1] = -.infinity
    let criterion = DistillationLoss(temperature: 2, hardLabelWeight: 0.3, reduction: .none)
    let y = [1, 2, 3, 4]
    let expected = try criterion.lossAndGradient(
      studentLogits: ShapedArray(shape: [4, classes], scalars: student),
      teacherLogits: ShapedArray(shape: [4, classes], scalars: teacher),
      labels: ShapedArray(shape: [4], scalars: y))
    var loss = [Float](repeating: 0, count: 4)
    try teacher.withUnsafeBufferPointer { t in
      try y.withUnsafeBufferPointer { l in
        try student.withUnsafeMutableBufferPointer { s in
          try loss.withUnsafeMutableBufferPointer { lb in
            try criterion.lossAndGradient(
              overwriting: s, shape: [4, classes], teacherLogits: t, labels: l, loss: lb)
          }
        }
      }
    }
    #expect(widenedBitPatterns(loss) == widenedBitPatterns(expected.loss.scalars))
    #expect(widenedBitPatterns(student) == widenedBitPatterns(expected.gradient.scalars))
  }
}
