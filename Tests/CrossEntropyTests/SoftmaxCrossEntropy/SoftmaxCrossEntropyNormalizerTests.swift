import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// ``SoftmaxCrossEntropy/normalizer``: `.mean` divides the sum by it, on every kernel path
/// (fused fp32 classes-last and spatial, float16, bfloat16, fused Double, and the reference);
/// micro-batches with the whole batch's count add up to the batch; invalid values throw.
@Suite struct SoftmaxCrossEntropyNormalizerTests {
  static let normalizer = 3.5

  /// Logits of `shape` and labels (every third ignored) with a fixed seed, exact in fp32.
  static func problem(shape: [Int], classAxis: Int) -> (logits: [Double], labels: [Int]) {
    var generator = SeededGenerator(seed: 42)
    let logits = generator.normals(shape.reduce(1, *), scale: 2).map { Double(Float($0)) }
    var labelShape = shape
    let classes = labelShape.remove(at: classAxis < 0 ? classAxis + shape.count : classAxis)
    var labels = (0..<labelShape.reduce(1, *)).map { _ in
      Int.random(in: 0..<classes, using: &generator)
    }
    for r in stride(from: 1, to: labels.count, by: 3) { labels[r] = -100 }
    return (logits, labels)
  }

  /// Expects the `.mean` with the normaliser to be the `.sum` over it, loss and gradient.
  func expectSumOverNormalizer<Scalar: BinaryFloatingPoint>(
    _ criterion: SoftmaxCrossEntropy, shape: [Int], as _: Scalar.Type, tolerance: Double,
    probabilities: Bool = false, classWeights: [Scalar]? = nil, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let (values, labelValues) = Self.problem(shape: shape, classAxis: criterion.classAxis)
    let logits = try ShapedArray(shape: shape, scalars: values.map { Scalar($0) })
    var mean = criterion
    mean.reduction = .mean
    mean.normalizer = Self.normalizer
    var sum = criterion
    sum.reduction = .sum
    let (meanLoss, meanGradient): (ShapedArray<Scalar>, ShapedArray<Scalar>)
    let (sumLoss, sumGradient): (ShapedArray<Scalar>, ShapedArray<Scalar>)
    if probabilities {
      let layout = try ClassLayout(shape: shape, classAxis: criterion.classAxis)
      var targets = [Scalar](repeating: 0, count: values.count)
      for r in 0..<layout.rows {
        targets[layout.base(ofRow: r) + (r % layout.classes) * layout.inner] = 1
      }
      let t = try ShapedArray(shape: shape, scalars: targets)
      (meanLoss, meanGradient) = try mean.lossAndGradient(
        logits: logits, targets: t, classWeights: classWeights)
      (sumLoss, sumGradient) = try sum.lossAndGradient(
        logits: logits, targets: t, classWeights: classWeights)
    } else {
      var labelShape = shape
      labelShape.remove(
        at: criterion.classAxis < 0 ? criterion.classAxis + shape.count : criterion.classAxis)
      let labels = try ShapedArray(shape: labelShape, scalars: labelValues)
      (meanLoss, meanGradient) = try mean.lossAndGradient(
        logits: logits, labels: labels, classWeights: classWeights)
      (sumLoss, sumGradient) = try sum.lossAndGradient(
        logits: logits, labels: labels, classWeights: classWeights)
      let forward = try mean.loss(logits: logits, labels: labels, classWeights: classWeights)
      expectClose(
        forward.scalars.map { Double($0) }, meanLoss.scalars.map { Double($0) },
        relative: tolerance, absolute: 0, "\(what): forward-only loss",
        sourceLocation: sourceLocation)
    }
    let n = Self.normalizer
    expectClose(
      meanLoss.scalars.map { Double($0) }, sumLoss.scalars.map { Double($0) / n },
      relative: tolerance, absolute: 0, "\(what): loss", sourceLocation: sourceLocation)
    expectClose(
      meanGradient.scalars.map { Double($0) }, sumGradient.scalars.map { Double($0) / n },
      relative: tolerance, absolute: tolerance / 10, "\(what): gradient",
      sourceLocation: sourceLocation)
  }

  @Test func everyKernelPathDividesBySum() throws {
    let shape = [7, 19]
    let options = [
      SoftmaxCrossEntropy(), SoftmaxCrossEntropy(labelSmoothing: 0.1),
      SoftmaxCrossEntropy(zLossScale: 0.01, logitSoftCap: 3),
    ]
    for criterion in options {
      let what = "smoothing \(criterion.labelSmoothing) z \(criterion.zLossScale)"
      try expectSumOverNormalizer(criterion, shape: shape, as: Float.self, tolerance: 1e-6, what)
      try expectSumOverNormalizer(
        criterion, shape: shape, as: Float.self, tolerance: 1e-6,
        classWeights: (0..<19).map { Float($0 % 4 + 1) / 2 }, "weighted \(what)")
      try expectSumOverNormalizer(
        criterion, shape: shape, as: Double.self, tolerance: 1e-14, "Double \(what)")
      try expectSumOverNormalizer(
        criterion, shape: shape, as: Float.self, tolerance: 1e-6, probabilities: true,
        "probabilities \(what)")
      try expectSumOverNormalizer(
        criterion, shape: shape, as: Double.self, tolerance: 1e-14, probabilities: true,
        "Double probabilities \(what)")
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        try expectSumOverNormalizer(
          criterion, shape: shape, as: Float16.self, tolerance: 2e-3, "Float16 \(what)")
      #endif
      // Classes on axis 1 with positions after them: the spatial kernel (or the reference
      // with the logit options).
      var spatial = criterion
      spatial.classAxis = 1
      try expectSumOverNormalizer(
        spatial, shape: [3, 19, 5], as: Float.self, tolerance: 1e-6, "spatial \(what)")
      try expectSumOverNormalizer(
        spatial, shape: [3, 19, 5], as: Float.self, tolerance: 1e-6, probabilities: true,
        "spatial probabilities \(what)")
      try expectSumOverNormalizer(
        spatial, shape: [3, 19, 5], as: Double.self, tolerance: 1e-14, "spatial Double \(what)")
    }
  }

  @Test func bfloat16DividesBySum() throws {
    let (values, labels) = Self.problem(shape: [6, 21], classAxis: -1)
    let bits = values.map { BFloat16Storage.stored(Float($0)) }
    func run(_ criterion: SoftmaxCrossEntropy) throws -> (Float, [Float]) {
      var logits = bits
      var loss: Float = 0
      try criterion.lossAndGradient(
        overwritingBFloat16: &logits, shape: [6, 21], labels: labels, loss: &loss)
      return (loss, logits.map { BFloat16Storage.float($0) })
    }
    let (meanLoss, meanGradient) = try run(SoftmaxCrossEntropy(normalizer: 4))
    let (sumLoss, sumGradient) = try run(SoftmaxCrossEntropy(reduction: .sum))
    expectClose([meanLoss], [sumLoss / 4], relative: 1e-6, absolute: 0, "bfloat16 loss")
    // The gradients are rounded to bfloat16: the sum's quarter is exact in it.
    #expect(meanGradient == sumGradient.map { $0 / 4 })
  }

  @Test func zLossOnItsOwnUsesTheNormalizer() throws {
    let (values, labels) = Self.problem(shape: [6, 9], classAxis: -1)
    let logits = try ShapedArray(shape: [6, 9], scalars: values.map { Float($0) })
    let y = try ShapedArray(shape: [6], scalars: labels)
    let sum = try SoftmaxCrossEntropy(reduction: .sum, zLossScale: 0.1).zLoss(
      logits: logits, labels: y)
    let mean = try SoftmaxCrossEntropy(zLossScale: 0.1, normalizer: 2).zLoss(
      logits: logits, labels: y)
    expectClose(mean.scalars, sum.scalars.map { $0 / 2 }, relative: 1e-6, absolute: 0, "z-loss")
    let double = try SoftmaxCrossEntropy(zLossScale: 0.1, normalizer: 2).zLoss(
      logits: ShapedArray(shape: [6, 9], scalars: values))
    let doubleSum = try SoftmaxCrossEntropy(reduction: .sum, zLossScale: 0.1).zLoss(
      logits: ShapedArray(shape: [6, 9], scalars: values))
    expectClose(
      double.scalars, doubleSum.scalars.map { $0 / 2 }, relative: 1e-15, absolute: 0,
      "Double z-loss")
  }

  /// Micro-batches with the whole batch's weighted count add up to the whole batch's mean.
  @Test func microBatchesAddUpToTheBatch() throws {
    let (values, labels) = Self.problem(shape: [9, 7], classAxis: -1)
    let weights: [Double] = [1, 2, 0.5, 1, 3, 1, 1]
    let whole = try SoftmaxCrossEntropy(labelSmoothing: 0.1).lossAndGradient(
      logits: ShapedArray(shape: [9, 7], scalars: values),
      labels: ShapedArray(shape: [9], scalars: labels), classWeights: weights)
    let total = labels.filter { $0 != -100 }.reduce(0.0) { $0 + weights[$1] }
    let micro = SoftmaxCrossEntropy(labelSmoothing: 0.1, normalizer: total)
    var loss = 0.0
    var gradient: [Double] = []
    for range in [0..<4, 4..<9] {
      let part = try micro.lossAndGradient(
        logits: ShapedArray(
          shape: [range.count, 7],
          scalars: Array(values[range.lowerBound * 7..<range.upperBound * 7])),
        labels: ShapedArray(shape: [range.count], scalars: Array(labels[range])),
        classWeights: weights)
      loss += part.loss.scalars[0]
      gradient += part.gradient.scalars
    }
    expectClose([loss], whole.loss.scalars, relative: 1e-14, absolute: 0, "loss")
    expectClose(gradient, whole.gradient.scalars, relative: 1e-14, absolute: 1e-17, "gradient")
  }

  @Test func invalidNormalizerThrows() {
    let logits = try! ShapedArray<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let labels = try! ShapedArray<Int>(shape: [2], scalars: [0, 2])
    for value: Double in [0, -1, .nan, -.infinity] {
      expectLossError(.invalidOption, "normalizer \(value) is invalid; expected a finite value > 0")
      {
        _ = try SoftmaxCrossEntropy(normalizer: value).loss(logits: logits, labels: labels)
      }
      expectLossError(.invalidOption, "normalizer \(value) is invalid; expected a finite value > 0")
      {
        var bits: [UInt16] = [0x3F80, 0, 0xBF80]
        var loss: Float = 0
        try SoftmaxCrossEntropy(normalizer: value).lossAndGradient(
          overwritingBFloat16: &bits, shape: [1, 3], labels: [0], loss: &loss)
      }
      expectLossError(.invalidOption, "normalizer \(value) is invalid; expected a finite value > 0")
      {
        _ = try SoftmaxCrossEntropy(normalizer: value).zLoss(logits: logits)
      }
    }
  }
}
