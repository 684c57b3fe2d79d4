import Testing

@testable import CrossEntropy

/// Every error path of ``SoftmaxCrossEntropy``, with its message.
@Suite struct SoftmaxCrossEntropyErrorTests {
  let logits = try! ShapedArray<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
  let labels = try! ShapedArray<Int>(shape: [2], scalars: [0, 2])
  var probabilities: ShapedArray<Double> {
    try! ShapedArray(shape: [2, 3], scalars: [0.2, 0.3, 0.5, 1, 0, 0])
  }

  @Test func labelShapeMismatchNamesBothShapes() {
    let wrong = try! ShapedArray<Int>(shape: [3], scalars: [0, 1, 2])
    expectLossError(
      .shapeMismatch,
      "labels shape [3] does not match logits shape [2, 3] without its class axis 1;"
        + " expected [2]"
    ) { try _ = SoftmaxCrossEntropy().loss(logits: logits, labels: wrong) }
    let pytorchLayout = try! ShapedArray<Float>(
      shape: [2, 3, 4], scalars: .init(repeating: 0, count: 24))
    let labels = try! ShapedArray<Int>(shape: [2, 3], scalars: .init(repeating: 0, count: 6))
    expectLossError(
      .shapeMismatch,
      "labels shape [2, 3] does not match logits shape [2, 3, 4] without its class axis 1;"
        + " expected [2, 4]"
    ) {
      try _ = SoftmaxCrossEntropy(classAxis: 1).lossAndGradient(
        logits: pytorchLayout, labels: labels)
    }
  }

  @Test func labelOutOfRangeNamesValuePositionAndRange() {
    let bad = try! ShapedArray<Int>(shape: [2], scalars: [0, 3])
    expectLossError(
      .labelOutOfRange, "label 3 at position [1] is outside 0..<3 (ignore index -100)"
    ) {
      try _ = SoftmaxCrossEntropy().loss(logits: logits, labels: bad)
    }
    let negative = try! ShapedArray<Int>(shape: [2], scalars: [-1, 0])
    expectLossError(
      .labelOutOfRange, "label -1 at position [0] is outside 0..<3 (ignore index -100)"
    ) {
      try _ = SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: negative)
    }
    // An ignore index inside the class range: -100 is then an ordinary, out-of-range label.
    let defaultIgnore = try! ShapedArray<Int>(shape: [2], scalars: [1, -100])
    expectLossError(.labelOutOfRange, "label -100 at position [1] is outside 0..<3") {
      try _ = SoftmaxCrossEntropy(ignoreIndex: 1).loss(
        logits: defaultIgnore.scalars.isEmpty ? logits : logits, labels: defaultIgnore)
    }
    // Positions are multi-indices in the label shape (PyTorch layout, classes on axis 1).
    let x = try! ShapedArray<Double>(shape: [2, 3, 2], scalars: .init(repeating: 0, count: 12))
    let y = try! ShapedArray<Int>(shape: [2, 2], scalars: [0, 1, 2, 7])
    expectLossError(
      .labelOutOfRange, "label 7 at position [1, 1] is outside 0..<3 (ignore index -100)"
    ) {
      try _ = SoftmaxCrossEntropy(classAxis: 1).loss(logits: x, labels: y)
    }
  }

  @Test(arguments: [1.5, -0.1, Double.nan, Double.infinity])
  func labelSmoothingOutsideUnitInterval(smoothing: Double) {
    let message = "label smoothing \(smoothing) is outside [0, 1]"
    expectLossError(.invalidOption, message) {
      try _ = SoftmaxCrossEntropy(labelSmoothing: smoothing).loss(logits: logits, labels: labels)
    }
    expectLossError(.invalidOption, message) {
      try _ = SoftmaxCrossEntropy(labelSmoothing: smoothing).lossAndGradient(
        logits: logits, targets: probabilities)
    }
  }

  @Test func classAxisOutOfRange() {
    for axis in [2, -3] {
      expectLossError(
        .invalidAxis,
        "class axis \(axis) is out of range for logits of shape [2, 3] (expected -2..<2)"
      ) { try _ = SoftmaxCrossEntropy(classAxis: axis).loss(logits: logits, labels: labels) }
    }
    expectLossError(
      .invalidAxis, "logits must have at least 1 dimension (the classes), got shape []"
    ) {
      try _ = SoftmaxCrossEntropy().loss(
        logits: ShapedArray<Double>(scalar: 1), labels: ShapedArray<Int>(scalar: 0))
    }
  }

  @Test func emptyClassDimension() {
    let empty = try! ShapedArray<Double>(shape: [2, 0], scalars: [])
    expectLossError(
      .emptyClassDimension,
      "the class axis 1 of logits shape [2, 0] is empty; expected at least 1 class"
    ) { try _ = SoftmaxCrossEntropy().loss(logits: empty, labels: labels) }
    expectLossError(
      .emptyClassDimension,
      "the class axis 1 of logits shape [2, 0] is empty; expected at least 1 class"
    ) { try _ = SoftmaxCrossEntropy().loss(logits: empty, targets: empty) }
  }

  @Test func wrongClassWeightCount() {
    let message = "class weights have 2 elements but logits have 3 classes on axis 1"
    expectLossError(.shapeMismatch, message) {
      try _ = SoftmaxCrossEntropy().loss(logits: logits, labels: labels, classWeights: [1, 2])
    }
    expectLossError(.shapeMismatch, message) {
      try _ = SoftmaxCrossEntropy().lossAndGradient(
        logits: logits, targets: probabilities, classWeights: [1, 2])
    }
  }

  @Test func probabilityShapeMismatch() {
    let wrong = try! ShapedArray<Double>(shape: [3, 2], scalars: probabilities.scalars)
    expectLossError(.shapeMismatch, "targets shape [3, 2] does not match logits shape [2, 3]") {
      try _ = SoftmaxCrossEntropy().loss(logits: logits, targets: wrong)
    }
  }

  @Test func nonNegativeIgnoreIndexWithProbabilities() {
    expectLossError(
      .invalidOption,
      "ignore index 0 is not supported with probability targets;"
        + " expected a negative value such as the default -100"
    ) {
      try _ = SoftmaxCrossEntropy(ignoreIndex: 0).loss(logits: logits, targets: probabilities)
    }
  }

  @Test func bufferCountMismatches() {
    let criterion = SoftmaxCrossEntropy()
    var loss = [Double](repeating: 0, count: 1)
    var gradient = [Double](repeating: 0, count: 6)
    let x: [Double] = [1, 2, 3, 4, 5, 6]
    let y = [0, 2]
    let t = probabilities.scalars
    x.withUnsafeBufferPointer { x in
      y.withUnsafeBufferPointer { y in
        loss.withUnsafeMutableBufferPointer { l in
          gradient.withUnsafeMutableBufferPointer { g in
            expectLossError(.shapeMismatch, "logits holds 6 elements but its shape [2, 2] needs 4")
            {
              try criterion.loss(logits: x, shape: [2, 2], labels: y, into: l)
            }
            expectLossError(.shapeMismatch, "logits shape [-1, 3] has a negative extent -1") {
              try criterion.loss(logits: x, shape: [-1, 3], labels: y, into: l)
            }
            expectLossError(
              .shapeMismatch,
              "labels hold 2 elements but logits shape [1, 6] needs 1, one per position of [1]"
            ) { try criterion.loss(logits: x, shape: [1, 6], labels: y, into: l) }
            expectLossError(
              .shapeMismatch, "gradient holds 5 elements but logits shape [2, 3] holds 6"
            ) {
              try criterion.lossAndGradient(
                logits: x, shape: [2, 3], labels: y, loss: l,
                gradient: UnsafeMutableBufferPointer(rebasing: g[..<5]))
            }
            expectLossError(
              .shapeMismatch, "loss buffer holds 1 element but reduction none writes 2"
            ) {
              try SoftmaxCrossEntropy(reduction: .none).loss(
                logits: x, shape: [2, 3], labels: y, into: l)
            }
            expectLossError(
              .shapeMismatch, "loss buffer holds 0 elements but reduction mean writes 1"
            ) {
              try criterion.lossAndGradient(
                logits: x, shape: [2, 3], labels: y,
                loss: UnsafeMutableBufferPointer(rebasing: l[..<0]),
                gradient: g)
            }
            t.withUnsafeBufferPointer { t in
              expectLossError(
                .shapeMismatch,
                "targets hold 5 elements but logits shape [2, 3] holds 6; expected the same shape"
              ) {
                try criterion.lossAndGradient(
                  logits: x, shape: [2, 3], targets: UnsafeBufferPointer(rebasing: t[..<5]),
                  loss: l,
                  gradient: g)
              }
            }
          }
        }
      }
    }
  }

  /// The in-place form leaves the logits untouched when it throws.
  @Test func overwritingLeavesLogitsUnchangedOnError() {
    var x: [Double] = [1, 2, 3, 4, 5, 6]
    var loss: [Double] = [0]
    let y = [0, 9]
    x.withUnsafeMutableBufferPointer { x in
      y.withUnsafeBufferPointer { y in
        loss.withUnsafeMutableBufferPointer { l in
          expectLossError(
            .labelOutOfRange, "label 9 at position [1] is outside 0..<3 (ignore index -100)"
          ) {
            try SoftmaxCrossEntropy().lossAndGradient(
              overwriting: x, shape: [2, 3], labels: y, loss: l)
          }
        }
      }
    }
    #expect(x == [1, 2, 3, 4, 5, 6])
  }

  /// An empty batch over empty (nil-based) caller buffers is valid: mean is NaN, sum 0.
  @Test func emptyBatchOverEmptyBuffers() throws {
    var mean: [Float] = [0]
    var sum: [Float] = [0]
    try mean.withUnsafeMutableBufferPointer { l in
      try SoftmaxCrossEntropy().lossAndGradient(
        logits: UnsafeBufferPointer(start: nil, count: 0), shape: [0, 4],
        labels: UnsafeBufferPointer(start: nil, count: 0), loss: l,
        gradient: UnsafeMutableBufferPointer(start: nil, count: 0))
    }
    try sum.withUnsafeMutableBufferPointer { l in
      try SoftmaxCrossEntropy(reduction: .sum).loss(
        logits: UnsafeBufferPointer(start: nil, count: 0), shape: [0, 4],
        labels: UnsafeBufferPointer(start: nil, count: 0), into: l)
    }
    #expect(mean[0].isNaN)
    #expect(sum[0] == 0)
  }
}
