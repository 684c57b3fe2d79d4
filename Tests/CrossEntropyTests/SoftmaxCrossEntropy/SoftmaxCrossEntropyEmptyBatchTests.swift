import Testing

@testable import CrossEntropy

/// An empty batch with an absurd class count (see ``emptyBatchOfAHugeClassCount()``).
@Suite struct SoftmaxCrossEntropyEmptyBatchTests {
  @Test func meanIsNaNAndSumIsZero() throws {
    let (logits, labels) = try emptyBatchOfAHugeClassCount()
    let (mean, gradient) = try SoftmaxCrossEntropy(labelSmoothing: 0.1)
      .lossAndGradient(logits: logits, labels: labels)
    #expect(mean.scalar!.isNaN)
    #expect(gradient.scalars.isEmpty)
    let sum = try SoftmaxCrossEntropy(reduction: .sum).loss(logits: logits, labels: labels)
    #expect(sum.scalar == 0)
  }
}
