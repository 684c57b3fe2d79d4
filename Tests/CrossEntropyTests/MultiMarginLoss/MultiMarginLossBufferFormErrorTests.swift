import Testing

@testable import CrossEntropy

/// Every size check of the caller-buffer forms of ``MultiMarginLoss`` (see `withBuffers`).
@Suite struct MultiMarginLossBufferFormErrorTests {
  @Test func bufferSizes() {
    let criterion = MultiMarginLoss(reduction: .none)
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "logits holds 5 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 5, other: 0, labels: 2, loss: 2, gradient: 5) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch,
      "labels hold 3 elements but multi-margin logits shape [2, 3] needs 2, one per sample"
    ) {
      try withBuffers(input: 6, other: 0, labels: 3, loss: 2, gradient: 6) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch, "class weights have 2 elements but multi-margin logits have 3 classes"
    ) {
      try withBuffers(input: 6, other: 2, labels: 2, loss: 2, gradient: 6) { x, w, l, loss, _ in
        try criterion.lossAndGradient(
          overwriting: x, shape: shape, labels: l, classWeights: w, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 1 element but reduction none writes 2") {
      try withBuffers(input: 6, other: 0, labels: 2, loss: 1, gradient: 6) { x, _, l, loss, _ in
        try criterion.loss(logits: UnsafeBufferPointer(x), shape: shape, labels: l, into: loss)
      }
    }
    expectLossError(.shapeMismatch, "gradient holds 5 elements but logits shape [2, 3] holds 6") {
      try withBuffers(input: 6, other: 0, labels: 2, loss: 2, gradient: 5) { x, _, l, loss, g in
        try criterion.lossAndGradient(
          logits: UnsafeBufferPointer(x), shape: shape, labels: l, loss: loss, gradient: g)
      }
    }
  }
}
