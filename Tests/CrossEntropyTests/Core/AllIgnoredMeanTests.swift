import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// ``AllIgnoredMean``: a `.mean` with nothing to average is NaN by default (PyTorch's `0 / 0`)
/// and 0 with `.zero`, with a zero gradient either way, on every kernel path of every loss
/// over rows; a batch with something to average gives the same bits under both.
@Suite struct AllIgnoredMeanTests {
  /// Logits with a fixed seed, exact in fp32.
  static func logits(rows: Int, classes: Int) -> [Double] {
    var generator = SeededGenerator(seed: 7)
    return generator.normals(rows * classes, scale: 2).map { Double(Float($0)) }
  }

  /// One loss evaluated both ways: `(loss, gradient)` for a criterion's `.nan` and `.zero`.
  typealias Evaluation = (AllIgnoredMean) throws -> (loss: [Double], gradient: [Double])

  /// Expects `.nan` to give NaN and `.zero` to give 0, both with a zero gradient; but where
  /// rows of weight 0 remain, PyTorch's `.nan` gradient of those rows is `0 / 0` too, so it is
  /// checked only when `allIgnored`.
  func expectEmptyMean(_ evaluate: Evaluation, allIgnored: Bool = true, _ what: String) throws {
    let nan = try evaluate(.nan)
    #expect(nan.loss.count == 1 && nan.loss[0].isNaN, "\(what): .nan gives NaN")
    if allIgnored {
      #expect(nan.gradient.allSatisfy { $0 == 0 }, "\(what): .nan gradient is 0")
    }
    let zero = try evaluate(.zero)
    #expect(zero.loss == [0], "\(what): .zero gives 0")
    #expect(zero.gradient.allSatisfy { $0 == 0 }, "\(what): .zero gradient is 0")
  }

  /// Expects `.nan` and `.zero` to give the same bits.
  func expectSameBits(_ evaluate: Evaluation, _ what: String) throws {
    let nan = try evaluate(.nan)
    let zero = try evaluate(.zero)
    #expect(nan.loss[0].isFinite, "\(what): a finite mean")
    #expect(nan.loss.map(\.bitPattern) == zero.loss.map(\.bitPattern), "\(what): loss")
    #expect(nan.gradient.map(\.bitPattern) == zero.gradient.map(\.bitPattern), "\(what): gradient")
  }

  /// Softmax cross-entropy of `Scalar` logits of `shape` against `labels`.
  func softmax<Scalar: BinaryFloatingPoint>(
    _ criterion: SoftmaxCrossEntropy, shape: [Int], labels: [Int], classWeights: [Scalar]? = nil,
    sampleWeights: [Scalar]? = nil, as _: Scalar.Type
  ) -> Evaluation {
    { allIgnored in
      var c = criterion
      c.allIgnored = allIgnored
      let values = Self.logits(
        rows: labels.count, classes: shape.reduce(1, *) / max(labels.count, 1))
      let logits = try ShapedArray(shape: shape, scalars: values.map { Scalar($0) })
      var labelShape = shape
      labelShape.remove(at: c.classAxis < 0 ? c.classAxis + shape.count : c.classAxis)
      let (loss, gradient) = try c.lossAndGradient(
        logits: logits, labels: ShapedArray(shape: labelShape, scalars: labels),
        classWeights: classWeights,
        sampleWeights: try sampleWeights.map { try ShapedArray(shape: labelShape, scalars: $0) })
      return (loss.scalars.map { Double($0) }, gradient.scalars.map { Double($0) })
    }
  }

  @Test func softmaxCrossEntropyOnEveryPath() throws {
    let ignored = [Int](repeating: -100, count: 6)
    let options = [
      SoftmaxCrossEntropy(), SoftmaxCrossEntropy(labelSmoothing: 0.1),
      SoftmaxCrossEntropy(zLossScale: 0.01, logitSoftCap: 3),
    ]
    for criterion in options {
      let what = "\(criterion)"
      try expectEmptyMean(softmax(criterion, shape: [6, 5], labels: ignored, as: Float.self), what)
      try expectEmptyMean(
        softmax(criterion, shape: [6, 5], labels: ignored, as: Double.self), what)
      try expectEmptyMean(
        softmax(criterion, shape: [6, 5], labels: ignored, as: Float16.self), what)
      var spatial = criterion
      spatial.classAxis = 1
      try expectEmptyMean(
        softmax(spatial, shape: [2, 5, 3], labels: ignored, as: Float.self), "spatial \(what)")
      try expectSameBits(
        softmax(criterion, shape: [6, 5], labels: [0, -100, 2, 3, 4, 1], as: Float.self), what)
      try expectSameBits(
        softmax(criterion, shape: [6, 5], labels: [0, -100, 2, 3, 4, 1], as: Double.self), what)
    }
  }

  @Test func weightsThatAddUpToZeroAndAnEmptyBatch() throws {
    let labels = [0, 0, -100, 0]
    try expectEmptyMean(
      softmax(
        SoftmaxCrossEntropy(), shape: [4, 3], labels: labels, classWeights: [0, 1, 1],
        as: Float.self), allIgnored: false, "class weights of 0")
    try expectEmptyMean(
      softmax(
        SoftmaxCrossEntropy(), shape: [4, 3], labels: [0, 1, 2, 1], sampleWeights: [0, 0, 0, 0],
        as: Float.self), allIgnored: false, "sample weights of 0")
    try expectEmptyMean(
      softmax(SoftmaxCrossEntropy(), shape: [0, 3], labels: [], as: Float.self), "empty batch")
  }

  @Test func bfloat16Logits() throws {
    let logits = Self.logits(rows: 4, classes: 3).map { BFloat16Storage.stored(Float($0)) }
    for allIgnored in AllIgnoredMean.allCases {
      var criterion = SoftmaxCrossEntropy(allIgnored: allIgnored)
      criterion.reduction = .mean
      var loss = [Float](repeating: 1, count: 1)
      var gradient = [UInt16](repeating: 1, count: logits.count)
      try logits.withUnsafeBufferPointer { x in
        try [-100, -100, -100, -100].withUnsafeBufferPointer { labels in
          try loss.withUnsafeMutableBufferPointer { l in
            try gradient.withUnsafeMutableBufferPointer { g in
              try criterion.lossAndGradient(
                bfloat16Logits: x, shape: [4, 3], labels: labels, loss: l, gradient: g)
            }
          }
        }
      }
      #expect(allIgnored == .nan ? loss[0].isNaN : loss[0] == 0, "\(allIgnored)")
      #expect(gradient.allSatisfy { BFloat16Storage.float($0) == 0 }, "\(allIgnored)")
    }
  }

  @Test func zLossOnItsOwn() throws {
    let logits = try ShapedArray(shape: [3, 4], scalars: Self.logits(rows: 3, classes: 4))
    let labels = try ShapedArray(shape: [3], scalars: [-100, -100, -100])
    #expect(
      try SoftmaxCrossEntropy(zLossScale: 0.1).zLoss(logits: logits, labels: labels).scalar!.isNaN)
    let zero = try SoftmaxCrossEntropy(zLossScale: 0.1, allIgnored: .zero)
      .zLoss(logits: logits, labels: labels)
    #expect(zero.scalar == 0)
  }

  @Test func negativeLogLikelihoodFocalAndPoly() throws {
    let values = Self.logits(rows: 5, classes: 4)
    let logits = try ShapedArray(shape: [5, 4], scalars: values)
    let ignored = try ShapedArray(shape: [5], scalars: [Int](repeating: -1, count: 5))
    let kept = try ShapedArray(shape: [5], scalars: [0, -1, 3, 2, 1])
    for labels in [ignored, kept] {
      let nll: Evaluation = { allIgnored in
        let r = try NegativeLogLikelihood(ignoreIndex: -1, allIgnored: allIgnored)
          .lossAndGradient(logProbabilities: logSoftmax(logits), labels: labels)
        return (r.loss.scalars, r.gradient.scalars)
      }
      let focal: Evaluation = { allIgnored in
        let r = try SoftmaxFocalLoss(ignoreIndex: -1, allIgnored: allIgnored)
          .lossAndGradient(logits: logits, labels: labels)
        return (r.loss.scalars, r.gradient.scalars)
      }
      let focalFloat: Evaluation = { allIgnored in
        let r = try SoftmaxFocalLoss(ignoreIndex: -1, allIgnored: allIgnored)
          .lossAndGradient(
            logits: ShapedArray(shape: [5, 4], scalars: values.map { Float($0) }), labels: labels)
        return (r.loss.scalars.map { Double($0) }, r.gradient.scalars.map { Double($0) })
      }
      let poly: Evaluation = { allIgnored in
        let r = try PolyLoss(ignoreIndex: -1, allIgnored: allIgnored)
          .lossAndGradient(logits: logits, labels: labels)
        return (r.loss.scalars, r.gradient.scalars)
      }
      let cases = [("NLL", nll), ("focal", focal), ("fused focal", focalFloat), ("Poly-1", poly)]
      for (what, evaluate) in cases {
        if labels == ignored {
          try expectEmptyMean(evaluate, what)
        } else {
          try expectSameBits(evaluate, what)
        }
      }
    }
  }

  @Test func linearCrossEntropyOnBothSchedules() throws {
    let hidden = try ShapedArray(shape: [5, 3], scalars: Self.logits(rows: 5, classes: 3))
    let weight = try ShapedArray(shape: [4, 3], scalars: Self.logits(rows: 4, classes: 3))
    let bias = try ShapedArray(shape: [4], scalars: [0.5, -0.25, 0, 1])
    let ignored = try ShapedArray(shape: [5], scalars: [Int](repeating: -100, count: 5))
    let kept = try ShapedArray(shape: [5], scalars: [0, -100, 3, 2, 1])
    // The default scratch holds every row at once; 16 bytes splits the vocabulary as well.
    for scratchLimit in [LinearCrossEntropy.defaultScratchLimit, 16] {
      for labels in [ignored, kept] {
        let evaluate: Evaluation = { allIgnored in
          let r = try LinearCrossEntropy(
            labelSmoothing: 0.1, zLossScale: 1e-3, scratchLimit: scratchLimit,
            allIgnored: allIgnored
          )
          .lossAndGradient(hidden: hidden, weight: weight, bias: bias, labels: labels)
          return (
            r.loss.scalars,
            r.hiddenGradient.scalars + r.weightGradient.scalars + (r.biasGradient?.scalars ?? [])
          )
        }
        let what = "linear cross-entropy, scratch \(scratchLimit)"
        if labels == ignored {
          try expectEmptyMean(evaluate, what)
        } else {
          try expectSameBits(evaluate, what)
        }
      }
    }
  }
}
