import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct InfoNCELossTests {
  static let fixture = try! FixtureFile.load("contrastive")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var checked = 0
    for c in Self.fixture.cases where c.options["kind"]!.string == "infonce" {
      let expected = c.expected(Scalar.self)
      let context = "\(c.name) \(Scalar.self)"
      let temperature = Scalar(c.inputs["temperature"]!.data[0])
      let nce = InfoNCELoss(temperature: Double(temperature), reduction: c.reduction())
      let result = try nce.lossAndGradient(
        similarities: c.inputs["similarities"]!.shaped(Scalar.self))
      expectClose(result.loss, expected["loss"], "\(context) loss")
      expectClose(result.gradient, expected["gradient"], "\(context) gradient")
      expectClose(
        ShapedArray(scalar: result.temperatureGradient), expected["temperatureGradient"],
        "\(context) temperature gradient")
      checked += 1
    }
    #expect(checked == 12)
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: Reduction.allCases) func gradientsMatchFiniteDifferences(
    reduction: Reduction
  ) throws {
    var random = SeededGenerator(seed: 47)
    let point = random.normals(3 * 5) + [0.3]
    func loss(_ x: [Double]) -> Double {
      let nce = InfoNCELoss(temperature: x[15], reduction: reduction)
      return try! nce.loss(similarities: try! ShapedArray(shape: [3, 5], scalars: Array(x[..<15])))
        .scalars.reduce(0, +)
    }
    let result = try InfoNCELoss(temperature: 0.3, reduction: reduction).lossAndGradient(
      similarities: try ShapedArray(shape: [3, 5], scalars: Array(point[..<15])))
    expectFiniteDifferences(
      at: point, gradient: result.gradient.scalars + [result.temperatureGradient],
      "seed 47 \(reduction)", loss: loss)
  }

  @Test func badInputIsReported() {
    let square = try! ShapedArray<Float>(shape: [2, 2], scalars: [1, 0, 0, 1])
    #expect(
      lossErrorMessage {
        _ = try InfoNCELoss(temperature: -1).loss(similarities: square)
      } == "temperature -1.0 is invalid; expected a finite value > 0")
    #expect(
      lossErrorMessage {
        _ = try InfoNCELoss(temperature: 1).loss(
          similarities: try ShapedArray<Float>(shape: [3, 2], scalars: [0, 0, 0, 0, 0, 0]))
      } == "similarities shape [3, 2] is not an N × M matrix with M >= N;"
        + " row i's positive is column i")
  }
}
