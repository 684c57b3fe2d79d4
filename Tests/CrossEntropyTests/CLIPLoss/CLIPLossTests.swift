import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct CLIPLossTests {
  static let fixture = try! FixtureFile.load("contrastive")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var checked = 0
    for c in Self.fixture.cases where c.options["kind"]!.string != "infonce" {
      let expected = c.expected(Scalar.self)
      let context = "\(c.name) \(Scalar.self)"
      let clip = CLIPLoss(normalizesEmbeddings: c.options["normalize"]!.bool!)
      let result = try clip.lossAndGradient(
        imageEmbeddings: c.inputs["imageEmbeddings"]!.shaped(Scalar.self),
        textEmbeddings: c.inputs["textEmbeddings"]!.shaped(),
        logitScale: Scalar(c.inputs["logitScale"]!.data[0]))
      expectClose(ShapedArray(scalar: result.loss), expected["loss"], "\(context) loss")
      expectClose(result.imageGradient, expected["gradient"], "\(context) image")
      expectClose(result.textGradient, expected["textEmbeddingsGradient"], "\(context) text")
      expectClose(
        ShapedArray(scalar: result.logitScaleGradient), expected["logitScaleGradient"],
        "\(context) logit scale")
      checked += 1
    }
    #expect(checked == 4)
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [true, false]) func gradientsMatchFiniteDifferences(normalizes: Bool) throws {
    var random = SeededGenerator(seed: 43)
    let (n, d) = (3, 4)
    let point = random.normals(2 * n * d + 1)
    let clip = CLIPLoss(normalizesEmbeddings: normalizes)
    func split(_ x: [Double]) -> (ShapedArray<Double>, ShapedArray<Double>, Double) {
      (
        try! ShapedArray(shape: [n, d], scalars: Array(x[0..<(n * d)])),
        try! ShapedArray(shape: [n, d], scalars: Array(x[(n * d)..<(2 * n * d)])), x[2 * n * d]
      )
    }
    let (a, b, s) = split(point)
    let result = try clip.lossAndGradient(imageEmbeddings: a, textEmbeddings: b, logitScale: s)
    let gradient =
      result.imageGradient.scalars + result.textGradient.scalars + [result.logitScaleGradient]
    expectFiniteDifferences(at: point, gradient: gradient, "seed 43 normalize \(normalizes)") {
      x in
      let (a, b, s) = split(x)
      return try! clip.loss(imageEmbeddings: a, textEmbeddings: b, logitScale: s)
    }
  }

  @Test func badInputIsReported() {
    let square = try! ShapedArray<Float>(shape: [2, 2], scalars: [1, 0, 0, 1])
    #expect(
      lossErrorMessage {
        _ = try CLIPLoss().loss(
          imageEmbeddings: square, textEmbeddings: ShapedArray<Float>([1, 0]), logitScale: 0)
      } == "text embeddings shape [2] does not match image embeddings shape [2, 2]")
    #expect(
      lossErrorMessage {
        _ = try CLIPLoss().loss(
          imageEmbeddings: ShapedArray<Float>([1, 0]), textEmbeddings: square, logitScale: 0)
      } == "image embeddings shape [2] is not an N × D matrix with N >= 1")
  }
}
