import Testing

@testable import CrossEntropy

@Suite struct FocalLossTests {
  static let fixture = try! FamilyFixture.load("focal")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var checked = 0
    for c in Self.fixture.cases {
      let input: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let expected = c.expected(Scalar.self)
      let loss: ShapedArray<Scalar>
      let gradient: ShapedArray<Scalar>
      if c.options["kind"]!.string == "sigmoid" {
        let focal = SigmoidFocalLoss(
          reduction: c.reduction(), alpha: c.options["alpha"]!.double!,
          gamma: c.options["gamma"]!.double!)
        (loss, gradient) = try focal.lossAndGradient(
          logits: input, targets: c.inputs["target"]!.shaped())
      } else {
        let focal = SoftmaxFocalLoss(
          reduction: c.reduction(), classAxis: Int(c.options["classAxis"]!.double!),
          gamma: c.options["gamma"]!.double!)
        (loss, gradient) = try focal.lossAndGradient(
          logits: input, labels: c.inputs["target"]!.integers,
          alpha: c.inputs["alpha"].map { $0.data.map { Scalar($0) } })
      }
      familyExpectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      familyExpectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
      checked += 1
    }
    #expect(checked > 100)
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [0.0, 0.5, 1.0, 2.0]) func sigmoidGradientMatchesFiniteDifferences(
    gamma: Double
  ) throws {
    var random = FamilyRandom(seed: 17)
    let point = random.normals(8, scale: 2)
    let targets = ShapedArray<Double>([0, 1, 1, 0, 0.3, 1, 0, 0.8])
    let focal = SigmoidFocalLoss(reduction: .sum, alpha: 0.3, gamma: gamma)
    let (_, gradient) = try focal.lossAndGradient(logits: ShapedArray(point), targets: targets)
    familyExpectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 17 gamma \(gamma)") {
      x in try! focal.loss(logits: ShapedArray(x), targets: targets).scalar!
    }
  }

  @Test(arguments: [0.0, 0.5, 2.0]) func softmaxGradientMatchesFiniteDifferences(
    gamma: Double
  ) throws {
    var random = FamilyRandom(seed: 19)
    let shape = [2, 3, 2]
    let point = random.normals(12, scale: 2)
    let labels = try ShapedArray(shape: [2, 2], scalars: [0, 2, -100, 1])
    let focal = SoftmaxFocalLoss(classAxis: 1, gamma: gamma)
    let alpha: [Double] = [0.2, 0.5, 0.3]
    let (_, gradient) = try focal.lossAndGradient(
      logits: try ShapedArray(shape: shape, scalars: point), labels: labels, alpha: alpha)
    familyExpectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 19 gamma \(gamma)") {
      x in
      try! focal.loss(
        logits: try! ShapedArray(shape: shape, scalars: x), labels: labels, alpha: alpha
      ).scalar!
    }
  }

  @Test func gammaZeroSoftmaxFocalEqualsCrossEntropy() throws {
    var random = FamilyRandom(seed: 23)
    let logits = try ShapedArray(shape: [4, 5], scalars: random.normals(20))
    let labels = ShapedArray([1, -100, 4, 0])
    let focal = try SoftmaxFocalLoss(gamma: 0).lossAndGradient(logits: logits, labels: labels)
    let ce = try SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: labels)
    #expect(abs(focal.loss.scalar! - ce.loss.scalar!) < 1e-14)
    for (a, b) in zip(focal.gradient.scalars, ce.gradient.scalars) { #expect(abs(a - b) < 1e-15) }
  }

  @Test func badInputIsReported() {
    let logits = ShapedArray<Float>([0, 1, 2])
    #expect(
      familyErrorMessage {
        _ = try SigmoidFocalLoss(gamma: -1).loss(logits: logits, targets: logits)
      } == "focal gamma -1.0 is invalid; expected a finite value >= 0")
    #expect(
      familyErrorMessage {
        _ = try SigmoidFocalLoss(alpha: .nan).loss(logits: logits, targets: logits)
      } == "focal alpha is NaN; expected a number")
    #expect(
      familyErrorMessage {
        _ = try SigmoidFocalLoss().loss(logits: logits, targets: ShapedArray<Float>([0]))
      } == "targets shape [1] does not match logits shape [3];"
        + " sigmoid focal loss expects the same shape (no broadcasting)")
    let rows = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      familyErrorMessage {
        _ = try SoftmaxFocalLoss().loss(logits: rows, labels: ShapedArray([0, 1]), alpha: [1])
      } == "focal alpha has 1 elements but logits have 3 classes on axis 1")
    #expect(
      familyErrorMessage {
        _ = try SoftmaxFocalLoss().loss(logits: rows, labels: ShapedArray([0, 5]))
      } == "label 5 at position [1] is outside 0..<3 (ignore index -100)")
  }
}
