#if Differentiation
  import _Differentiation
  import CrossEntropy
  import CrossEntropyDifferentiation
  import Testing
  import _CrossEntropyTestSupport

  // Every registered derivative against the library's `lossAndGradient`: the reduced forms
  // with the seed 1 of `gradient(at:of:)` (the library's gradient itself) and a seed of -2.5,
  // the unreduced forms with a random upstream gradient, both through `pullback` and through a
  // weighted sum.

  /// Checks a reduced loss: its value and gradient are the library's, and a seed scales them.
  func checkReduced(
    _ what: String, at input: ShapedArray<Double>,
    expected: (loss: ShapedArray<Double>, gradient: ShapedArray<Double>),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ loss: @differentiable(reverse) (ShapedArray<Double>) -> Double
  ) {
    let (value, seeded) = valueWithGradient(at: input, of: loss)
    #expect(value == expected.loss.scalar, "\(what) value", sourceLocation: sourceLocation)
    #expect(seeded == expected.gradient, "\(what) gradient", sourceLocation: sourceLocation)
    let scaled = gradient(at: input) { -2.5 * loss($0) }
    expectGradient(
      scaled.scalars, expected.gradient.scalars.map { -2.5 * $0 }, "\(what) seed -2.5",
      sourceLocation: sourceLocation)
  }

  /// Checks an unreduced loss: its value is the library's, and its pullback of `upstream` is
  /// `expectedGradient`.
  func checkUnreduced(
    _ what: String, at input: ShapedArray<Double>, expectedLoss: ShapedArray<Double>,
    upstream: ShapedArray<Double>, expectedGradient: [Double],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ loss: @differentiable(reverse) (ShapedArray<Double>) -> ShapedArray<Double>
  ) {
    let (value, pullback) = valueWithPullback(at: input, of: loss)
    #expect(value == expectedLoss, "\(what) value", sourceLocation: sourceLocation)
    let direct = pullback(upstream)
    #expect(direct.shape == input.shape, "\(what) gradient shape", sourceLocation: sourceLocation)
    expectGradient(direct.scalars, expectedGradient, what, sourceLocation: sourceLocation)
    let summed = gradient(at: input) { weightedSum(loss($0), upstream) }
    expectGradient(
      summed.scalars, expectedGradient, "\(what) through a weighted sum",
      sourceLocation: sourceLocation)
  }

  let reductions: [Reduction] = [.mean, .sum]

  @Suite struct SoftmaxCrossEntropyDerivativeTests {
    @Test(arguments: reductions)
    func labels(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 11)
      let logits = randomArray([6, 5], scale: 2, using: &generator)
      var labels = randomLabels([6], classes: 5, using: &generator).scalars
      labels[2] = -100
      let labelArray = try ShapedArray(shape: [6], scalars: labels)
      let classWeights = [0.5, 1, 2, 0.25, 1.5]
      let sampleWeights = randomUniform([6], in: 0.5..<2, using: &generator)
      let criterion = SoftmaxCrossEntropy(reduction: reduction, labelSmoothing: 0.1)
      let expected = try criterion.lossAndGradient(
        logits: logits, labels: labelArray, classWeights: classWeights,
        sampleWeights: sampleWeights)
      checkReduced("softmax cross-entropy \(reduction)", at: logits, expected: expected) {
        criterion.differentiableLoss(
          logits: $0, labels: labelArray, classWeights: classWeights,
          sampleWeights: sampleWeights)
      }
      let plain = try criterion.lossAndGradient(logits: logits, labels: labelArray)
      checkReduced("softmax cross-entropy \(reduction) unweighted", at: logits, expected: plain) {
        criterion.differentiableLoss(logits: $0, labels: labelArray)
      }
    }

    @Test(arguments: reductions)
    func targets(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 12)
      let logits = randomArray([4, 7], using: &generator)
      let targets = randomDistributions([4, 7], using: &generator)
      let classWeights = (0..<7).map { 0.5 + Double($0) / 4 }
      let criterion = SoftmaxCrossEntropy(reduction: reduction, zLossScale: 1e-2)
      let expected = try criterion.lossAndGradient(
        logits: logits, targets: targets, classWeights: classWeights)
      checkReduced("soft-target cross-entropy \(reduction)", at: logits, expected: expected) {
        criterion.differentiableLoss(logits: $0, targets: targets, classWeights: classWeights)
      }
    }

    /// Classes on the middle axis: the pullback scales each row across the class axis.
    @Test func unreducedLabelsOnMiddleAxis() throws {
      var generator = SeededGenerator(seed: 13)
      let logits = randomArray([2, 4, 3], using: &generator)
      let labels = randomLabels([2, 3], classes: 4, using: &generator)
      let upstream = randomArray([2, 3], using: &generator)
      let classWeights = [1, 0.5, 2, 1.25]
      // The reduction is ignored by the unreduced form.
      let criterion = SoftmaxCrossEntropy(classAxis: 1, labelSmoothing: 0.05)
      var unreduced = criterion
      unreduced.reduction = .none
      let expected = try unreduced.lossAndGradient(
        logits: logits, labels: labels, classWeights: classWeights, upstreamGradient: upstream)
      checkUnreduced(
        "unreduced softmax cross-entropy", at: logits, expectedLoss: expected.loss,
        upstream: upstream, expectedGradient: expected.gradient.scalars
      ) {
        criterion.differentiableUnreducedLoss(
          logits: $0, labels: labels, classWeights: classWeights)
      }
    }

    @Test func unreducedTargets() throws {
      var generator = SeededGenerator(seed: 14)
      let logits = randomArray([5, 3], using: &generator)
      let targets = randomDistributions([5, 3], using: &generator)
      let upstream = randomArray([5], using: &generator)
      let criterion = SoftmaxCrossEntropy(reduction: .none)
      let expected = try criterion.lossAndGradient(
        logits: logits, targets: targets, upstreamGradient: upstream)
      checkUnreduced(
        "unreduced soft-target cross-entropy", at: logits, expectedLoss: expected.loss,
        upstream: upstream, expectedGradient: expected.gradient.scalars
      ) { criterion.differentiableUnreducedLoss(logits: $0, targets: targets) }
    }

    /// Float arrays differentiate too, with the library's Float gradient.
    @Test func float() throws {
      let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [1, 2, 3, 1, 0, -1])
      let labels = try ShapedArray<Int>(shape: [2], scalars: [2, 0])
      let criterion = SoftmaxCrossEntropy()
      let expected = try criterion.lossAndGradient(logits: logits, labels: labels)
      let (value, grad) = valueWithGradient(at: logits) {
        criterion.differentiableLoss(logits: $0, labels: labels)
      }
      #expect(value == expected.loss.scalar)
      #expect(grad == expected.gradient)
    }
  }

  @Suite struct ClassIndexLossDerivativeTests {
    @Test(arguments: reductions)
    func negativeLogLikelihood(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 21)
      let input = try logSoftmax(randomArray([5, 4], using: &generator), alongAxis: -1)
      let labels = randomLabels([5], classes: 4, using: &generator)
      let classWeights = [2, 1, 0.5, 1]
      let criterion = NegativeLogLikelihood(reduction: reduction)
      let expected = try criterion.lossAndGradient(
        logProbabilities: input, labels: labels, classWeights: classWeights)
      checkReduced("NLL \(reduction)", at: input, expected: expected) {
        criterion.differentiableLoss(
          logProbabilities: $0, labels: labels, classWeights: classWeights)
      }
      let upstream = randomArray([5], using: &generator)
      let unreduced = NegativeLogLikelihood(reduction: .none)
      let rows = try unreduced.lossAndGradient(
        logProbabilities: input, labels: labels, classWeights: classWeights,
        upstreamGradient: upstream)
      checkUnreduced(
        "unreduced NLL", at: input, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: rows.gradient.scalars
      ) {
        criterion.differentiableUnreducedLoss(
          logProbabilities: $0, labels: labels, classWeights: classWeights)
      }
    }

    @Test(arguments: reductions)
    func softmaxFocal(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 22)
      let logits = randomArray([6, 3], scale: 2, using: &generator)
      let labels = randomLabels([6], classes: 3, using: &generator)
      let classWeights = [0.25, 0.5, 0.25]
      let criterion = SoftmaxFocalLoss(reduction: reduction, gamma: 1.5)
      let expected = try criterion.lossAndGradient(
        logits: logits, labels: labels, classWeights: classWeights)
      checkReduced("softmax focal \(reduction)", at: logits, expected: expected) {
        criterion.differentiableLoss(logits: $0, labels: labels, classWeights: classWeights)
      }
      let upstream = randomArray([6], using: &generator)
      let unreduced = SoftmaxFocalLoss(reduction: .none, gamma: 1.5)
      let rows = try unreduced.lossAndGradient(
        logits: logits, labels: labels, classWeights: classWeights, upstreamGradient: upstream)
      checkUnreduced(
        "unreduced softmax focal", at: logits, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: rows.gradient.scalars
      ) {
        criterion.differentiableUnreducedLoss(
          logits: $0, labels: labels, classWeights: classWeights)
      }
    }

    @Test(arguments: reductions)
    func poly(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 23)
      let logits = randomArray([5, 4], using: &generator)
      let labels = randomLabels([5], classes: 4, using: &generator)
      let targets = randomDistributions([5, 4], using: &generator)
      let criterion = PolyLoss(epsilon: 1.5, reduction: reduction)
      let expected = try criterion.lossAndGradient(logits: logits, labels: labels)
      checkReduced("Poly-1 \(reduction)", at: logits, expected: expected) {
        criterion.differentiableLoss(logits: $0, labels: labels)
      }
      let soft = try criterion.lossAndGradient(logits: logits, targets: targets)
      checkReduced("soft-target Poly-1 \(reduction)", at: logits, expected: soft) {
        criterion.differentiableLoss(logits: $0, targets: targets)
      }
      let upstream = randomArray([5], using: &generator)
      let unreduced = PolyLoss(epsilon: 1.5, reduction: .none)
      let rows = try unreduced.lossAndGradient(
        logits: logits, labels: labels, upstreamGradient: upstream)
      checkUnreduced(
        "unreduced Poly-1", at: logits, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: rows.gradient.scalars
      ) { criterion.differentiableUnreducedLoss(logits: $0, labels: labels) }
      let softRows = try unreduced.lossAndGradient(
        logits: logits, targets: targets, upstreamGradient: upstream)
      checkUnreduced(
        "unreduced soft-target Poly-1", at: logits, expectedLoss: softRows.loss,
        upstream: upstream, expectedGradient: softRows.gradient.scalars
      ) { criterion.differentiableUnreducedLoss(logits: $0, targets: targets) }
    }

    @Test(arguments: reductions)
    func distillation(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 24)
      let student = randomArray([4, 6], using: &generator)
      let teacher = randomArray([4, 6], using: &generator)
      let labels = randomLabels([4], classes: 6, using: &generator)
      let criterion = DistillationLoss(
        temperature: 2, hardLabelWeight: 0.3, reduction: reduction)
      let expected = try criterion.lossAndGradient(
        studentLogits: student, teacherLogits: teacher, labels: labels)
      checkReduced("distillation \(reduction)", at: student, expected: expected) {
        criterion.differentiableLoss(studentLogits: $0, teacherLogits: teacher, labels: labels)
      }
      let upstream = randomArray([4], using: &generator)
      var unreduced = criterion
      unreduced.reduction = .none
      let rows = try unreduced.lossAndGradient(
        studentLogits: student, teacherLogits: teacher, labels: labels)
      checkUnreduced(
        "unreduced distillation", at: student, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: scaledRows(rows.gradient, by: upstream, classes: 6)
      ) {
        criterion.differentiableUnreducedLoss(
          studentLogits: $0, teacherLogits: teacher, labels: labels)
      }
    }

    @Test(arguments: reductions)
    func multiMargin(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 25)
      let scores = randomArray([5, 4], using: &generator)
      let labels = randomLabels([5], classes: 4, using: &generator)
      let classWeights = [1, 2, 0.5, 1]
      let criterion = MultiMarginLoss(reduction: reduction, p: 2, margin: 0.5)
      let expected = try criterion.lossAndGradient(
        logits: scores, labels: labels, classWeights: classWeights)
      checkReduced("multi-margin \(reduction)", at: scores, expected: expected) {
        criterion.differentiableLoss(logits: $0, labels: labels, classWeights: classWeights)
      }
      let upstream = randomArray([5], using: &generator)
      var unreduced = criterion
      unreduced.reduction = .none
      let rows = try unreduced.lossAndGradient(
        logits: scores, labels: labels, classWeights: classWeights)
      checkUnreduced(
        "unreduced multi-margin", at: scores, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: scaledRows(rows.gradient, by: upstream, classes: 4)
      ) {
        criterion.differentiableUnreducedLoss(
          logits: $0, labels: labels, classWeights: classWeights)
      }
    }
  }

  @Suite struct ElementwiseLossDerivativeTests {
    @Test(arguments: reductions)
    func binaryCrossEntropy(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 31)
      let logits = randomArray([3, 4], scale: 3, using: &generator)
      let targets = randomUniform([3, 4], in: 0..<1, using: &generator)
      let weight = randomUniform([4], in: 0.5..<2, using: &generator)
      let positiveWeight = randomUniform([4], in: 0.5..<3, using: &generator)
      let criterion = BinaryCrossEntropy(reduction: reduction)
      let expected = try criterion.lossAndGradient(
        logits: logits, targets: targets, weight: weight, positiveWeight: positiveWeight)
      checkReduced("BCE with logits \(reduction)", at: logits, expected: expected) {
        criterion.differentiableLoss(
          logits: $0, targets: targets, weight: weight, positiveWeight: positiveWeight)
      }
      let upstream = randomArray([3, 4], using: &generator)
      let rows = try BinaryCrossEntropy(reduction: .none).lossAndGradient(
        logits: logits, targets: targets, weight: weight, positiveWeight: positiveWeight)
      checkUnreduced(
        "unreduced BCE with logits", at: logits, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: scaledRows(rows.gradient, by: upstream, classes: 1)
      ) {
        criterion.differentiableUnreducedLoss(
          logits: $0, targets: targets, weight: weight, positiveWeight: positiveWeight)
      }
      let probabilities = randomUniform([3, 4], in: 0.05..<0.95, using: &generator)
      let onProbabilities = try criterion.lossAndGradient(
        probabilities: probabilities, targets: targets, weight: weight)
      checkReduced("BCE \(reduction)", at: probabilities, expected: onProbabilities) {
        criterion.differentiableLoss(probabilities: $0, targets: targets, weight: weight)
      }
    }

    @Test(arguments: reductions)
    func sigmoidFocal(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 32)
      let logits = randomArray([8], scale: 2, using: &generator)
      let targets = randomUniform([8], in: 0..<1, using: &generator)
      let criterion = SigmoidFocalLoss(reduction: reduction, alpha: 0.3, gamma: 2)
      let expected = try criterion.lossAndGradient(logits: logits, targets: targets)
      checkReduced("sigmoid focal \(reduction)", at: logits, expected: expected) {
        criterion.differentiableLoss(logits: $0, targets: targets)
      }
      let upstream = randomArray([8], using: &generator)
      var unreduced = criterion
      unreduced.reduction = .none
      let rows = try unreduced.lossAndGradient(logits: logits, targets: targets)
      checkUnreduced(
        "unreduced sigmoid focal", at: logits, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: scaledRows(rows.gradient, by: upstream, classes: 1)
      ) { criterion.differentiableUnreducedLoss(logits: $0, targets: targets) }
    }

    @Test(arguments: [KLDivergence.Reduction.mean, .sum, .batchmean])
    func klDivergence(reduction: KLDivergence.Reduction) throws {
      var generator = SeededGenerator(seed: 33)
      let input = try logSoftmax(randomArray([3, 5], using: &generator), alongAxis: -1)
      let targets = randomDistributions([3, 5], using: &generator)
      let criterion = KLDivergence(reduction: reduction)
      let expected = try criterion.lossAndGradient(logProbabilities: input, targets: targets)
      checkReduced("KL \(reduction)", at: input, expected: expected) {
        criterion.differentiableLoss(logProbabilities: $0, targets: targets)
      }
      let upstream = randomArray([3, 5], using: &generator)
      let rows = try KLDivergence(reduction: .none).lossAndGradient(
        logProbabilities: input, targets: targets)
      checkUnreduced(
        "unreduced KL", at: input, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: scaledRows(rows.gradient, by: upstream, classes: 1)
      ) { criterion.differentiableUnreducedLoss(logProbabilities: $0, targets: targets) }
    }

    @Test(arguments: reductions)
    func meanSquaredError(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 34)
      let predictions = randomArray([2, 3, 2], using: &generator)
      let targets = randomArray([2, 3, 2], using: &generator)
      let criterion = MeanSquaredError(reduction: reduction)
      let expected = try criterion.lossAndGradient(predictions: predictions, targets: targets)
      checkReduced("MSE \(reduction)", at: predictions, expected: expected) {
        criterion.differentiableLoss(predictions: $0, targets: targets)
      }
      let upstream = randomArray([2, 3, 2], using: &generator)
      let rows = try MeanSquaredError(reduction: .none).lossAndGradient(
        predictions: predictions, targets: targets)
      checkUnreduced(
        "unreduced MSE", at: predictions, expectedLoss: rows.loss, upstream: upstream,
        expectedGradient: scaledRows(rows.gradient, by: upstream, classes: 1)
      ) { criterion.differentiableUnreducedLoss(predictions: $0, targets: targets) }
    }
  }

  @Suite struct LinearCrossEntropyDerivativeTests {
    @Test(arguments: reductions)
    func withAndWithoutBias(reduction: Reduction) throws {
      var generator = SeededGenerator(seed: 41)
      let hidden = randomArray([2, 3, 4], using: &generator)
      let weight = randomArray([7, 4], scale: 0.5, using: &generator)
      let bias = randomArray([7], scale: 0.1, using: &generator)
      let labels = randomLabels([2, 3], classes: 7, using: &generator)
      let classWeights = (0..<7).map { 1 + Double($0) / 7 }
      let head = LinearCrossEntropy(reduction: reduction, labelSmoothing: 0.1)
      let expected = try head.lossAndGradient(
        hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
      let (value, gradients) = valueWithGradient(at: hidden, weight, bias) {
        head.differentiableLoss(
          hidden: $0, weight: $1, bias: $2, labels: labels, classWeights: classWeights)
      }
      #expect(value == expected.loss.scalar)
      #expect(gradients.0 == expected.hiddenGradient)
      #expect(gradients.1 == expected.weightGradient)
      #expect(gradients.2 == expected.biasGradient)

      let plain = try head.lossAndGradient(hidden: hidden, weight: weight, labels: labels)
      let scaled = gradient(at: hidden, weight) {
        3 * head.differentiableLoss(hidden: $0, weight: $1, labels: labels)
      }
      expectGradient(scaled.0.scalars, plain.hiddenGradient.scalars.map { 3 * $0 }, "hidden")
      expectGradient(scaled.1.scalars, plain.weightGradient.scalars.map { 3 * $0 }, "weight")
      // Differentiating with respect to the hidden states alone uses the same derivative.
      let hiddenOnly = gradient(at: hidden) {
        head.differentiableLoss(hidden: $0, weight: weight, labels: labels)
      }
      #expect(hiddenOnly == plain.hiddenGradient)
    }
  }
#endif
