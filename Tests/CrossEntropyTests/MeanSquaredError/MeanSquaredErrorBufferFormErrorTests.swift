import Testing

@testable import CrossEntropy

/// Every size check of the caller-buffer forms of ``MeanSquaredError`` (see `withBuffers`).
@Suite struct MeanSquaredErrorBufferFormErrorTests {
  @Test func bufferSizes() {
    let mse = MeanSquaredError(reduction: .none)
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "predictions holds 7 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 7, other: 6, labels: 0, loss: 6, gradient: 7) { x, t, _, loss, _ in
        try mse.lossAndGradient(overwriting: x, shape: shape, targets: t, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 1 element but reduction none writes 6") {
      try withBuffers(input: 6, other: 6, labels: 0, loss: 1, gradient: 6) { x, t, _, loss, _ in
        try mse.loss(predictions: UnsafeBufferPointer(x), shape: shape, targets: t, into: loss)
      }
    }
    expectLossError(
      .shapeMismatch, "gradient holds 3 elements but predictions shape [2, 3] holds 6"
    ) {
      try withBuffers(input: 6, other: 6, labels: 0, loss: 6, gradient: 3) { x, t, _, loss, g in
        try mse.lossAndGradient(
          predictions: UnsafeBufferPointer(x), shape: shape, targets: t, loss: loss, gradient: g)
      }
    }
  }
}
