import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct SoftmaxCrossEntropyZLossTests {
  static let fixture = try! FixtureFile.load("zloss")

  func criterion(_ c: FixtureCase) -> SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: c.reduction(), classAxis: 1, labelSmoothing: c.options["labelSmoothing"]!.double!,
      zLossScale: c.options["zLossScale"]!.double!, logitSoftCap: c.options["logitSoftCap"]?.double)
  }

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for c in Self.fixture.cases {
      let ce = criterion(c)
      let logits: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let weights = c.inputs["weight"].map { $0.data.map { Scalar($0) } }
      let expected = c.expected(Scalar.self)
      let loss: ShapedArray<Scalar>
      let gradient: ShapedArray<Scalar>
      let zLoss: ShapedArray<Scalar>
      if c.options["probabilities"]!.bool! {
        let targets: ShapedArray<Scalar> = c.inputs["target"]!.shaped()
        (loss, gradient) = try ce.lossAndGradient(
          logits: logits, targets: targets, classWeights: weights)
        zLoss = try ce.zLoss(logits: logits)
      } else {
        let labels = c.inputs["target"]!.integers
        (loss, gradient) = try ce.lossAndGradient(
          logits: logits, labels: labels, classWeights: weights)
        zLoss = try ce.zLoss(logits: logits, labels: labels)
      }
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
      expectClose(zLoss, expected["zLoss"], "\(c.name) z-loss \(Scalar.self)")
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: Reduction.allCases) func gradientMatchesFiniteDifferences(
    reduction: Reduction
  ) throws {
    var random = SeededGenerator(seed: 29)
    let shape = [3, 4]
    let point = random.normals(12, scale: 3)
    let labels = ShapedArray([2, -100, 0])
    let ce = SoftmaxCrossEntropy(
      reduction: reduction, labelSmoothing: 0.1, zLossScale: 0.2, logitSoftCap: 2)
    let weights: [Double] = [0.5, 2, 1, 1.5]
    let (_, gradient) = try ce.lossAndGradient(
      logits: try ShapedArray(shape: shape, scalars: point), labels: labels,
      classWeights: weights)
    expectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 29 \(reduction)") {
      x in
      try! ce.loss(
        logits: try! ShapedArray(shape: shape, scalars: x), labels: labels, classWeights: weights
      ).scalars.reduce(0, +)
    }
  }

  @Test func optionsOffLeaveTheLossUnchanged() throws {
    var random = SeededGenerator(seed: 31)
    let logits = try ShapedArray(shape: [3, 4], scalars: random.normals(12))
    let labels = ShapedArray([1, 3, 0])
    let plain = try SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: labels)
    let zero = try SoftmaxCrossEntropy(zLossScale: 0).lossAndGradient(
      logits: logits, labels: labels)
    #expect(plain.loss == zero.loss && plain.gradient == zero.gradient)
    let z = try SoftmaxCrossEntropy(zLossScale: 0.5).loss(logits: logits, labels: labels)
    let zOnly = try SoftmaxCrossEntropy(zLossScale: 0.5).zLoss(logits: logits, labels: labels)
    #expect(abs(z.scalar! - plain.loss.scalar! - zOnly.scalar!) < 1e-14)
  }

  @Test func badOptionsAreReported() {
    let logits = ShapedArray<Float>([0, 1, 2])
    let labels = try! ShapedArray<Int>(shape: [], scalars: [1])
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy(zLossScale: -1).loss(logits: logits, labels: labels)
      } == "z-loss scale -1.0 is invalid; expected a finite value >= 0")
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy(logitSoftCap: 0).loss(logits: logits, labels: labels)
      } == "logit soft cap 0.0 is invalid; expected a finite value > 0")
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy(logitSoftCap: .infinity).zLoss(logits: logits)
      } == "logit soft cap inf is invalid; expected a finite value > 0")
  }
}
