import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct MeanSquaredErrorTests {
  static let fixture = try! FixtureFile.load("mse")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for c in Self.fixture.cases {
      let mse = MeanSquaredError(reduction: c.reduction())
      let input: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let target: ShapedArray<Scalar> = c.inputs["target"]!.shaped()
      let expected = c.expected(Scalar.self)
      let (loss, gradient) = try mse.lossAndGradient(predictions: input, targets: target)
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: Reduction.allCases) func gradientMatchesFiniteDifferences(
    reduction: Reduction
  ) throws {
    var random = SeededGenerator(seed: 11)
    let target = ShapedArray(random.normals(6))
    let point = random.normals(6)
    let mse = MeanSquaredError(reduction: reduction)
    let (_, gradient) = try mse.lossAndGradient(predictions: ShapedArray(point), targets: target)
    expectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 11 \(reduction)") {
      x in try! mse.loss(predictions: ShapedArray(x), targets: target).scalars.reduce(0, +)
    }
  }

  @Test func shapeMismatchIsReported() {
    let message = lossErrorMessage {
      _ = try MeanSquaredError().loss(
        predictions: try ShapedArray<Double>(shape: [2, 3, 1], scalars: [0, 0, 0, 0, 0, 0]),
        targets: try ShapedArray<Double>(shape: [2, 2], scalars: [1, 0, 0, 1]))
    }
    #expect(
      message == "targets shape [2, 2] does not broadcast with predictions shape [2, 3, 1]"
        + " (right-aligned broadcasting: axis 1 has 2 and 3)")
  }

  @Test func broadcastGradientSumsOverCopies() throws {
    let predictions = try ShapedArray<Double>(shape: [2, 1], scalars: [1, 2])
    let targets = ShapedArray<Double>([0, 1, 3])
    let (loss, gradient) = try MeanSquaredError(reduction: .sum).lossAndGradient(
      predictions: predictions, targets: targets)
    // (1-0)^2 + (1-1)^2 + (1-3)^2 + (2-0)^2 + (2-1)^2 + (2-3)^2 = 1 + 0 + 4 + 4 + 1 + 1
    #expect(loss.scalar == 11)
    #expect(gradient.shape == [2, 1] && gradient.scalars == [2 * (1 + 0 - 2), 2 * (2 + 1 - 1)])
  }
}
