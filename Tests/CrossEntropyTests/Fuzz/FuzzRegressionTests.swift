import Foundation
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

  /// The softmax focal loss took `log p = x - lse`, which loses `log(sum)` next to huge logits:
  /// two equal largest logits of 8.5e37 gave the label probability 1 and loss 0 (fused
  /// fallback and Double reference), and a NaN gradient for `gamma < 1` in Double (fused-loss
  /// fuzzer seed 799). The probability is 1/2.
  @Test func softmaxFocalWithHugeEqualLogits() throws {
    let big = 8.5070586659632215e+37
    var values = [Double](repeating: 0.25, count: 16)
    values[10] = big
    values[15] = big
    values[4] = -big
    for gamma in [0.5, 2] {
      let focal = SoftmaxFocalLoss(reduction: .sum, gamma: gamma)
      let labels = try ShapedArray(shape: [1], scalars: [15])
      // f(u) = -(1 - e^u)^gamma u and f'(u) at u = log(1/2); the gradient is f'(u) (onehot - p).
      let u = log(0.5)
      let expectedLoss = -pow(0.5, gamma) * u
      let dU = -pow(0.5, gamma) + gamma * pow(0.5, gamma - 1) * 0.5 * u
      for double in [false, true] {
        let (loss, gradient): ([Double], [Double])
        if double {
          let r = try focal.lossAndGradient(
            logits: ShapedArray(shape: [1, 16], scalars: values), labels: labels)
          (loss, gradient) = (r.loss.scalars, r.gradient.scalars)
        } else {
          let r = try focal.lossAndGradient(
            logits: ShapedArray(shape: [1, 16], scalars: values.map { Float($0) }),
            labels: labels)
          (loss, gradient) = (r.loss.scalars.map(Double.init), r.gradient.scalars.map(Double.init))
        }
        expectClose(
          loss, [expectedLoss], relative: 1e-6, absolute: 0, "gamma \(gamma) double \(double)")
        expectClose(
          [gradient[10], gradient[15]], [-0.5 * dU, 0.5 * dU], relative: 1e-6, absolute: 1e-7,
          "gamma \(gamma) double \(double)")
      }
    }
  }

  /// For `gamma < 1` the focal gradient's term `gamma (1 - p)^(gamma - 1) p log p` is
  /// `inf * 0` at `p == 1`: fp32 rounded a confident row's probability to 1 and gave NaN where
  /// the Double reference is finite (fused-loss fuzzer seed 9358). Its limit, 0, is taken.
  @Test func softmaxFocalAtProbabilityOne() throws {
    let focal = SoftmaxFocalLoss(reduction: .sum, gamma: 0.5)
    let (loss, gradient) = try focal.lossAndGradient(
      logits: ShapedArray<Float>(shape: [1, 2], scalars: [60, -60]),
      labels: ShapedArray(shape: [1], scalars: [0]))
    #expect(loss.scalars.allSatisfy { $0.isFinite })
    #expect(gradient.scalars.allSatisfy { $0.isFinite && abs($0) < 1e-20 })
  }

  /// The head's vocabulary-block schedule (one row of logits over the scratch bound) skipped
  /// ignored rows, so an ignored row with a NaN hidden state got a zero gradient where PyTorch's
  /// is `0 - p * 0 = NaN` (fused-loss fuzzer seed 29), as the row-chunk schedule gives.
  @Test func linearHeadIgnoredRowWithANaN() throws {
    let hidden = try ShapedArray<Float>(shape: [3, 2], scalars: [1, 2, .nan, 1, 0.5, -1])
    let weight = try ShapedArray<Float>(shape: [3, 2], scalars: [0.1, 0.2, -0.3, 0.4, 0.5, 0.6])
    let labels = try ShapedArray(shape: [3], scalars: [2, -100, 0])
    var results: [[Float]] = []
    for scratchLimit in [LinearCrossEntropy.defaultScratchLimit, 4] {
      let head = LinearCrossEntropy(reduction: .sum, scratchLimit: scratchLimit)
      let r = try head.lossAndGradient(hidden: hidden, weight: weight, labels: labels)
      #expect(r.loss.scalars[0].isFinite, "scratch \(scratchLimit)")
      #expect(r.hiddenGradient.scalars[2].isNaN, "scratch \(scratchLimit)")
      #expect(r.weightGradient.scalars.allSatisfy { $0.isNaN }, "scratch \(scratchLimit)")
      results.append(r.hiddenGradient.scalars)
    }
    // The other rows' hidden gradients agree between the schedules.
    expectClose(
      [0, 1, 4, 5].map { Double(results[1][$0]) }, [0, 1, 4, 5].map { Double(results[0][$0]) },
      relative: 1e-5, absolute: 1e-6, "rows 0 and 2")
  }
}
