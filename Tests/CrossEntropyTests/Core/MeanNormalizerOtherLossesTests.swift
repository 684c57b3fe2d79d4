import RealModule
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The `normalizer` of the losses whose mean is not over rows with an ignore index (sigmoid
/// focal, binary cross-entropy, distillation, KL divergence, MSE, multi-margin, CTC, InfoNCE,
/// CLIP): `.mean` becomes the `.sum` divided by it, loss and gradient, on the fused and the
/// reference paths, in fp32 and Double; `.sum` ignores it; an invalid one throws.
@Suite struct MeanNormalizerOtherLossesTests {
  static let normalizer = 2.5

  /// One loss evaluated as `.mean` (true) or `.sum` (false) with a normaliser: the loss and
  /// the gradient (every gradient the loss returns, flattened).
  typealias Evaluation = (_ mean: Bool, _ normalizer: Double?) throws -> (
    loss: [Double], gradient: [Double]
  )

  static let values: [Double] = {
    var generator = SeededGenerator(seed: 23)
    return generator.normals(6 * 5, scale: 1.5).map { Double(Float($0)) }
  }()
  static let others: [Double] = {
    var generator = SeededGenerator(seed: 29)
    return generator.normals(6 * 5, scale: 1.5).map { Double(Float($0)) }
  }()
  static let binaryTargets: [Double] = (0..<30).map { $0 % 3 == 0 ? 1 : 0 }

  /// Expects the mean over K to be the sum over K, and the sum to ignore K.
  func expectSumOverNormalizer(
    _ evaluate: Evaluation, tolerance: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let k = Self.normalizer
    let mean = try evaluate(true, k)
    let sum = try evaluate(false, nil)
    expectClose(
      mean.loss, sum.loss.map { $0 / k }, relative: tolerance, absolute: 0, "\(what): loss",
      sourceLocation: sourceLocation)
    expectClose(
      mean.gradient, sum.gradient.map { $0 / k }, relative: tolerance,
      absolute: tolerance * largestFiniteMagnitude(sum.gradient), "\(what): gradient",
      sourceLocation: sourceLocation)
    let ignored = try evaluate(false, k)
    #expect(
      ignored.loss == sum.loss && ignored.gradient == sum.gradient, "\(what): .sum ignores K",
      sourceLocation: sourceLocation)
  }

  func doubles<S: BinaryFloatingPoint>(_ array: ShapedArray<S>) -> [Double] {
    array.scalars.map { Double($0) }
  }

  func array<S: BinaryFloatingPoint>(
    _: S.Type, _ shape: [Int], _ values: [Double]
  ) throws -> ShapedArray<S> {
    try ShapedArray(shape: shape, scalars: values.prefix(shape.reduce(1, *)).map { S($0) })
  }

  func tolerance<S: BinaryFloatingPoint>(_: S.Type) -> Double {
    S.significandBitCount > 30 ? 1e-13 : 2e-6
  }

  // MARK: - Sigmoid focal loss

  func sigmoidFocal<S: BinaryFloatingPoint>(
    _: S.Type, gamma: Double, weighted: Bool
  ) throws -> Evaluation {
    let x = try array(S.self, [6, 5], Self.values)
    let t = try array(S.self, [6, 5], Self.binaryTargets)
    let s = weighted ? try array(S.self, [6], [0.5, 2, 1.5, 1, 3, 0.25]) : nil
    return { mean, k in
      let r = try SigmoidFocalLoss(reduction: mean ? .mean : .sum, gamma: gamma, normalizer: k)
        .lossAndGradient(logits: x, targets: t, sampleWeights: s)
      return (self.doubles(r.loss), self.doubles(r.gradient))
    }
  }

  @Test func sigmoidFocal() throws {
    for weighted in [false, true] {
      // gamma 2: the fused fp32 kernel; gamma 0.5: the reference.
      for gamma in [2, 0.5] {
        let what = "sigmoid focal gamma \(gamma)\(weighted ? " weighted" : "")"
        try expectSumOverNormalizer(
          sigmoidFocal(Float.self, gamma: gamma, weighted: weighted), tolerance: 2e-6,
          "\(what) Float")
        try expectSumOverNormalizer(
          sigmoidFocal(Double.self, gamma: gamma, weighted: weighted), tolerance: 1e-13,
          "\(what) Double")
      }
    }
    // The in-place buffer form.
    let t = Self.binaryTargets.map { Float($0) }
    try expectSumOverNormalizer(
      { mean, k in
        var x = Self.values.map { Float($0) }
        var loss: [Float] = [0]
        try x.withUnsafeMutableBufferPointer { x in
          try t.withUnsafeBufferPointer { t in
            try loss.withUnsafeMutableBufferPointer { loss in
              try SigmoidFocalLoss(reduction: mean ? .mean : .sum, normalizer: k)
                .lossAndGradient(overwriting: x, shape: [6, 5], targets: t, loss: loss)
            }
          }
        }
        return (loss.map { Double($0) }, x.map { Double($0) })
      }, tolerance: 2e-6, "sigmoid focal in place")
  }

  // MARK: - Binary cross-entropy

  func binaryCrossEntropy<S: BinaryFloatingPoint>(
    _: S.Type, probabilities: Bool, weightShape: [Int]?
  ) throws -> Evaluation {
    let inputs = probabilities ? Self.values.map { 1 / (1 + Double.exp(-$0)) } : Self.values
    let x = try array(S.self, [6, 5], inputs)
    let t = try array(S.self, [6, 5], Self.binaryTargets)
    let w = try weightShape.map { try array(S.self, $0, Self.others.map { $0.magnitude }) }
    return { mean, k in
      let criterion = BinaryCrossEntropy(reduction: mean ? .mean : .sum, normalizer: k)
      let r =
        probabilities
        ? try criterion.lossAndGradient(probabilities: x, targets: t, weight: w)
        : try criterion.lossAndGradient(logits: x, targets: t, weight: w, positiveWeight: w)
      return (self.doubles(r.loss), self.doubles(r.gradient))
    }
  }

  @Test func binaryCrossEntropy() throws {
    // No weight or a last-axis weight: the fused kernel in fp32; a [6, 1] weight: the reference.
    for weightShape in [nil, [5], [6, 1]] {
      for probabilities in [false, true] {
        let what = "BCE \(probabilities ? "probabilities" : "logits") weight \(weightShape ?? [])"
        try expectSumOverNormalizer(
          binaryCrossEntropy(Float.self, probabilities: probabilities, weightShape: weightShape),
          tolerance: 2e-6, "\(what) Float")
        try expectSumOverNormalizer(
          binaryCrossEntropy(Double.self, probabilities: probabilities, weightShape: weightShape),
          tolerance: 1e-13, "\(what) Double")
      }
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      try expectSumOverNormalizer(
        binaryCrossEntropy(Float16.self, probabilities: false, weightShape: [5]),
        tolerance: 2e-3, "BCE logits Float16")
    #endif
    let t = Self.binaryTargets.map { Float($0) }
    try expectSumOverNormalizer(
      { mean, k in
        var x = Self.values.map { Float($0) }
        var loss: [Float] = [0]
        try x.withUnsafeMutableBufferPointer { x in
          try t.withUnsafeBufferPointer { t in
            try loss.withUnsafeMutableBufferPointer { loss in
              try BinaryCrossEntropy(reduction: mean ? .mean : .sum, normalizer: k)
                .lossAndGradient(overwriting: x, shape: [6, 5], targets: t, loss: loss)
            }
          }
        }
        return (loss.map { Double($0) }, x.map { Double($0) })
      }, tolerance: 2e-6, "BCE in place")
  }

  // MARK: - Distillation

  func distillation<S: BinaryFloatingPoint>(_: S.Type, classAxis: Int) throws -> Evaluation {
    let shape = classAxis == 0 ? [5, 6] : [6, 5]
    let student = try array(S.self, shape, Self.values)
    let teacher = try array(S.self, shape, Self.others)
    let labels = try ShapedArray(shape: [6], scalars: [0, -100, 4, 2, -100, 1])
    return { mean, k in
      let r = try DistillationLoss(
        temperature: 2, hardLabelWeight: 0.3, reduction: mean ? .mean : .sum,
        classAxis: classAxis, normalizer: k
      ).lossAndGradient(studentLogits: student, teacherLogits: teacher, labels: labels)
      return (self.doubles(r.loss), self.doubles(r.gradient))
    }
  }

  @Test func distillation() throws {
    // Classes on the last axis: the fused kernel in fp32; on axis 0: the reference.
    for classAxis in [-1, 0] {
      try expectSumOverNormalizer(
        distillation(Float.self, classAxis: classAxis), tolerance: 2e-6,
        "distillation axis \(classAxis) Float")
      try expectSumOverNormalizer(
        distillation(Double.self, classAxis: classAxis), tolerance: 1e-13,
        "distillation axis \(classAxis) Double")
    }
  }

  // MARK: - KL divergence and MSE

  func klDivergence<S: BinaryFloatingPoint>(
    _: S.Type, batchMean: Bool, targetShape: [Int]
  ) throws -> Evaluation {
    let x = try array(S.self, [6, 5], Self.values.map { -$0.magnitude })
    let t = try array(S.self, targetShape, Self.others.map { $0.magnitude / 4 })
    return { mean, k in
      let r = try KLDivergence(
        reduction: mean ? (batchMean ? .batchmean : .mean) : .sum, normalizer: k
      ).lossAndGradient(logProbabilities: x, targets: t)
      return (self.doubles(r.loss), self.doubles(r.gradient))
    }
  }

  func meanSquaredError<S: BinaryFloatingPoint>(
    _: S.Type, targetShape: [Int]
  ) throws -> Evaluation {
    let x = try array(S.self, [6, 5], Self.values)
    let t = try array(S.self, targetShape, Self.others)
    return { mean, k in
      let r = try MeanSquaredError(reduction: mean ? .mean : .sum, normalizer: k)
        .lossAndGradient(predictions: x, targets: t)
      return (self.doubles(r.loss), self.doubles(r.gradient))
    }
  }

  @Test func klDivergenceAndMeanSquaredError() throws {
    // Same shapes: the caller-buffer core; a [5] target: the broadcasting path.
    for targetShape in [[6, 5], [5]] {
      for batchMean in [false, true] {
        let what = "KL \(batchMean ? "batchmean" : "mean") target \(targetShape)"
        try expectSumOverNormalizer(
          klDivergence(Float.self, batchMean: batchMean, targetShape: targetShape),
          tolerance: 2e-6, "\(what) Float")
        try expectSumOverNormalizer(
          klDivergence(Double.self, batchMean: batchMean, targetShape: targetShape),
          tolerance: 1e-13, "\(what) Double")
      }
      try expectSumOverNormalizer(
        meanSquaredError(Float.self, targetShape: targetShape), tolerance: 2e-6,
        "MSE target \(targetShape) Float")
      try expectSumOverNormalizer(
        meanSquaredError(Double.self, targetShape: targetShape), tolerance: 1e-13,
        "MSE target \(targetShape) Double")
    }
  }

  // MARK: - Multi-margin

  func multiMargin<S: BinaryFloatingPoint>(_: S.Type, p: Int, weighted: Bool) throws -> Evaluation {
    let x = try array(S.self, [6, 5], Self.values)
    let labels = try ShapedArray(shape: [6], scalars: [0, 3, 4, 2, 1, 1])
    let weights: [S]? = weighted ? [0.5, 2, 1.5, 1, 3] : nil
    return { mean, k in
      let r = try MultiMarginLoss(reduction: mean ? .mean : .sum, p: p, normalizer: k)
        .lossAndGradient(logits: x, labels: labels, classWeights: weights)
      return (self.doubles(r.loss), self.doubles(r.gradient))
    }
  }

  @Test func multiMargin() throws {
    for p in [1, 2] {
      for weighted in [false, true] {
        let what = "multi-margin p \(p)\(weighted ? " weighted" : "")"
        try expectSumOverNormalizer(
          multiMargin(Float.self, p: p, weighted: weighted), tolerance: 2e-6, "\(what) Float")
        try expectSumOverNormalizer(
          multiMargin(Double.self, p: p, weighted: weighted), tolerance: 1e-13, "\(what) Double")
      }
    }
  }

  // MARK: - CTC

  static let ctcShape = [6, 3, 4]
  static let ctcLabels = [1, 2, 2, 0, 0, 0, 3, 1, 0]
  static let ctcInputLengths = [6, 5, 6]
  static let ctcLabelLengths = [3, 0, 2]

  func ctcInput<S: BinaryFloatingPoint>(_: S.Type) throws -> ShapedArray<S> {
    var generator = SeededGenerator(seed: 31)
    let raw = try ShapedArray(
      shape: Self.ctcShape, scalars: generator.normals(72).map { S(Float($0)) })
    return try logSoftmax(raw)
  }

  /// CTC's mean with K: `sum_n (l_n / max(L_n, 1)) / K`, against `.none` with the upstream
  /// gradient `1 / (K max(L_n, 1))`; `.sum` ignores K.
  func expectCTC<S: BinaryFloatingPoint>(_: S.Type, fromLogits: Bool) throws {
    let k = Self.normalizer
    let x = try ctcInput(S.self)
    let labels = try ShapedArray(shape: [3, 3], scalars: Self.ctcLabels)
    let factors = Self.ctcLabelLengths.map { 1 / (k * Double(max($0, 1))) }
    let upstream = try ShapedArray(shape: [3], scalars: factors.map { S($0) })
    func run(_ reduction: Reduction, _ normalizer: Double?, _ g: ShapedArray<S>? = nil) throws
      -> (loss: [Double], gradient: [Double])
    {
      let ctc = ConnectionistTemporalClassification(reduction: reduction, normalizer: normalizer)
      let r =
        fromLogits
        ? try ctc.lossAndGradient(
          logits: x, labels: labels, inputLengths: Self.ctcInputLengths,
          labelLengths: Self.ctcLabelLengths, upstreamGradient: g)
        : try ctc.lossAndGradient(
          logProbabilities: x, labels: labels, inputLengths: Self.ctcInputLengths,
          labelLengths: Self.ctcLabelLengths, upstreamGradient: g)
      return (doubles(r.loss), doubles(r.gradient))
    }
    let what = "CTC \(fromLogits ? "logits" : "log-probabilities") \(S.self)"
    let tolerance = tolerance(S.self)
    let mean = try run(.mean, k)
    let none = try run(.none, nil, upstream)
    let expected = zip(none.loss, factors).map { $0 * $1 }.reduce(0, +)
    expectClose(mean.loss, [expected], relative: tolerance, absolute: 0, "\(what): loss")
    expectClose(
      mean.gradient, none.gradient, relative: tolerance,
      absolute: tolerance * largestFiniteMagnitude(none.gradient), "\(what): gradient")
    let sum = try run(.sum, nil)
    let ignored = try run(.sum, k)
    #expect(ignored.loss == sum.loss && ignored.gradient == sum.gradient, "\(what): .sum")
  }

  @Test func connectionistTemporalClassification() throws {
    for fromLogits in [false, true] {
      try expectCTC(Float.self, fromLogits: fromLogits)
      try expectCTC(Double.self, fromLogits: fromLogits)
    }
    // The in-place buffer form agrees with the array form.
    let x = try ctcInput(Float.self)
    let ctc = ConnectionistTemporalClassification(normalizer: Self.normalizer)
    let labels = try ShapedArray(shape: [3, 3], scalars: Self.ctcLabels)
    let expected = try ctc.lossAndGradient(
      logProbabilities: x, labels: labels, inputLengths: Self.ctcInputLengths,
      labelLengths: Self.ctcLabelLengths)
    var gradient = x.scalars
    var loss: [Float] = [0]
    try gradient.withUnsafeMutableBufferPointer { g in
      try Self.ctcLabels.withUnsafeBufferPointer { y in
        try loss.withUnsafeMutableBufferPointer { l in
          try ctc.lossAndGradient(
            overwritingLogProbabilities: g, shape: Self.ctcShape, labels: y, labelShape: [3, 3],
            inputLengths: Self.ctcInputLengths, labelLengths: Self.ctcLabelLengths, loss: l)
        }
      }
    }
    #expect(loss == expected.loss.scalars && gradient == expected.gradient.scalars)
  }

  // MARK: - InfoNCE and CLIP

  func infoNCE<S: BinaryFloatingPoint>(_: S.Type) throws -> Evaluation {
    let similarities = try array(S.self, [4, 6], Self.values.map { $0 / 3 })
    return { mean, k in
      let r = try InfoNCELoss(temperature: 0.2, reduction: mean ? .mean : .sum, normalizer: k)
        .lossAndGradient(similarities: similarities)
      return (self.doubles(r.loss), self.doubles(r.gradient) + [Double(r.temperatureGradient)])
    }
  }

  /// CLIP has no `.sum`: the mean over K is the mean over N times N / K.
  func expectCLIP<S: BinaryFloatingPoint>(_: S.Type) throws {
    let image = try array(S.self, [4, 3], Self.values)
    let text = try array(S.self, [4, 3], Self.others)
    func run(_ normalizer: Double?) throws -> (loss: Double, gradient: [Double]) {
      let r = try CLIPLoss(normalizer: normalizer).lossAndGradient(
        imageEmbeddings: image, textEmbeddings: text, logitScale: 1.5)
      return (
        Double(r.loss),
        doubles(r.imageGradient) + doubles(r.textGradient) + [Double(r.logitScaleGradient)]
      )
    }
    let factor = 4 / Self.normalizer
    let normalized = try run(Self.normalizer)
    let plain = try run(nil)
    let tolerance = tolerance(S.self)
    expectClose(
      [normalized.loss], [plain.loss * factor], relative: tolerance, absolute: 0, "CLIP loss")
    expectClose(
      normalized.gradient, plain.gradient.map { $0 * factor }, relative: tolerance,
      absolute: tolerance * largestFiniteMagnitude(plain.gradient), "CLIP gradient")
  }

  @Test func contrastive() throws {
    try expectSumOverNormalizer(infoNCE(Float.self), tolerance: 2e-6, "InfoNCE Float")
    try expectSumOverNormalizer(infoNCE(Double.self), tolerance: 1e-13, "InfoNCE Double")
    try expectCLIP(Float.self)
    try expectCLIP(Double.self)
  }

  // MARK: - Invalid normalisers

  @Test func invalidNormalizerThrows() throws {
    let x = try ShapedArray(shape: [6, 5], scalars: Self.values.map { Float($0) })
    let t = try ShapedArray(shape: [6, 5], scalars: Self.binaryTargets.map { Float($0) })
    let labels = try ShapedArray(shape: [6], scalars: [0, 3, 4, 2, 1, 1])
    let ctcInput = try ctcInput(Float.self)
    let ctcLabels = try ShapedArray(shape: [3, 3], scalars: Self.ctcLabels)
    for bad in [0, -1, Double.nan, .infinity] {
      let expected = LossError.invalidOption(
        "normalizer \(bad) is invalid; expected a finite value > 0")
      #expect(throws: expected) {
        try SigmoidFocalLoss(normalizer: bad).loss(logits: x, targets: t)
      }
      #expect(throws: expected) {
        try BinaryCrossEntropy(normalizer: bad).loss(logits: x, targets: t)
      }
      #expect(throws: expected) {
        try BinaryCrossEntropy(normalizer: bad).loss(probabilities: t, targets: t)
      }
      #expect(throws: expected) {
        try DistillationLoss(normalizer: bad).loss(studentLogits: x, teacherLogits: x)
      }
      #expect(throws: expected) {
        try KLDivergence(reduction: .batchmean, normalizer: bad).loss(
          logProbabilities: x, targets: t)
      }
      #expect(throws: expected) {
        try MeanSquaredError(normalizer: bad).loss(predictions: x, targets: t)
      }
      #expect(throws: expected) {
        try MultiMarginLoss(normalizer: bad).loss(logits: x, labels: labels)
      }
      #expect(throws: expected) {
        try ConnectionistTemporalClassification(normalizer: bad).loss(
          logProbabilities: ctcInput, labels: ctcLabels, inputLengths: Self.ctcInputLengths,
          labelLengths: Self.ctcLabelLengths)
      }
      #expect(throws: expected) {
        try InfoNCELoss(temperature: 1, normalizer: bad).loss(similarities: x)
      }
      #expect(throws: expected) {
        try CLIPLoss(normalizer: bad).loss(imageEmbeddings: x, textEmbeddings: x, logitScale: 0)
      }
      // Buffer forms write nothing when they throw.
      var loss: [Float] = [42]
      #expect(throws: expected) {
        try x.scalars.withUnsafeBufferPointer { x in
          try t.scalars.withUnsafeBufferPointer { t in
            try loss.withUnsafeMutableBufferPointer { loss in
              try MeanSquaredError(normalizer: bad).loss(
                predictions: x, shape: [6, 5], targets: t, into: loss)
            }
          }
        }
      }
      #expect(loss == [42])
    }
  }
}
