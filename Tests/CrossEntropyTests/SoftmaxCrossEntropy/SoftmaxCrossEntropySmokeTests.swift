import Testing

@testable import CrossEntropy

@Test func plainCrossEntropyMatchesHandComputedValue() throws {
  let logits = try ShapedArray<Double>(shape: [1, 3], scalars: [0, 0, 0])
  let labels = try ShapedArray<Int>(shape: [1], scalars: [1])
  let (loss, gradient) = try SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: labels)
  #expect(abs(loss.scalar! - 1.0986122886681098) < 1e-15)
  #expect(abs(gradient.scalars[1] - (1.0 / 3 - 1)) < 1e-15)
}
