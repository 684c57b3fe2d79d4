import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

@Suite struct DistillationLossTests {
  static let fixture = try! FixtureFile.load("distillation")

  func checkGolden<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for c in Self.fixture.cases {
      let distill = DistillationLoss(
        temperature: c.options["temperature"]!.double!,
        hardLabelWeight: c.options["hardLabelWeight"]!.double!, reduction: c.reduction(),
        classAxis: Int(c.options["classAxis"]!.double!))
      let expected = c.expected(Scalar.self)
      let (loss, gradient) = try distill.lossAndGradient(
        studentLogits: c.inputs["input"]!.shaped(Scalar.self),
        teacherLogits: c.inputs["teacher"]!.shaped(), labels: c.inputs["target"]?.integers)
      expectClose(loss, expected["loss"], "\(c.name) loss \(Scalar.self)")
      expectClose(gradient, expected["gradient"], "\(c.name) gradient \(Scalar.self)")
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [0.0, 0.4, 1.0]) func gradientMatchesFiniteDifferences(
    hardLabelWeight: Double
  ) throws {
    var random = SeededGenerator(seed: 37)
    let shape = [3, 5]
    let point = random.normals(15, scale: 2)
    let teacher = try ShapedArray(shape: shape, scalars: random.normals(15, scale: 3))
    let labels = ShapedArray([4, -100, 1])
    for reduction in Reduction.allCases {
      let distill = DistillationLoss(
        temperature: 2.5, hardLabelWeight: hardLabelWeight, reduction: reduction)
      let (_, gradient) = try distill.lossAndGradient(
        studentLogits: try ShapedArray(shape: shape, scalars: point), teacherLogits: teacher,
        labels: labels)
      expectFiniteDifferences(
        at: point, gradient: gradient.scalars, "seed 37 w \(hardLabelWeight) \(reduction)"
      ) { x in
        try! distill.loss(
          studentLogits: try! ShapedArray(shape: shape, scalars: x), teacherLogits: teacher,
          labels: labels
        ).scalars.reduce(0, +)
      }
    }
  }

  @Test func identicalLogitsGiveZeroSoftLoss() throws {
    var random = SeededGenerator(seed: 41)
    let logits = try ShapedArray(shape: [4, 6], scalars: random.normals(24))
    let (loss, gradient) = try DistillationLoss(temperature: 3).lossAndGradient(
      studentLogits: logits, teacherLogits: logits)
    #expect(abs(loss.scalar!) < 1e-15)
    #expect(gradient.scalars.allSatisfy { abs($0) < 1e-16 })
  }

  @Test func badInputIsReported() {
    let logits = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try DistillationLoss(temperature: 0).loss(studentLogits: logits, teacherLogits: logits)
      } == "distillation temperature 0.0 is invalid; expected a finite value > 0")
    #expect(
      lossErrorMessage {
        _ = try DistillationLoss(hardLabelWeight: 1.5).loss(
          studentLogits: logits, teacherLogits: logits)
      } == "hard-label weight 1.5 is outside [0, 1]")
    #expect(
      lossErrorMessage {
        _ = try DistillationLoss(hardLabelWeight: 0.5).loss(
          studentLogits: logits, teacherLogits: logits)
      } == "hard-label weight 0.5 needs labels; pass labels or a weight of 0")
    #expect(
      lossErrorMessage {
        _ = try DistillationLoss().loss(
          studentLogits: logits, teacherLogits: ShapedArray<Float>([0, 1, 2]))
      } == "teacher logits shape [3] does not match student logits shape [2, 3]")
    #expect(
      lossErrorMessage {
        _ = try DistillationLoss().loss(
          studentLogits: logits, teacherLogits: logits, labels: ShapedArray([0, 3]))
      } == "label 3 at position [1] is outside 0..<3 (ignore index -100)")
  }

  @Test func emptyBatchOfAHugeClassCountSumsToZero() throws {
    let (logits, _) = try emptyBatchOfAHugeClassCount()
    #expect(
      try DistillationLoss(reduction: .sum)
        .loss(studentLogits: logits, teacherLogits: logits).scalar == 0)
  }
}
