import Testing

@testable import CrossEntropy

/// Every size check of the caller-buffer forms of ``DistillationLoss`` (see `withBuffers`).
@Suite struct DistillationLossBufferFormErrorTests {
  @Test func bufferSizes() {
    let criterion = DistillationLoss(temperature: 2, hardLabelWeight: 0.5)
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "student logits holds 5 elements but its shape [2, 3] needs 6")
    {
      try withBuffers(input: 5, other: 6, labels: 2, loss: 1, gradient: 6) { s, t, l, loss, _ in
        try criterion.loss(
          studentLogits: UnsafeBufferPointer(s), shape: shape, teacherLogits: t, labels: l,
          into: loss)
      }
    }
    expectLossError(.shapeMismatch, "teacher logits holds 7 elements but its shape [2, 3] needs 6")
    {
      try withBuffers(input: 6, other: 7, labels: 2, loss: 1, gradient: 6) { s, t, l, loss, _ in
        try criterion.lossAndGradient(
          overwriting: s, shape: shape, teacherLogits: t, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch,
      "labels hold 3 elements but student logits shape [2, 3] needs 2, one per position of [2]"
    ) {
      try withBuffers(input: 6, other: 6, labels: 3, loss: 1, gradient: 6) { s, t, l, loss, _ in
        try criterion.lossAndGradient(
          overwriting: s, shape: shape, teacherLogits: t, labels: l, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 2 elements but reduction mean writes 1") {
      try withBuffers(input: 6, other: 6, labels: 2, loss: 2, gradient: 6) { s, t, l, loss, _ in
        try criterion.lossAndGradient(
          overwriting: s, shape: shape, teacherLogits: t, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch, "gradient holds 5 elements but student logits shape [2, 3] holds 6"
    ) {
      try withBuffers(input: 6, other: 6, labels: 2, loss: 1, gradient: 5) { s, t, l, loss, g in
        try criterion.lossAndGradient(
          studentLogits: UnsafeBufferPointer(s), shape: shape, teacherLogits: t, labels: l,
          loss: loss, gradient: g)
      }
    }
    expectLossError(
      .invalidOption, "hard-label weight 0.5 needs labels; pass labels or a weight of 0"
    ) {
      try withBuffers(input: 6, other: 6, labels: 0, loss: 1, gradient: 6) { s, t, _, loss, _ in
        try criterion.lossAndGradient(
          overwriting: s, shape: shape, teacherLogits: t, labels: nil, loss: loss)
      }
    }
  }
}
