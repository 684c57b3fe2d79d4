import CrossEntropy
import Testing

/// The README's library example, compiled and run as written (public API only).
@Test func readmeLibraryExampleRuns() throws {
  let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [2, 1, 0, 0, 1, 2])
  let labels = try ShapedArray<Int>(shape: [2], scalars: [0, 2])

  let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)
  let (loss, gradient) = try criterion.lossAndGradient(logits: logits, labels: labels)
  #expect(loss.shape == [])
  #expect(gradient.shape == [2, 3])
  // Both rows put their largest logit on the label, two apart from the next: a small loss.
  #expect(loss.scalar! > 0.4 && loss.scalar! < 0.6)

  let segmentation = SoftmaxCrossEntropy(classAxis: 1, ignoreIndex: 255)
  #expect(segmentation.reduction == .mean)

  let bce = BinaryCrossEntropy()
  let value = try bce.loss(
    logits: ShapedArray([0.3, -1.2]), targets: ShapedArray([1, 0]),
    positiveWeight: ShapedArray([3]))
  #expect(value.scalar! > 0)
}
