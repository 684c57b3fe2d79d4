import Testing

@testable import CrossEntropy

/// Every size check of the caller-buffer forms of ``KLDivergence`` (see `withBuffers`).
@Suite struct KLDivergenceBufferFormErrorTests {
  @Test func bufferSizes() {
    let kl = KLDivergence(reduction: .batchmean)
    let shape = [2, 3]
    expectLossError(
      .shapeMismatch, "log-probabilities holds 5 elements but its shape [2, 3] needs 6"
    ) {
      try withBuffers(input: 5, other: 6, labels: 0, loss: 1, gradient: 5) { x, t, _, loss, _ in
        try kl.lossAndGradient(overwriting: x, shape: shape, targets: t, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "targets holds 4 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 6, other: 4, labels: 0, loss: 1, gradient: 6) { x, t, _, loss, _ in
        try kl.lossAndGradient(overwriting: x, shape: shape, targets: t, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 6 elements but reduction batchmean writes 1")
    {
      try withBuffers(input: 6, other: 6, labels: 0, loss: 6, gradient: 6) { x, t, _, loss, _ in
        try kl.lossAndGradient(overwriting: x, shape: shape, targets: t, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch, "gradient holds 5 elements but log-probabilities shape [2, 3] holds 6"
    ) {
      try withBuffers(input: 6, other: 6, labels: 0, loss: 1, gradient: 5) { x, t, _, loss, g in
        try kl.lossAndGradient(
          logProbabilities: UnsafeBufferPointer(x), shape: shape, targets: t, loss: loss,
          gradient: g)
      }
    }
  }
}
