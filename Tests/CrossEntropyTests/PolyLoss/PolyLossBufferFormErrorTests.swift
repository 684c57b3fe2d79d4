import Testing

@testable import CrossEntropy

/// Every size check of the caller-buffer forms of ``PolyLoss`` (see `withBuffers`).
@Suite struct PolyLossBufferFormErrorTests {
  @Test func bufferSizes() {
    let criterion = PolyLoss()
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "logits holds 5 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 5, other: 0, labels: 2, loss: 1, gradient: 5) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch,
      "labels hold 4 elements but logits shape [2, 3] needs 2, one per position of [2]"
    ) {
      try withBuffers(input: 6, other: 0, labels: 4, loss: 1, gradient: 6) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch,
      "targets hold 5 elements but logits shape [2, 3] holds 6; expected the same shape"
    ) {
      try withBuffers(input: 6, other: 5, labels: 0, loss: 1, gradient: 6) { x, p, _, loss, _ in
        try criterion.loss(
          logits: UnsafeBufferPointer(x), shape: shape, targets: p, into: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 0 elements but reduction mean writes 1") {
      try withBuffers(input: 6, other: 0, labels: 2, loss: 0, gradient: 6) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "gradient holds 7 elements but logits shape [2, 3] holds 6") {
      try withBuffers(input: 6, other: 6, labels: 0, loss: 1, gradient: 7) { x, p, _, loss, g in
        try criterion.lossAndGradient(
          logits: UnsafeBufferPointer(x), shape: shape, targets: p, loss: loss, gradient: g)
      }
    }
  }
}
