import Testing

@testable import CrossEntropy

/// The caller-buffer and in-place forms of ``ConnectionistTemporalClassification``, for
/// log-probabilities and logits, padded and concatenated labels: bit for bit the array forms'
/// numbers (gradients written in full, including the rows after each input length and the
/// samples whose loss is infinite), every error with its message, nothing written on error.
@Suite struct ConnectionistTemporalClassificationBufferFormTests {
  /// (T, N, C) = (7, 4, 5): a sample whose alignment cannot exist (input length 2 for 3 labels),
  /// one with no time steps, one with an empty label sequence.
  static let shape = [7, 4, 5]
  static let inputLengths = [7, 2, 0, 5]
  static let labelLengths = [3, 3, 2, 0]
  static let padded = [1, 2, 2, 3, 4, 1, 4, 4, 0, 0, 0, 0]  // (4, 3)
  static let concatenated = [1, 2, 2, 3, 4, 1, 4, 4]

  @Test(arguments: [Reduction.mean, .sum, .none], [false, true])
  func buffersMatchArrays(reduction: Reduction, zeroInfinity: Bool) throws {
    let criterion = ConnectionistTemporalClassification(
      blank: 0, reduction: reduction, zeroInfinity: zeroInfinity)
    try check(Float.self, criterion)
    try check(Double.self, criterion)
  }

  func check<Scalar: BinaryFloatingPoint>(
    _: Scalar.Type, _ criterion: ConnectionistTemporalClassification
  ) throws {
    let shape = Self.shape
    let scores = spreadValues(shape.reduce(1, *), seed: 5).map { Scalar($0) }
    let logProbabilities = try logSoftmax(ShapedArray(shape: shape, scalars: scores)).scalars
    for (labels, labelShape) in [(Self.padded, [4, 3]), (Self.concatenated, [8])] {
      let y = try ShapedArray(shape: labelShape, scalars: labels)
      for fromLogits in [false, true] {
        let input = fromLogits ? scores : logProbabilities
        let x = try ShapedArray(shape: shape, scalars: input)
        let expected =
          fromLogits
          ? try criterion.lossAndGradient(
            logits: x, labels: y, inputLengths: Self.inputLengths,
            labelLengths: Self.labelLengths)
          : try criterion.lossAndGradient(
            logProbabilities: x, labels: y, inputLengths: Self.inputLengths,
            labelLengths: Self.labelLengths)
        let results = try bufferResults(
          criterion, input: input, fromLogits: fromLogits, labels: labels,
          labelShape: labelShape, lossCount: expected.loss.scalars.count)
        let what = "\(Scalar.self) \(criterion.reduction) \(labelShape) logits \(fromLogits)"
        for (path, loss, gradient) in results {
          #expect(identical(loss, expected.loss.scalars), "\(path) loss, \(what)")
          if let gradient {
            #expect(identical(gradient, expected.gradient.scalars), "\(path) gradient, \(what)")
          }
        }
      }
    }
  }

  /// The loss-only, loss-and-gradient (into a NaN-filled buffer) and in-place results.
  func bufferResults<Scalar: BinaryFloatingPoint>(
    _ criterion: ConnectionistTemporalClassification, input: [Scalar], fromLogits: Bool,
    labels: [Int], labelShape: [Int], lossCount: Int
  ) throws -> [(path: String, loss: [Scalar], gradient: [Scalar]?)] {
    let (shape, inputLengths, labelLengths) = (Self.shape, Self.inputLengths, Self.labelLengths)
    var results: [(path: String, loss: [Scalar], gradient: [Scalar]?)] = []
    try labels.withUnsafeBufferPointer { y in
      var loss = [Scalar](repeating: .nan, count: lossCount)
      try input.withUnsafeBufferPointer { x in
        try loss.withUnsafeMutableBufferPointer { l in
          fromLogits
            ? try criterion.loss(
              logits: x, shape: shape, labels: y, labelShape: labelShape,
              inputLengths: inputLengths, labelLengths: labelLengths, into: l)
            : try criterion.loss(
              logProbabilities: x, shape: shape, labels: y, labelShape: labelShape,
              inputLengths: inputLengths, labelLengths: labelLengths, into: l)
        }
      }
      results.append(("loss", loss, nil))
      var gradient = [Scalar](repeating: .nan, count: input.count)
      loss = [Scalar](repeating: .nan, count: lossCount)
      try input.withUnsafeBufferPointer { x in
        try loss.withUnsafeMutableBufferPointer { l in
          try gradient.withUnsafeMutableBufferPointer { g in
            fromLogits
              ? try criterion.lossAndGradient(
                logits: x, shape: shape, labels: y, labelShape: labelShape,
                inputLengths: inputLengths, labelLengths: labelLengths, loss: l, gradient: g)
              : try criterion.lossAndGradient(
                logProbabilities: x, shape: shape, labels: y, labelShape: labelShape,
                inputLengths: inputLengths, labelLengths: labelLengths, loss: l, gradient: g)
          }
        }
      }
      results.append(("separate", loss, gradient))
      var inPlace = input
      loss = [Scalar](repeating: .nan, count: lossCount)
      try inPlace.withUnsafeMutableBufferPointer { x in
        try loss.withUnsafeMutableBufferPointer { l in
          fromLogits
            ? try criterion.lossAndGradient(
              overwritingLogits: x, shape: shape, labels: y, labelShape: labelShape,
              inputLengths: inputLengths, labelLengths: labelLengths, loss: l)
            : try criterion.lossAndGradient(
              overwritingLogProbabilities: x, shape: shape, labels: y, labelShape: labelShape,
              inputLengths: inputLengths, labelLengths: labelLengths, loss: l)
        }
      }
      results.append(("in place", loss, inPlace))
    }
    return results
  }

  @Test func errorsWriteNothing() {
    let ctc = ConnectionistTemporalClassification()
    let lengths = ([6, 5], [3, 2])
    [1, 2, 2, 3, 1, 0].withUnsafeBufferPointer { y in
      expectLossErrorWritingNothing(
        .shapeMismatch, "log probabilities holds 59 elements but its shape [6, 2, 5] needs 60",
        counts: [59, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try ctc.loss(
          logProbabilities: UnsafeBufferPointer(b[0]), shape: [6, 2, 5], labels: y,
          labelShape: [2, 3], inputLengths: lengths.0, labelLengths: lengths.1, into: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "labels holds 6 elements but its shape [2, 2] needs 4", counts: [60, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try ctc.lossAndGradient(
          overwritingLogits: b[0], shape: [6, 2, 5], labels: y, labelShape: [2, 2],
          inputLengths: lengths.0, labelLengths: lengths.1, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "loss buffer holds 1 element but reduction none writes 2",
        counts: [60, 1]
      ) { (b: [UnsafeMutableBufferPointer<Double>]) in
        try ConnectionistTemporalClassification(reduction: .none).lossAndGradient(
          overwritingLogProbabilities: b[0], shape: [6, 2, 5], labels: y, labelShape: [2, 3],
          inputLengths: lengths.0, labelLengths: lengths.1, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "gradient holds 61 elements but logits shape [6, 2, 5] holds 60",
        counts: [60, 1, 61]
      ) { (b: [UnsafeMutableBufferPointer<Double>]) in
        try ctc.lossAndGradient(
          logits: UnsafeBufferPointer(b[0]), shape: [6, 2, 5], labels: y, labelShape: [2, 3],
          inputLengths: lengths.0, labelLengths: lengths.1, loss: b[1], gradient: b[2])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch,
        "concatenated labels hold 6 labels but the label lengths add up to 5", counts: [60, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try ctc.lossAndGradient(
          overwritingLogits: b[0], shape: [6, 2, 5], labels: y, labelShape: [6],
          inputLengths: lengths.0, labelLengths: lengths.1, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .shapeMismatch, "logits must have shape (T, N, C) or (T, C), got [60]", counts: [60, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try ctc.lossAndGradient(
          overwritingLogits: b[0], shape: [60], labels: y, labelShape: [2, 3],
          inputLengths: lengths.0, labelLengths: lengths.1, loss: b[1])
      }
      expectLossErrorWritingNothing(
        .valueOutOfRange,
        "input length 7 at position [0] exceeds the 6 time steps of log probabilities [6, 2, 5]",
        counts: [60, 1, 60]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try ctc.lossAndGradient(
          logProbabilities: UnsafeBufferPointer(b[0]), shape: [6, 2, 5], labels: y,
          labelShape: [2, 3], inputLengths: [7, 5], labelLengths: lengths.1, loss: b[1],
          gradient: b[2])
      }
    }
    [1, 2, 9, 3, 1, 0].withUnsafeBufferPointer { y in
      expectLossErrorWritingNothing(
        .labelOutOfRange, "label 9 at position [0, 2] is outside 0..<5", counts: [60, 1]
      ) { (b: [UnsafeMutableBufferPointer<Float>]) in
        try ctc.lossAndGradient(
          overwritingLogProbabilities: b[0], shape: [6, 2, 5], labels: y, labelShape: [2, 3],
          inputLengths: lengths.0, labelLengths: lengths.1, loss: b[1])
      }
    }
  }

  /// The names from before the `labels:` label forward to the new forms.
  @available(*, deprecated)
  @Test func deprecatedTargetForms() throws {
    let ctc = ConnectionistTemporalClassification(reduction: .none)
    let scores = spreadValues(60, seed: 2)
    let x = try ShapedArray(shape: [6, 2, 5], scalars: scores)
    let lp = try logSoftmax(x)
    let y = try ShapedArray(shape: [2, 3], scalars: [1, 2, 2, 3, 1, 0])
    let (inputLengths, labelLengths) = ([6, 5], [3, 2])
    let fromLogits = try ctc.lossAndGradient(
      logits: x, labels: y, inputLengths: inputLengths, labelLengths: labelLengths)
    let fromLogProbabilities = try ctc.lossAndGradient(
      logProbabilities: lp, labels: y, inputLengths: inputLengths, labelLengths: labelLengths)
    #expect(
      try ctc.loss(logits: x, targets: y, inputLengths: inputLengths, targetLengths: labelLengths)
        == fromLogits.loss)
    let logits = try ctc.lossAndGradient(
      logits: x, targets: y, inputLengths: inputLengths, targetLengths: labelLengths)
    #expect(logits.loss == fromLogits.loss && logits.gradient == fromLogits.gradient)
    #expect(
      try ctc.loss(
        logProbabilities: lp, targets: y, inputLengths: inputLengths, targetLengths: labelLengths)
        == fromLogProbabilities.loss)
    let logProbabilities = try ctc.lossAndGradient(
      logProbabilities: lp, targets: y, inputLengths: inputLengths, targetLengths: labelLengths)
    #expect(
      logProbabilities.loss == fromLogProbabilities.loss
        && logProbabilities.gradient == fromLogProbabilities.gradient)
  }
}
