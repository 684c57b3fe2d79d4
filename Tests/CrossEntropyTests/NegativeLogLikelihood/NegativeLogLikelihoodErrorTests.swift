import Testing

@testable import CrossEntropy

/// Every error path of ``NegativeLogLikelihood``, with its message.
@Suite struct NegativeLogLikelihoodErrorTests {
  let input = try! ShapedArray<Double>(shape: [2, 3], scalars: [-1, -2, -3, -1, -1, -1])
  let labels = try! ShapedArray<Int>(shape: [2], scalars: [0, 2])

  @Test func shapesAxesAndWeights() {
    let wrong = try! ShapedArray<Int>(shape: [2, 1], scalars: [0, 1])
    expectLossError(
      .shapeMismatch,
      "labels shape [2, 1] does not match log-probabilities shape [2, 3] without its class axis 1;"
        + " expected [2]"
    ) { try _ = NegativeLogLikelihood().loss(logProbabilities: input, labels: wrong) }
    expectLossError(
      .invalidAxis,
      "class axis 5 is out of range for log-probabilities of shape [2, 3] (expected -2..<2)"
    ) {
      try _ = NegativeLogLikelihood(classAxis: 5).lossAndGradient(
        logProbabilities: input, labels: labels)
    }
    expectLossError(
      .invalidAxis, "log-probabilities must have at least 1 dimension (the classes), got shape []"
    ) {
      try _ = NegativeLogLikelihood().loss(
        logProbabilities: ShapedArray<Double>(scalar: 0), labels: ShapedArray<Int>(scalar: 0))
    }
    let empty = try! ShapedArray<Double>(shape: [2, 0], scalars: [])
    expectLossError(
      .emptyClassDimension,
      "the class axis 1 of log-probabilities shape [2, 0] is empty; expected at least 1 class"
    ) { try _ = NegativeLogLikelihood().loss(logProbabilities: empty, labels: labels) }
    expectLossError(
      .shapeMismatch, "class weights have 4 elements but log-probabilities have 3 classes on axis 1"
    ) {
      try _ = NegativeLogLikelihood().loss(
        logProbabilities: input, labels: labels, classWeights: [1, 1, 1, 1])
    }
  }

  @Test func labelOutOfRange() {
    let bad = try! ShapedArray<Int>(shape: [2], scalars: [0, 3])
    expectLossError(
      .labelOutOfRange, "label 3 at position [1] is outside 0..<3 (ignore index -100)"
    ) { try _ = NegativeLogLikelihood().loss(logProbabilities: input, labels: bad) }
    let ignored = try! ShapedArray<Int>(shape: [2], scalars: [-7, 3])
    expectLossError(.labelOutOfRange, "label 3 at position [1] is outside 0..<3 (ignore index -7)")
    {
      try _ = NegativeLogLikelihood(ignoreIndex: -7).loss(logProbabilities: input, labels: ignored)
    }
  }

  @Test func bufferCountMismatches() {
    let criterion = NegativeLogLikelihood()
    var loss = [Double](repeating: 0, count: 2)
    var gradient = [Double](repeating: 0, count: 6)
    input.scalars.withUnsafeBufferPointer { x in
      labels.scalars.withUnsafeBufferPointer { y in
        loss.withUnsafeMutableBufferPointer { l in
          gradient.withUnsafeMutableBufferPointer { g in
            let one = UnsafeMutableBufferPointer(rebasing: l[..<1])
            expectLossError(
              .shapeMismatch, "log-probabilities holds 6 elements but its shape [3, 3] needs 9"
            ) {
              try criterion.lossAndGradient(
                logProbabilities: x, shape: [3, 3], labels: y, loss: one)
            }
            expectLossError(
              .shapeMismatch,
              "labels hold 2 elements but log-probabilities shape [6] needs 1, one per position of []"
            ) {
              try NegativeLogLikelihood(classAxis: 0).lossAndGradient(
                logProbabilities: x, shape: [6], labels: y, loss: one)
            }
            expectLossError(
              .shapeMismatch, "gradient holds 5 elements but log-probabilities shape [2, 3] holds 6"
            ) {
              try criterion.lossAndGradient(
                logProbabilities: x, shape: [2, 3], labels: y, loss: one,
                gradient: UnsafeMutableBufferPointer(rebasing: g[..<5]))
            }
            expectLossError(
              .shapeMismatch, "loss buffer holds 2 elements but reduction sum writes 1"
            ) {
              try NegativeLogLikelihood(reduction: .sum).lossAndGradient(
                logProbabilities: x, shape: [2, 3], labels: y, loss: l, gradient: g)
            }
          }
        }
      }
    }
  }

  @Test func emptyBatchOverEmptyBuffers() throws {
    var loss: [Double] = [0]
    try loss.withUnsafeMutableBufferPointer { l in
      try NegativeLogLikelihood().lossAndGradient(
        logProbabilities: UnsafeBufferPointer(start: nil, count: 0), shape: [0, 3],
        labels: UnsafeBufferPointer(start: nil, count: 0), loss: l,
        gradient: UnsafeMutableBufferPointer(start: nil, count: 0))
    }
    #expect(loss[0].isNaN)
  }
}
