import Testing

@testable import CrossEntropy

/// The in-place forms of ``SoftmaxCrossEntropy`` for probability targets and over `inout`
/// arrays: the same numbers as the array forms (the same kernel runs, so bit for bit), every
/// error with its message, nothing written when they throw.
@Suite struct SoftmaxCrossEntropyBufferFormTests {
  static let shapes: [(shape: [Int], classAxis: Int)] = [
    ([3, 5], -1), ([2, 4, 3], 1), ([4, 70], -1),
  ]

  func problem<Scalar: BinaryFloatingPoint>(
    _: Scalar.Type, shape: [Int], classAxis: Int
  ) -> (logits: [Scalar], targets: [Scalar], labels: [Int], layout: ClassLayout) {
    let layout = try! ClassLayout(shape: shape, classAxis: classAxis)
    let logits = spreadValues(layout.count, seed: shape.count).map { Scalar($0) }
    let targets = spreadValues(layout.count, seed: 11, scale: 1).map { Scalar(abs($0) / 3) }
    let labels = (0..<layout.rows).map { $0 * 7 % layout.classes }
    return (logits, targets, labels, layout)
  }

  @Test(arguments: [Reduction.mean, .sum, .none])
  func overwritingWithTargetsMatchesArrays(reduction: Reduction) throws {
    try check(Float.self, reduction: reduction)
    try check(Double.self, reduction: reduction)
  }

  func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, reduction: Reduction) throws {
    for (shape, axis) in Self.shapes {
      let criterion = SoftmaxCrossEntropy(
        reduction: reduction, classAxis: axis, labelSmoothing: 0.1)
      let p = problem(Scalar.self, shape: shape, classAxis: axis)
      let weights = (0..<p.layout.classes).map { Scalar(1 + Double($0 % 3) / 2) }
      let expected = try criterion.lossAndGradient(
        logits: ShapedArray(shape: shape, scalars: p.logits),
        targets: ShapedArray(shape: shape, scalars: p.targets), classWeights: weights)
      var gradient = p.logits
      var loss = [Scalar](repeating: .nan, count: expected.loss.scalars.count)
      try p.targets.withUnsafeBufferPointer { t in
        try weights.withUnsafeBufferPointer { w in
          try gradient.withUnsafeMutableBufferPointer { x in
            try loss.withUnsafeMutableBufferPointer { l in
              try criterion.lossAndGradient(
                overwriting: x, shape: shape, targets: t, classWeights: w, loss: l)
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars), "\(Scalar.self) \(shape) \(reduction)")
      #expect(identical(gradient, expected.gradient.scalars), "\(Scalar.self) \(shape)")
    }
  }

  @Test(arguments: [Reduction.mean, .sum])
  func inoutArraysMatchArrays(reduction: Reduction) throws {
    try checkInout(Float.self, reduction: reduction)
    try checkInout(Double.self, reduction: reduction)
  }

  func checkInout<Scalar: BinaryFloatingPoint>(_: Scalar.Type, reduction: Reduction) throws {
    for (shape, axis) in Self.shapes {
      let criterion = SoftmaxCrossEntropy(reduction: reduction, classAxis: axis, zLossScale: 0.01)
      let p = problem(Scalar.self, shape: shape, classAxis: axis)
      let x = try ShapedArray(shape: shape, scalars: p.logits)
      let labelled = try criterion.lossAndGradient(
        logits: x, labels: ShapedArray(shape: p.layout.labelShape, scalars: p.labels))
      var logits = p.logits
      var loss: Scalar = .nan
      try criterion.lossAndGradient(
        overwriting: &logits, shape: shape, labels: p.labels, loss: &loss)
      #expect(identical([loss], labelled.loss.scalars), "labels \(Scalar.self) \(shape)")
      #expect(identical(logits, labelled.gradient.scalars), "labels \(Scalar.self) \(shape)")

      let weights = (0..<p.layout.classes).map { Scalar(1 + Double($0 % 2)) }
      let soft = try criterion.lossAndGradient(
        logits: x, targets: ShapedArray(shape: shape, scalars: p.targets), classWeights: weights)
      logits = p.logits
      try criterion.lossAndGradient(
        overwriting: &logits, shape: shape, targets: p.targets, classWeights: weights,
        loss: &loss)
      #expect(identical([loss], soft.loss.scalars), "targets \(Scalar.self) \(shape)")
      #expect(identical(logits, soft.gradient.scalars), "targets \(Scalar.self) \(shape)")
    }
  }

  @Test func overwritingWithTargetsErrorsWriteNothing() {
    let criterion = SoftmaxCrossEntropy()
    expectLossErrorWritingNothing(
      .shapeMismatch, "logits holds 5 elements but its shape [2, 3] needs 6", counts: [5, 6, 1]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try criterion.lossAndGradient(
        overwriting: b[0], shape: [2, 3], targets: UnsafeBufferPointer(b[1]), loss: b[2])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch,
      "targets hold 5 elements but logits shape [2, 3] holds 6; expected the same shape",
      counts: [6, 5, 1]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try criterion.lossAndGradient(
        overwriting: b[0], shape: [2, 3], targets: UnsafeBufferPointer(b[1]), loss: b[2])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "loss buffer holds 2 elements but reduction mean writes 1",
      counts: [6, 6, 2]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try criterion.lossAndGradient(
        overwriting: b[0], shape: [2, 3], targets: UnsafeBufferPointer(b[1]), loss: b[2])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "class weights have 2 elements but logits have 3 classes on axis 1",
      counts: [6, 6, 1, 2]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try criterion.lossAndGradient(
        overwriting: b[0], shape: [2, 3], targets: UnsafeBufferPointer(b[1]),
        classWeights: UnsafeBufferPointer(b[3]), loss: b[2])
    }
    expectLossErrorWritingNothing(
      .invalidOption,
      "ignore index 0 is not supported with probability targets; expected a negative value such"
        + " as the default -100",
      counts: [6, 6, 1]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try SoftmaxCrossEntropy(ignoreIndex: 0).lossAndGradient(
        overwriting: b[0], shape: [2, 3], targets: UnsafeBufferPointer(b[1]), loss: b[2])
    }
  }

  @Test func inoutArrayErrorsWriteNothing() {
    let original: [Float] = [1, 2, 3, 4, 5, 6]
    func expectUnchanged(
      _ kind: LossError.Kind, _ message: String,
      _ body: (inout [Float], inout Float) throws -> Void
    ) {
      var logits = original
      var loss: Float = 7
      expectLossError(kind, message) { try body(&logits, &loss) }
      #expect(logits == original && loss == 7, "\(message)")
    }
    let none = SoftmaxCrossEntropy(reduction: .none)
    let noneMessage =
      "reduction none writes one loss per row; use the buffer form of"
      + " lossAndGradient(overwriting:) for it"
    expectUnchanged(.invalidOption, noneMessage) {
      try none.lossAndGradient(overwriting: &$0, shape: [2, 3], labels: [0, 1], loss: &$1)
    }
    expectUnchanged(.invalidOption, noneMessage) {
      try none.lossAndGradient(
        overwriting: &$0, shape: [2, 3], targets: original, loss: &$1)
    }
    let criterion = SoftmaxCrossEntropy()
    expectUnchanged(
      .labelOutOfRange, "label 3 at position [1] is outside 0..<3 (ignore index -100)"
    ) {
      try criterion.lossAndGradient(overwriting: &$0, shape: [2, 3], labels: [0, 3], loss: &$1)
    }
    expectUnchanged(
      .shapeMismatch,
      "labels hold 3 elements but logits shape [2, 3] needs 2, one per position of [2]"
    ) {
      try criterion.lossAndGradient(
        overwriting: &$0, shape: [2, 3], labels: [0, 1, 2], loss: &$1)
    }
    expectUnchanged(.shapeMismatch, "logits holds 6 elements but its shape [3, 3] needs 9") {
      try criterion.lossAndGradient(overwriting: &$0, shape: [3, 3], labels: [0, 1, 2], loss: &$1)
    }
    expectUnchanged(
      .shapeMismatch,
      "targets hold 5 elements but logits shape [2, 3] holds 6; expected the same shape"
    ) {
      try criterion.lossAndGradient(
        overwriting: &$0, shape: [2, 3], targets: [1, 0, 0, 1, 0], loss: &$1)
    }
    expectUnchanged(
      .shapeMismatch, "class weights have 1 element but logits have 3 classes on axis 1"
    ) {
      try criterion.lossAndGradient(
        overwriting: &$0, shape: [2, 3], targets: original, classWeights: [1], loss: &$1)
    }
    expectUnchanged(.invalidOption, "label smoothing 2.0 is outside [0, 1]") {
      try SoftmaxCrossEntropy(labelSmoothing: 2).lossAndGradient(
        overwriting: &$0, shape: [2, 3], labels: [0, 1], loss: &$1)
    }
  }

  /// The names from before the `targets:` label forward to the new forms.
  @available(*, deprecated)
  @Test func deprecatedProbabilityForms() throws {
    let criterion = SoftmaxCrossEntropy(reduction: .none)
    let x = try ShapedArray<Double>(shape: [2, 3], scalars: [1, 2, 3, -1, 0, 1])
    let t = try ShapedArray<Double>(shape: [2, 3], scalars: [0.5, 0.5, 0, 0.2, 0.3, 0.5])
    let expected = try criterion.lossAndGradient(logits: x, targets: t)
    #expect(try criterion.loss(logits: x, probabilities: t) == expected.loss)
    let old = try criterion.lossAndGradient(logits: x, probabilities: t)
    #expect(old.loss == expected.loss && old.gradient == expected.gradient)
    var loss = [Double](repeating: .nan, count: 2)
    var gradient = [Double](repeating: .nan, count: 6)
    try x.withUnsafeBufferPointer { xb in
      try t.withUnsafeBufferPointer { tb in
        try loss.withUnsafeMutableBufferPointer { l in
          try criterion.loss(logits: xb, shape: [2, 3], probabilities: tb, into: l)
        }
        #expect(loss == expected.loss.scalars)
        try loss.withUnsafeMutableBufferPointer { l in
          try gradient.withUnsafeMutableBufferPointer { g in
            try criterion.lossAndGradient(
              logits: xb, shape: [2, 3], probabilities: tb, loss: l, gradient: g)
          }
        }
      }
    }
    #expect(loss == expected.loss.scalars && gradient == expected.gradient.scalars)
  }
}
