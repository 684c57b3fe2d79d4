import Testing

@testable import CrossEntropy

// Every size check of the wider family's caller-buffer forms: a LossError whose message names
// both sizes, and an overwriting form leaves its input unchanged when it throws.

/// Runs `body` with buffers of the given sizes (filled with 0.5, labels 0).
private func withBuffers(
  input: Int, other: Int, labels: Int, loss: Int, gradient: Int,
  _ body: (
    UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Int>,
    UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>
  ) throws -> Void
) rethrows {
  var x = [Float](repeating: 0.5, count: input)
  defer { #expect(x.allSatisfy { $0 == 0.5 }, "the input is unchanged after a throw") }
  let y = [Float](repeating: 0.5, count: other)
  let l = [Int](repeating: 0, count: labels)
  var lossBuffer = [Float](repeating: 0, count: loss)
  var gradientBuffer = [Float](repeating: 0, count: gradient)
  try x.withUnsafeMutableBufferPointer { xb in
    try y.withUnsafeBufferPointer { yb in
      try l.withUnsafeBufferPointer { lb in
        try lossBuffer.withUnsafeMutableBufferPointer { lossb in
          try gradientBuffer.withUnsafeMutableBufferPointer { gb in
            try body(xb, yb, lb, lossb, gb)
          }
        }
      }
    }
  }
}

@Suite struct FamilyBufferErrorTests {
  @Test func distillationBufferSizes() {
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

  @Test func softmaxFocalBufferSizes() {
    let criterion = SoftmaxFocalLoss(reduction: .none)
    let shape = [2, 3]
    expectLossError(.shapeMismatch, "logits holds 7 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 7, other: 0, labels: 2, loss: 2, gradient: 7) { x, _, l, loss, _ in
        try criterion.lossAndGradient(overwriting: x, shape: shape, labels: l, loss: loss)
      }
    }
    expectLossError(
      .shapeMismatch,
      "labels hold 1 elements but logits shape [2, 3] needs 2, one per position of [2]"
    ) {
      try withBuffers(input: 6, other: 0, labels: 1, loss: 2, gradient: 6) { x, _, l, loss, _ in
        try criterion.loss(logits: UnsafeBufferPointer(x), shape: shape, labels: l, into: loss)
      }
    }
    expectLossError(
      .shapeMismatch, "focal alpha has 2 elements but logits have 3 classes on axis 1"
    ) {
      try withBuffers(input: 6, other: 2, labels: 2, loss: 2, gradient: 6) { x, a, l, loss, _ in
        try criterion.lossAndGradient(
          overwriting: x, shape: shape, labels: l, classWeights: a, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 1 elements but reduction none writes 2") {
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

  @Test func polyBufferSizes() {
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
      "probabilities hold 5 elements but logits shape [2, 3] holds 6; expected the same shape"
    ) {
      try withBuffers(input: 6, other: 5, labels: 0, loss: 1, gradient: 6) { x, p, _, loss, _ in
        try criterion.loss(logits: UnsafeBufferPointer(x), shape: shape, targets: p, into: loss)
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

  @Test func multiMarginBufferSizes() {
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
    expectLossError(.shapeMismatch, "loss buffer holds 1 elements but reduction none writes 2") {
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

  @Test func elementwiseBufferSizes() {
    let kl = KLDivergence(reduction: .batchmean)
    let mse = MeanSquaredError(reduction: .none)
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
    expectLossError(.shapeMismatch, "predictions holds 7 elements but its shape [2, 3] needs 6") {
      try withBuffers(input: 7, other: 6, labels: 0, loss: 6, gradient: 7) { x, t, _, loss, _ in
        try mse.lossAndGradient(overwriting: x, shape: shape, targets: t, loss: loss)
      }
    }
    expectLossError(.shapeMismatch, "loss buffer holds 1 elements but reduction none writes 6") {
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
