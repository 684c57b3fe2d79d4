import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// Cases the differential fuzzer found, kept as plain tests.
@Suite struct FuzzRegressionTests {
  /// A spatial block with a non-finite logit in one position takes the scalar Double path for
  /// every position of the block. That path computed `exp(x - lse)` with `lse = shift + logSum`,
  /// which loses `logSum` next to a huge shift: two equal logits of 1e20 got a probability of 1
  /// each instead of 1/2 (fuzzer seed 399). It now takes `(x - shift) - logSum`, as the
  /// reference does.
  @Test func hugeEqualLogitsBesideANonFinitePosition() throws {
    // Classes on axis 0, two positions: position 0 holds 1e20 twice, position 1 a +inf.
    let values: [Float] = [1e20, .infinity, 1e20, 0, 0, 0]
    for smoothing in [0, 0.1, 1] {
      let criterion = SoftmaxCrossEntropy(reduction: .sum, classAxis: 0, labelSmoothing: smoothing)
      let labels = try ShapedArray(shape: [2], scalars: [2, 0])
      let (_, gradient) = try criterion.lossAndGradient(
        logits: ShapedArray(shape: [3, 2], scalars: values), labels: labels)
      // d/dx of position 0: p - t' with p = (1/2, 1/2, 0) and t' = e/3 + (1 - e) [c == 2].
      let expected = [0.5 - smoothing / 3, 0.5 - smoothing / 3, -(1 - smoothing) - smoothing / 3]
      expectClose(
        [0, 2, 4].map { Double(gradient.scalars[$0]) }, expected, relative: 1e-6,
        absolute: 1e-7, "smoothing \(smoothing)")
      #expect([1, 3, 5].allSatisfy { gradient.scalars[$0].isNaN })
    }
  }
}
