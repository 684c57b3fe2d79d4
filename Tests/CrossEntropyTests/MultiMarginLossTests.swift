import Testing

@testable import CrossEntropy

@Suite struct MultiMarginLossTests {
  static let fixture = try! FamilyFixture.load("multi_margin")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for c in Self.fixture.cases {
      let hinge = MultiMarginLoss(
        reduction: c.reduction(), p: Int(c.options["p"]!.double!),
        margin: c.options["margin"]!.double!)
      let input: ShapedArray<Scalar> = c.inputs["input"]!.shaped()
      let labels = c.inputs["target"]!.integers
      let weights: [Scalar]? = c.inputs["weight"].map { $0.data.map { Scalar($0) } }
      let expected = c.expected(Scalar.self)
      let (loss, gradient) = try hinge.lossAndGradient(
        logits: input, labels: labels, classWeights: weights)
      familyExpectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      familyExpectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [1, 2]) func gradientMatchesFiniteDifferences(p: Int) throws {
    var random = FamilyRandom(seed: 13)
    let shape = [4, 5]
    let labels = try ShapedArray(shape: [4], scalars: [0, 3, 4, 1])
    let point = random.normals(20)
    for reduction in Reduction.allCases {
      let hinge = MultiMarginLoss(reduction: reduction, p: p, margin: 0.7)
      let weights: [Double] = [0.5, 1, 2, -1, 3]
      let (_, gradient) = try hinge.lossAndGradient(
        logits: try ShapedArray(shape: shape, scalars: point), labels: labels,
        classWeights: weights)
      familyExpectFiniteDifferences(
        at: point, gradient: gradient.scalars, "seed 13 p \(p) \(reduction)"
      ) { x in
        try! hinge.loss(
          logits: try! ShapedArray(shape: shape, scalars: x), labels: labels,
          classWeights: weights
        ).scalars.reduce(0, +)
      }
    }
  }

  @Test func badInputIsReported() {
    let scores = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    let labels = ShapedArray([0, 1])
    #expect(
      familyErrorMessage { _ = try MultiMarginLoss(p: 3).loss(logits: scores, labels: labels) }
        == "multi-margin p 3 is not supported; expected 1 or 2")
    #expect(
      familyErrorMessage {
        _ = try MultiMarginLoss().loss(logits: scores, labels: ShapedArray([0, 3]))
      } == "label 3 at position [1] is outside 0..<3")
    #expect(
      familyErrorMessage {
        _ = try MultiMarginLoss().loss(logits: scores, labels: ShapedArray([0]))
      } == "labels shape [1] does not match multi-margin logits shape [2, 3];"
        + " expected 2 label(s) in shape [2]")
    #expect(
      familyErrorMessage {
        _ = try MultiMarginLoss().loss(
          logits: try ShapedArray<Float>(shape: [1, 1, 2], scalars: [0, 0]),
          labels: ShapedArray([0]))
      } == "multi-margin logits shape [1, 1, 2] has rank 3; expected (N, C), (C) or ()")
    #expect(
      familyErrorMessage {
        _ = try MultiMarginLoss().loss(
          logits: try ShapedArray<Float>(shape: [2, 0], scalars: []), labels: ShapedArray([0, 0]))
      } == "multi-margin logits shape [2, 0] has no classes; expected at least 1")
    #expect(
      familyErrorMessage {
        _ = try MultiMarginLoss().loss(logits: scores, labels: labels, classWeights: [1, 2])
      } == "class weights have 2 elements but multi-margin logits have 3 classes")
  }
}
