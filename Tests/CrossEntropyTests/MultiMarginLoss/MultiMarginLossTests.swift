import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct MultiMarginLossTests {
  static let fixture = try! FixtureFile.load("multi_margin")

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
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [1, 2]) func gradientMatchesFiniteDifferences(p: Int) throws {
    var random = SeededGenerator(seed: 13)
    let shape = [4, 5]
    let labels = try ShapedArray(shape: [4], scalars: [0, 3, 4, 1])
    let point = random.normals(20)
    for reduction in Reduction.allCases {
      let hinge = MultiMarginLoss(reduction: reduction, p: p, margin: 0.7)
      let weights: [Double] = [0.5, 1, 2, -1, 3]
      let (_, gradient) = try hinge.lossAndGradient(
        logits: try ShapedArray(shape: shape, scalars: point), labels: labels,
        classWeights: weights)
      expectFiniteDifferences(
        at: point, gradient: gradient.scalars, "seed 13 p \(p) \(reduction)"
      ) { x in
        try! hinge.loss(
          logits: try! ShapedArray(shape: shape, scalars: x), labels: labels,
          classWeights: weights
        ).scalars.reduce(0, +)
      }
    }
  }

  /// PyTorch leaves its output uninitialised for an empty batch (LossMultiMargin.cpp returns
  /// early when `input.numel() == 0`), so there is no golden value: the formula gives an empty
  /// sum (0) and a mean of 0 / 0 (NaN, as the other losses' empty means), and no gradient.
  @Test func emptyBatchFollowsTheFormula() throws {
    let scores = try ShapedArray<Double>(shape: [0, 4], scalars: [])
    let labels = try ShapedArray<Int>(shape: [0], scalars: [])
    for reduction in Reduction.allCases {
      let (loss, gradient) = try MultiMarginLoss(reduction: reduction, p: 2)
        .lossAndGradient(logits: scores, labels: labels, classWeights: [1, 2, 3, 4])
      #expect(gradient.shape == [0, 4])
      switch reduction {
      case .none: #expect(loss.shape == [0])
      case .sum: #expect(loss.shape == [] && loss.scalars == [0])
      case .mean: #expect(loss.shape == [] && loss.scalars[0].isNaN)
      }
    }
  }

  @Test func badInputIsReported() {
    let scores = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    let labels = ShapedArray([0, 1])
    #expect(
      lossErrorMessage { _ = try MultiMarginLoss(p: 3).loss(logits: scores, labels: labels) }
        == "multi-margin p 3 is not supported; expected 1 or 2")
    #expect(
      lossErrorMessage {
        _ = try MultiMarginLoss().loss(logits: scores, labels: ShapedArray([0, 3]))
      } == "label 3 at position [1] is outside 0..<3")
    #expect(
      lossErrorMessage {
        _ = try MultiMarginLoss().loss(logits: scores, labels: ShapedArray([0]))
      } == "labels shape [1] does not match multi-margin logits shape [2, 3];"
        + " expected 2 label(s) in shape [2]")
    #expect(
      lossErrorMessage {
        _ = try MultiMarginLoss().loss(
          logits: try ShapedArray<Float>(shape: [1, 1, 2], scalars: [0, 0]),
          labels: ShapedArray([0]))
      } == "multi-margin logits shape [1, 1, 2] has rank 3; expected (N, C), (C) or ()")
    #expect(
      lossErrorMessage {
        _ = try MultiMarginLoss().loss(
          logits: try ShapedArray<Float>(shape: [2, 0], scalars: []), labels: ShapedArray([0, 0]))
      } == "multi-margin logits shape [2, 0] has no classes; expected at least 1")
    #expect(
      lossErrorMessage {
        _ = try MultiMarginLoss().loss(logits: scores, labels: labels, classWeights: [1, 2])
      } == "class weights have 2 elements but multi-margin logits have 3 classes")
  }
}
