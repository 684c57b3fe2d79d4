import Testing

@testable import CrossEntropy

/// Every size check of the caller-buffer forms of ``SoftmaxFocalLoss`` (see `withBuffers`).
@Suite struct SoftmaxFocalLossBufferFormErrorTests {
  @Test func bufferSizes() {
    let criterion = SoftmaxFocalLoss(reduction: .none)
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "logits holds 7 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 7, other: 0, labels: 2, loss: 2, gradient: 7) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch,
      "labels hold 1 element but logits shape [2, 3] needs 2, one per position of [2]"
    ) {
      try withBuffers(input: 6, other: 0, labels: 1, loss: 2, gradient: 6) { x, _, l, loss, _ in
        try criterion.loss(logits: UnsafeBufferPointer(x), shape: shape, labels: l, into: loss)
      }
    }
    expectLossError(
      .shapeMismatch, "class weights have 2 elements but logits have 3 classes on axis 1"
    ) {
      try withBuffers(input: 6, other: 2, labels: 2, loss: 2, gradient: 6) { x, a, l, loss, _ in
        try criterion.lossAndGradient(
          overwriting: x, shape: shape, labels: l, classWeights: a, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 1 element but reduction none writes 2") {
      try withBuffers(input: 6, other: 0, labels: 2, loss: 1, gradient: 6) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "gradient holds 4 elements but logits shape [2, 3] holds 6") {
      try withBuffers(input: 6, other: 0, labels: 2, loss: 2, gradient: 4) { x, _, l, loss, g in
        try criterion.lossAndGradient(
          logits: UnsafeBufferPointer(x), shape: shape, labels: l, loss: loss, gradient: g)
      }
    }
  }
}
