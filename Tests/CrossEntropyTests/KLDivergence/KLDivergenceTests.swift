import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct KLDivergenceTests {
  static let fixture = try! FixtureFile.load("kl_div")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for c in Self.fixture.cases {
      let kl = KLDivergence(
        reduction: KLDivergence.Reduction(rawValue: c.options["reduction"]!.string!)!,
        logTarget: c.options["logTarget"]!.bool!)
      let input: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let target: ShapedArray<Scalar> = c.inputs["target"]!.shaped()
      let expected = c.expected(Scalar.self)
      let (loss, gradient) = try kl.lossAndGradient(logProbabilities: input, targets: target)
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
      expectClose(
        try kl.loss(logProbabilities: input, targets: target), expected["loss"],
        "\(c.name) loss-only \(Scalar.self)")
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [false, true]) func gradientMatchesFiniteDifferences(logTarget: Bool) throws {
    var random = SeededGenerator(seed: 7)
    let shape = [3, 4]
    let target = try ShapedArray(
      shape: shape, scalars: random.normals(12).map { logTarget ? $0 : abs($0) })
    let point = random.normals(12)
    for reduction in KLDivergence.Reduction.allCases {
      let kl = KLDivergence(reduction: reduction, logTarget: logTarget)
      let (_, gradient) = try kl.lossAndGradient(
        logProbabilities: try ShapedArray(shape: shape, scalars: point), targets: target)
      expectFiniteDifferences(
        at: point, gradient: gradient.scalars, "seed 7 \(reduction) logTarget \(logTarget)"
      ) { x in
        try! kl.loss(logProbabilities: try! ShapedArray(shape: shape, scalars: x), targets: target)
          .scalars.reduce(0, +)
      }
    }
  }

  @Test func zeroTargetContributesNothingAndBatchmeanDividesByAxis0() throws {
    let input = try ShapedArray<Double>(shape: [2, 2], scalars: [-1, -2, -3, -4])
    let target = try ShapedArray<Double>(shape: [2, 2], scalars: [0, 1, 0.5, 0.5])
    let loss = try KLDivergence(reduction: .batchmean).loss(
      logProbabilities: input, targets: target)
    let expected = (2.0 + 0.5 * (log(0.5) + 3) + 0.5 * (log(0.5) + 4)) / 2
    #expect(abs(loss.scalar! - expected) < 1e-15)
  }

  @Test func shapeMismatchIsReported() {
    let message = lossErrorMessage {
      _ = try KLDivergence().loss(
        logProbabilities: try ShapedArray<Float>(shape: [2, 2], scalars: [0, 0, 0, 0]),
        targets: ShapedArray<Float>([1, 0, 0]))
    }
    #expect(
      message == "targets shape [3] does not broadcast with log-probabilities shape [2, 2]"
        + " (right-aligned broadcasting: axis 1 has 3 and 2)")
  }
}
