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
          classWeights: c.inputs["alpha"].map { $0.data.map { Scalar($0) } })
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
      logits: try ShapedArray(shape: shape, scalars: point), labels: labels, classWeights: alpha)
    familyExpectFiniteDifferences(at: point, gradient: gradient.scalars, "seed 19 gamma \(gamma)") {
      x in
      try! focal.loss(
        logits: try! ShapedArray(shape: shape, scalars: x), labels: labels, classWeights: alpha
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
      } == "focal alpha nan is invalid; expected a weight in [0, 1], or a negative value to disable"
        + " the weighting")
    #expect(
      familyErrorMessage {
        _ = try SigmoidFocalLoss(alpha: 1.5).loss(logits: logits, targets: logits)
      } == "focal alpha 1.5 is invalid; expected a weight in [0, 1], or a negative value to"
        + " disable the weighting")
    #expect(
      familyErrorMessage {
        _ = try SigmoidFocalLoss().loss(logits: logits, targets: ShapedArray<Float>([0]))
      } == "targets shape [1] does not match logits shape [3];"
        + " sigmoid focal loss expects the same shape (no broadcasting)")
    let rows = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      familyErrorMessage {
        _ = try SoftmaxFocalLoss().loss(
          logits: rows, labels: ShapedArray([0, 1]), classWeights: [1])
      } == "focal alpha has 1 elements but logits have 3 classes on axis 1")
    #expect(
      familyErrorMessage {
        _ = try SoftmaxFocalLoss().loss(logits: rows, labels: ShapedArray([0, 5]))
      } == "label 5 at position [1] is outside 0..<3 (ignore index -100)")
  }
}

/// The caller-buffer forms of ``SigmoidFocalLoss``: the array API's bits, and their errors.
@Suite struct SigmoidFocalBufferTests {
  @Test(arguments: [1.5, 2.0])
  func bufferFormsMatchTheArrayAPI(gamma: Double) throws {
    var generator = SplitMix(state: 77)
    let x = (0..<301).map { _ in Float.random(in: -9...9, using: &generator) }
    let y = (0..<301).map { _ in Float(Bool.random(using: &generator) ? 1 : 0) }
    for reduction in [Reduction.none, .mean, .sum] {
      let criterion = SigmoidFocalLoss(reduction: reduction, gamma: gamma)
      let expected = try criterion.lossAndGradient(
        logits: ShapedArray(shape: [7, 43], scalars: x),
        targets: ShapedArray(shape: [7, 43], scalars: y))
      var loss = [Float](repeating: 0, count: expected.loss.scalars.count)
      var gradient = [Float](repeating: 0, count: 301)
      var inPlace = x
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          try loss.withUnsafeMutableBufferPointer { l in
            try criterion.loss(logits: xb, shape: [7, 43], targets: yb, into: l)
            #expect(Array(l) == expected.loss.scalars)
            try gradient.withUnsafeMutableBufferPointer { g in
              try criterion.lossAndGradient(
                logits: xb, shape: [7, 43], targets: yb, loss: l, gradient: g)
            }
            #expect(Array(l) == expected.loss.scalars)
            try inPlace.withUnsafeMutableBufferPointer { z in
              try criterion.lossAndGradient(overwriting: z, shape: [7, 43], targets: yb, loss: l)
            }
            #expect(Array(l) == expected.loss.scalars)
          }
        }
      }
      #expect(gradient == expected.gradient.scalars)
      #expect(inPlace == expected.gradient.scalars)
    }
  }

  @Test func bufferErrorsNameTheCounts() {
    let x: [Float] = [0, 1, 2, 3, 4, 5]
    var l: [Float] = [0]
    var g = [Float](repeating: 0, count: 5)
    x.withUnsafeBufferPointer { xb in
      l.withUnsafeMutableBufferPointer { lb in
        let criterion = SigmoidFocalLoss()
        expectLossError(.shapeMismatch, "logits holds 6 elements but its shape [4] needs 4") {
          try criterion.loss(logits: xb, shape: [4], targets: xb, into: lb)
        }
        expectLossError(
          .shapeMismatch,
          "targets hold 5 elements but logits shape [6] holds 6; expected the same shape"
        ) {
          try criterion.loss(
            logits: xb, shape: [6], targets: UnsafeBufferPointer(rebasing: xb[1...]), into: lb)
        }
        g.withUnsafeMutableBufferPointer { gb in
          expectLossError(.shapeMismatch, "gradient holds 5 elements but logits shape [6] holds 6")
          {
            try criterion.lossAndGradient(
              logits: xb, shape: [6], targets: xb, loss: lb, gradient: gb)
          }
        }
        expectLossError(.shapeMismatch, "loss buffer holds 1 elements but reduction none writes 6")
        {
          try SigmoidFocalLoss(reduction: .none).loss(logits: xb, shape: [6], targets: xb, into: lb)
        }
        expectLossError(.invalidOption, "focal gamma -1.0 is invalid; expected a finite value >= 0")
        {
          try SigmoidFocalLoss(gamma: -1).loss(logits: xb, shape: [6], targets: xb, into: lb)
        }
        expectLossError(
          .invalidOption,
          "focal alpha nan is invalid; expected a weight in [0, 1], or a negative value to disable"
            + " the weighting"
        ) {
          try SigmoidFocalLoss(alpha: .nan).loss(logits: xb, shape: [6], targets: xb, into: lb)
        }
      }
    }
  }
}
