import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct SigmoidFocalLossTests {
  static let fixture = try! FixtureFile.load("focal")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var checked = 0
    for c in Self.fixture.cases where c.options["kind"]!.string == "sigmoid" {
      let input: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let expected = c.expected(Scalar.self)
      let focal = SigmoidFocalLoss(
        reduction: c.reduction(), alpha: c.options["alpha"]!.double!,
        gamma: c.options["gamma"]!.double!)
      let (loss, gradient) = try focal.lossAndGradient(
        logits: input, targets: c.inputs["target"]!.shaped())
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
      checked += 1
    }
    #expect(checked > 60)
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [0.0, 0.5, 1.0, 2.0]) func gradientMatchesFiniteDifferences(
    gamma: Double
  ) throws {
    var random = SeededGenerator(seed: 17)
    let point = random.normals(8, scale: 2)
    let targets = ShapedArray<Double>([0, 1, 1, 0, 0.3, 1, 0, 0.8])
    let focal = SigmoidFocalLoss(reduction: .sum, alpha: 0.3, gamma: gamma)
    let (_, gradient) = try focal.lossAndGradient(logits: ShapedArray(point), targets: targets)
    expectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 17 gamma \(gamma)") {
      x in try! focal.loss(logits: ShapedArray(x), targets: targets).scalar!
    }
  }

  @Test func badInputIsReported() {
    let logits = ShapedArray<Float>([0, 1, 2])
    #expect(
      lossErrorMessage {
        _ = try SigmoidFocalLoss(gamma: -1).loss(logits: logits, targets: logits)
      } == "focal gamma -1.0 is invalid; expected a finite value >= 0")
    #expect(
      lossErrorMessage {
        _ = try SigmoidFocalLoss(alpha: .nan).loss(logits: logits, targets: logits)
      } == "focal alpha nan is invalid; expected a weight in [0, 1], or a negative value to disable"
        + " the weighting")
    #expect(
      lossErrorMessage {
        _ = try SigmoidFocalLoss(alpha: 1.5).loss(logits: logits, targets: logits)
      } == "focal alpha 1.5 is invalid; expected a weight in [0, 1], or a negative value to"
        + " disable the weighting")
    #expect(
      lossErrorMessage {
        _ = try SigmoidFocalLoss().loss(logits: logits, targets: ShapedArray<Float>([0]))
      } == "targets shape [1] does not match logits shape [3];"
        + " sigmoid focal loss expects the same shape (no broadcasting)")
  }
}
