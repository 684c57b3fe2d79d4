import Foundation
import Testing

@testable import CrossEntropy

@Suite struct ContrastiveTests {
  static let fixture = try! FamilyFixture.load("contrastive")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var checked = 0
    for c in Self.fixture.cases {
      let expected = c.expected(Scalar.self)
      let context = "\(c.name) \(Scalar.self)"
      if c.options["kind"]!.string == "infonce" {
        let temperature = Scalar(c.inputs["temperature"]!.data[0])
        let nce = InfoNCELoss(temperature: Double(temperature), reduction: c.reduction())
        let result = try nce.lossAndGradient(
          similarities: c.inputs["similarities"]!.shaped(Scalar.self))
        familyExpectClose(result.loss, expected["loss"], "\(context) loss")
        familyExpectClose(result.gradient, expected["gradient"], "\(context) gradient")
        familyExpectClose(
          ShapedArray(scalar: result.temperatureGradient), expected["temperatureGradient"],
          "\(context) temperature gradient")
      } else {
        let clip = CLIPLoss(normalizesEmbeddings: c.options["normalize"]!.bool!)
        let result = try clip.lossAndGradient(
          imageEmbeddings: c.inputs["imageEmbeddings"]!.shaped(Scalar.self),
          textEmbeddings: c.inputs["textEmbeddings"]!.shaped(),
          logitScale: Scalar(c.inputs["logitScale"]!.data[0]))
        familyExpectClose(ShapedArray(scalar: result.loss), expected["loss"], "\(context) loss")
        familyExpectClose(result.imageGradient, expected["gradient"], "\(context) image")
        familyExpectClose(
          result.textGradient, expected["textEmbeddingsGradient"], "\(context) text")
        familyExpectClose(
          ShapedArray(scalar: result.logitScaleGradient), expected["logitScaleGradient"],
          "\(context) logit scale")
      }
      checked += 1
    }
    #expect(checked == 16)
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [true, false]) func clipGradientsMatchFiniteDifferences(normalizes: Bool) throws
  {
    var random = FamilyRandom(seed: 43)
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
    familyExpectFiniteDifferences(at: point, gradient: gradient, "seed 43 normalize \(normalizes)")
    { x in
      let (a, b, s) = split(x)
      return try! clip.loss(imageEmbeddings: a, textEmbeddings: b, logitScale: s)
    }
  }

  @Test(arguments: Reduction.allCases) func infoNCEGradientsMatchFiniteDifferences(
    reduction: Reduction
  ) throws {
    var random = FamilyRandom(seed: 47)
    let point = random.normals(3 * 5) + [0.3]
    func loss(_ x: [Double]) -> Double {
      let nce = InfoNCELoss(temperature: x[15], reduction: reduction)
      return try! nce.loss(similarities: try! ShapedArray(shape: [3, 5], scalars: Array(x[..<15])))
        .scalars.reduce(0, +)
    }
    let result = try InfoNCELoss(temperature: 0.3, reduction: reduction).lossAndGradient(
      similarities: try ShapedArray(shape: [3, 5], scalars: Array(point[..<15])))
    familyExpectFiniteDifferences(
      at: point, gradient: result.gradient.scalars + [result.temperatureGradient],
      "seed 47 \(reduction)", loss: loss)
  }

  @Test func badInputIsReported() {
    let square = try! ShapedArray<Float>(shape: [2, 2], scalars: [1, 0, 0, 1])
    #expect(
      familyErrorMessage {
        _ = try InfoNCELoss(temperature: -1).loss(similarities: square)
      } == "temperature -1.0 is invalid; expected a finite value > 0")
    #expect(
      familyErrorMessage {
        _ = try InfoNCELoss(temperature: 1).loss(
          similarities: try ShapedArray<Float>(shape: [3, 2], scalars: [0, 0, 0, 0, 0, 0]))
      } == "similarities shape [3, 2] is not an N × M matrix with M >= N;"
        + " row i's positive is column i")
    #expect(
      familyErrorMessage {
        _ = try CLIPLoss().loss(
          imageEmbeddings: square, textEmbeddings: ShapedArray<Float>([1, 0]), logitScale: 0)
      } == "text embeddings shape [2] does not match image embeddings shape [2, 2]")
    #expect(
      familyErrorMessage {
        _ = try CLIPLoss().loss(
          imageEmbeddings: ShapedArray<Float>([1, 0]), textEmbeddings: square, logitScale: 0)
      } == "image embeddings shape [2] is not an N × D matrix with N >= 1")
  }
}
