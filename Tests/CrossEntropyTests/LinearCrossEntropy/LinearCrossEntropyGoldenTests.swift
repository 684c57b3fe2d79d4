import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// ``LinearCrossEntropy`` against PyTorch's `F.cross_entropy(F.linear(h, W, b), y, ...)` and
/// its backward (`Fixtures/linear_cross_entropy.json`, written by
/// `Scripts/make_linear_cross_entropy_fixtures.py`), on both schedules.
///
/// - Double: every loss, gradient and log-sum-exp within 1e-10 of PyTorch's float64 (relative,
///   plus 1e-10 of the array's largest magnitude).
/// - Float: the error against PyTorch's float64 on the same inputs, measured as the largest
///   difference over the array's largest magnitude (at least 1), is at most PyTorch's own
///   float32 error, measured the same way, plus ``fp32ErrorFloor``, two fp32 ulps of that
///   scale (both run fp32 products and sums, in different orders, so either may be the luckier
///   on one array). Measured when written: ours at most 1.2e-7 on every array of every case,
///   PyTorch's at most 1.4e-7; ours never exceeded PyTorch's by more than 8.7e-8.
@Suite struct LinearCrossEntropyGoldenTests {
  static let fp32ErrorFactor = 1.0
  static let fp32ErrorFloor = 0x1p-22

  static let cases = (try? FixtureFile.load("linear_cross_entropy").cases) ?? []
  static let scratchLimits = [LinearCrossEntropy.defaultScratchLimit, 24]

  static func problem(_ fixture: FixtureCase) -> (HeadProblem, LinearCrossEntropy) {
    let hidden = fixture.inputs["hidden"]!
    let weight = fixture.inputs["weight"]!
    let size = hidden.shape.last!
    let problem = HeadProblem(
      rows: hidden.data.count / max(size, 1), size: size, classes: weight.shape[0],
      hidden: hidden.data, weight: weight.data, bias: fixture.inputs["bias"]?.data,
      labels: fixture.inputs["labels"]!.integerData,
      classWeights: fixture.inputs["classWeights"]?.data)
    let options = fixture.options
    let criterion = LinearCrossEntropy(
      reduction: fixture.reduction(), ignoreIndex: options["ignoreIndex"]?.int ?? -100,
      labelSmoothing: options["labelSmoothing"]?.double ?? 0,
      zLossScale: options["zLossScale"]?.double ?? 0,
      logitSoftCap: options["logitSoftCap"]?.double, normalizer: options["normalizer"]?.double)
    return (problem, criterion)
  }

  /// The outputs of a run by fixture key.
  static func outputs<Scalar: BinaryFloatingPoint>(_ result: HeadResult<Scalar>) -> [String:
    [Double]]
  {
    var outputs = [
      "loss": result.loss.map { Double($0) }, "hiddenGradient": result.hidden.map { Double($0) },
      "weightGradient": result.weight.map { Double($0) },
      "logSumExp": result.logSumExp.map { Double($0) },
    ]
    outputs["biasGradient"] = result.bias?.map { Double($0) }
    return outputs
  }

  /// The log-sum-exp of a row with a +inf logit is NaN here (as the loss's), +inf in PyTorch.
  static func comparable(_ key: String, _ actual: [Double], _ expected: [Double]) -> [Double] {
    guard key == "logSumExp" else { return actual }
    return zip(actual, expected).map { $1 == .infinity && $0.isNaN ? .infinity : $0 }
  }

  @Test(arguments: cases)
  func doubleMatchesPyTorchFloat64(fixture: FixtureCase) throws {
    let (problem, criterion) = Self.problem(fixture)
    for limit in Self.scratchLimits {
      var chunked = criterion
      chunked.scratchLimit = limit
      let (result, forward) = try problem.run(chunked, as: Double.self)
      var outputs = Self.outputs(result)
      outputs["forward"] = forward
      for (key, actual) in outputs {
        // Without a bias the fixture has no bias gradient (ours is the logits' column sums).
        guard let expected = fixture.float64![key == "forward" ? "loss" : key]?.data else {
          continue
        }
        expectClose(
          Self.comparable(key, actual, expected), expected, relative: 1e-10,
          absolute: 1e-10 * largestFiniteMagnitude(expected),
          "\(fixture.name) scratch \(limit): \(key)")
      }
    }
  }

  @Test(arguments: cases)
  func floatErrorIsBoundedByPyTorchsOwn(fixture: FixtureCase) throws {
    let (problem, criterion) = Self.problem(fixture)
    for limit in Self.scratchLimits {
      var chunked = criterion
      chunked.scratchLimit = limit
      let (result, _) = try problem.run(chunked, as: Float.self)
      for (key, actual) in Self.outputs(result) {
        guard let truth = fixture.float64![key]?.data else { continue }
        let pytorch = fixture.float32![key]!.data
        let ours = Self.comparable(key, actual, truth)
        let bound =
          Self.fp32ErrorFactor * Self.error(pytorch, truth) + Self.fp32ErrorFloor
        let error = Self.error(ours, truth)
        let pytorchError = Self.error(pytorch, truth)
        #expect(
          error <= bound,
          "\(fixture.name) scratch \(limit): \(key) error \(error) above \(bound) (PyTorch's fp32: \(pytorchError))"
        )
      }
    }
  }

  /// The largest difference over the larger of 1 and the expected array's largest finite
  /// magnitude; infinite where a value is non-finite where the expected one is not (or not
  /// the same non-finite value).
  static func error(_ actual: [Double], _ expected: [Double]) -> Double {
    let scale = max(1, largestFiniteMagnitude(expected))
    var worst = 0.0
    for (a, e) in zip(actual, expected) {
      if e.isNaN || e.isInfinite {
        if !(a.isNaN && e.isNaN) && a != e { return .infinity }
        continue
      }
      guard a.isFinite else { return .infinity }
      worst = max(worst, abs(a - e) / scale)
    }
    return actual.count == expected.count ? worst : .infinity
  }
}
