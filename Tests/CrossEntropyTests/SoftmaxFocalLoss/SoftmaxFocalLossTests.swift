import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct SoftmaxFocalLossTests {
  static let fixture = try! FixtureFile.load("focal")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var checked = 0
    for c in Self.fixture.cases where c.options["kind"]!.string != "sigmoid" {
      let input: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let expected = c.expected(Scalar.self)
      let focal = SoftmaxFocalLoss(
        reduction: c.reduction(), classAxis: Int(c.options["classAxis"]!.double!),
        gamma: c.options["gamma"]!.double!)
      let (loss, gradient) = try focal.lossAndGradient(
        logits: input, labels: c.inputs["target"]!.integers,
        classWeights: c.inputs["alpha"].map { $0.data.map { Scalar($0) } })
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
      checked += 1
    }
    #expect(checked > 40)
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [0.0, 0.5, 2.0]) func gradientMatchesFiniteDifferences(
    gamma: Double
  ) throws {
    var random = SeededGenerator(seed: 19)
    let shape = [2, 3, 2]
    let point = random.normals(12, scale: 2)
    let labels = try ShapedArray(shape: [2, 2], scalars: [0, 2, -100, 1])
    let focal = SoftmaxFocalLoss(classAxis: 1, gamma: gamma)
    let alpha: [Double] = [0.2, 0.5, 0.3]
    let (_, gradient) = try focal.lossAndGradient(
      logits: try ShapedArray(shape: shape, scalars: point), labels: labels, classWeights: alpha)
    expectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 19 gamma \(gamma)") {
      x in
      try! focal.loss(
        logits: try! ShapedArray(shape: shape, scalars: x), labels: labels, classWeights: alpha
      ).scalar!
    }
  }

  @Test func gammaZeroEqualsCrossEntropy() throws {
    var random = SeededGenerator(seed: 23)
    let logits = try ShapedArray(shape: [4, 5], scalars: random.normals(20))
    let labels = ShapedArray([1, -100, 4, 0])
    let focal = try SoftmaxFocalLoss(gamma: 0).lossAndGradient(logits: logits, labels: labels)
    let ce = try SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: labels)
    #expect(abs(focal.loss.scalar! - ce.loss.scalar!) < 1e-14)
    for (a, b) in zip(focal.gradient.scalars, ce.gradient.scalars) { #expect(abs(a - b) < 1e-15) }
  }

  @Test func badInputIsReported() {
    let rows = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try SoftmaxFocalLoss().loss(
          logits: rows, labels: ShapedArray([0, 1]), classWeights: [1])
      } == "class weights have 1 element but logits have 3 classes on axis 1")
    #expect(
      lossErrorMessage {
        _ = try SoftmaxFocalLoss().loss(logits: rows, labels: ShapedArray([0, 5]))
      } == "label 5 at position [1] is outside 0..<3 (ignore index -100)")
  }

  @Test func emptyBatchOfAHugeClassCountSumsToZero() throws {
    let (logits, labels) = try emptyBatchOfAHugeClassCount()
    #expect(
      try SoftmaxFocalLoss(reduction: .sum).loss(logits: logits, labels: labels).scalar == 0)
  }
}
