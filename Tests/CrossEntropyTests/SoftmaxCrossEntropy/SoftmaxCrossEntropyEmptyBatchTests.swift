import Testing

@testable import CrossEntropy

/// An empty batch with an absurd class count holds no data, so it must neither allocate per-class
/// scratch nor trap: the mean is NaN (0 / 0, as PyTorch) and the sum 0.
@Suite struct EmptyBatchTests {
  let hugeClasses = 1 << 40

  func empty() throws -> (ShapedArray<Float>, ShapedArray<Int>) {
    (
      try ShapedArray<Float>(shape: [0, hugeClasses], scalars: []),
      try ShapedArray<Int>(shape: [0], scalars: [])
    )
  }

  @Test func softmaxCrossEntropy() throws {
    let (logits, labels) = try empty()
    let (mean, gradient) = try SoftmaxCrossEntropy(labelSmoothing: 0.1)
      .lossAndGradient(logits: logits, labels: labels)
    #expect(mean.scalar!.isNaN)
    #expect(gradient.scalars.isEmpty)
    let sum = try SoftmaxCrossEntropy(reduction: .sum).loss(logits: logits, labels: labels)
    #expect(sum.scalar == 0)
  }

  @Test func softmaxFamily() throws {
    let (logits, labels) = try empty()
    #expect(try logSoftmax(logits).scalars.isEmpty)
    #expect(try logSumExp(logits).shape == [0])
    #expect(try PolyLoss(reduction: .sum).loss(logits: logits, labels: labels).scalar == 0)
    #expect(
      try SoftmaxFocalLoss(reduction: .sum).loss(logits: logits, labels: labels).scalar == 0)
    #expect(
      try DistillationLoss(reduction: .sum)
        .loss(studentLogits: logits, teacherLogits: logits).scalar == 0)
  }
}
