import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct PolyLossTests {
  static let fixture = try! FixtureFile.load("poly1")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for c in Self.fixture.cases {
      let poly = PolyLoss(
        epsilon: c.options["epsilon"]!.double!, reduction: c.reduction(),
        classAxis: Int(c.options["classAxis"]!.double!))
      let logits: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let expected = c.expected(Scalar.self)
      let (loss, gradient) =
        c.options["kind"]!.string == "labels"
        ? try poly.lossAndGradient(logits: logits, labels: c.inputs["target"]!.integers)
        : try poly.lossAndGradient(logits: logits, targets: c.inputs["target"]!.shaped())
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
    }
  }

  @Test func matchesOptaxInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesOptaxInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: Reduction.allCases) func gradientMatchesFiniteDifferences(
    reduction: Reduction
  ) throws {
    var random = SeededGenerator(seed: 53)
    let shape = [3, 4]
    let point = random.normals(12, scale: 2)
    let labels = ShapedArray([3, -100, 0])
    let poly = PolyLoss(epsilon: 1.5, reduction: reduction)
    let (_, gradient) = try poly.lossAndGradient(
      logits: try ShapedArray(shape: shape, scalars: point), labels: labels)
    expectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 53 \(reduction)") {
      x in
      try! poly.loss(logits: try! ShapedArray(shape: shape, scalars: x), labels: labels)
        .scalars.reduce(0, +)
    }
  }

  @Test func epsilonZeroEqualsCrossEntropy() throws {
    var random = SeededGenerator(seed: 59)
    let logits = try ShapedArray(shape: [4, 3], scalars: random.normals(12))
    let labels = ShapedArray([2, 0, -100, 1])
    let poly = try PolyLoss(epsilon: 0).lossAndGradient(logits: logits, labels: labels)
    let ce = try SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: labels)
    #expect(abs(poly.loss.scalar! - ce.loss.scalar!) < 1e-14)
    for (a, b) in zip(poly.gradient.scalars, ce.gradient.scalars) { #expect(abs(a - b) < 1e-15) }
  }

  @Test func badInputIsReported() {
    let logits = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try PolyLoss(epsilon: .nan).loss(logits: logits, labels: ShapedArray([0, 1]))
      } == "poly-1 epsilon nan is invalid; expected a finite value")
    #expect(
      lossErrorMessage {
        _ = try PolyLoss().loss(logits: logits, targets: ShapedArray<Float>([1, 0, 0]))
      } == "targets shape [3] does not match logits shape [2, 3]")
    #expect(
      lossErrorMessage {
        _ = try PolyLoss().loss(logits: logits, labels: ShapedArray([0, -1]))
      } == "label -1 at position [1] is outside 0..<3 (ignore index -100)")
  }

  @Test func emptyBatchOfAHugeClassCountSumsToZero() throws {
    let (logits, labels) = try emptyBatchOfAHugeClassCount()
    #expect(try PolyLoss(reduction: .sum).loss(logits: logits, labels: labels).scalar == 0)
  }
}
