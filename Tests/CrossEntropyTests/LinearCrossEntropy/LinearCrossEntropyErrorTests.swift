import Testing

@testable import CrossEntropy

/// Every error path of ``LinearCrossEntropy``, with its message; the buffer forms write nothing
/// when they throw.
@Suite struct LinearCrossEntropyErrorTests {
  let hidden: [Float] = [1, 2, 3, 4, 5, 6]
  let weight: [Float] = (0..<12).map { Float($0) / 10 }
  let bias: [Float] = [0, 0.5, 1, -1]
  let labels = [0, 3]

  /// Runs the fp32 buffer form with outputs `loss`, hidden, weight and bias gradients and the
  /// log-sum-exp (in that order in `counts`) and expects the error, with nothing written.
  func expectError(
    _ kind: LossError.Kind, _ message: String,
    criterion: LinearCrossEntropy = LinearCrossEntropy(), hidden: [Float]? = nil,
    shape: [Int] = [2, 3], weight: [Float]? = nil, weightShape: [Int] = [4, 3],
    bias: [Float]?? = nil, labels: [Int]? = nil, classWeights: [Float]? = nil,
    counts: [Int] = [1, 6, 12, 4, 2], sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let h = hidden ?? self.hidden
    let w = weight ?? self.weight
    let b = bias ?? self.bias
    let y = labels ?? self.labels
    expectLossErrorWritingNothing(
      kind, message, counts: counts, sentinel: Float(7), sourceLocation: sourceLocation
    ) { out in
      try h.withUnsafeBufferPointer { h in
        try w.withUnsafeBufferPointer { w in
          try withOptionalBuffer(b) { b in
            try y.withUnsafeBufferPointer { y in
              try withOptionalBuffer(classWeights) { cw in
                try criterion.lossAndGradient(
                  hidden: h, shape: shape, weight: w, weightShape: weightShape, bias: b,
                  labels: y, classWeights: cw, loss: out[0], hiddenGradient: out[1],
                  weightGradient: out[2], biasGradient: out[3], logSumExp: out[4])
              }
            }
          }
        }
      }
    }
  }

  @Test func hiddenSizeMismatchNamesBothShapes() {
    expectError(
      .shapeMismatch,
      "weight shape [6, 2] does not match hidden shape [2, 3]; expected [V, 3], one row of the"
        + " hidden size per class", weightShape: [6, 2])
    expectError(
      .shapeMismatch,
      "weight shape [12] does not match hidden shape [2, 3]; expected [V, 3], one row of the"
        + " hidden size per class", weightShape: [12])
    expectError(
      .emptyClassDimension, "weight shape [0, 3] has no classes; expected at least 1 row",
      weight: [], weightShape: [0, 3])
  }

  @Test func bufferCountsNameTheBufferAndTheShape() {
    expectError(
      .shapeMismatch, "hidden holds 6 elements but its shape [2, 4] needs 8", shape: [2, 4])
    expectError(
      .shapeMismatch, "weight holds 12 elements but its shape [5, 3] needs 15",
      weightShape: [5, 3])
    expectError(
      .shapeMismatch, "bias holds 3 elements but weight shape [4, 3] needs 4",
      bias: [0, 1, 2])
    expectError(
      .shapeMismatch, "labels hold 3 elements but hidden shape [2, 3] needs 2",
      labels: [0, 1, 2])
    expectError(
      .shapeMismatch, "class weights hold 2 elements but weight shape [4, 3] needs 4",
      classWeights: [1, 2])
    expectError(
      .shapeMismatch, "loss buffer holds 2 elements but reduction mean writes 1",
      counts: [2, 6, 12, 4, 2])
    expectError(
      .shapeMismatch, "hidden gradient holds 5 elements but hidden shape [2, 3] needs 6",
      counts: [1, 5, 12, 4, 2])
    expectError(
      .shapeMismatch, "weight gradient holds 13 elements but weight shape [4, 3] needs 12",
      counts: [1, 6, 13, 4, 2])
    expectError(
      .shapeMismatch, "bias gradient holds 1 element but weight shape [4, 3] needs 4",
      counts: [1, 6, 12, 1, 2])
    expectError(
      .shapeMismatch, "log-sum-exp buffer holds 3 elements but hidden shape [2, 3] needs 2",
      counts: [1, 6, 12, 4, 3])
  }

  @Test func gradientsMustNotBeTheirInputs() {
    let h = buffer(Float(1), count: 6)
    let w = buffer(Float(0.5), count: 12)
    let loss = buffer(Float(7), count: 1)
    defer { [h, w, loss].forEach { $0.deallocate() } }
    labels.withUnsafeBufferPointer { y in
      expectLossError(
        .invalidOption,
        "hidden gradient is the memory of hidden; it must be a separate buffer (hidden is read"
          + " after its gradient is written)"
      ) {
        try LinearCrossEntropy().lossAndGradient(
          hidden: UnsafeBufferPointer(h), shape: [2, 3], weight: UnsafeBufferPointer(w),
          weightShape: [4, 3], labels: y, loss: loss, hiddenGradient: h, weightGradient: nil)
      }
      expectLossError(
        .invalidOption,
        "weight gradient is the memory of weight; it must be a separate buffer (weight is read"
          + " after its gradient is written)"
      ) {
        try LinearCrossEntropy().lossAndGradient(
          hidden: UnsafeBufferPointer(h), shape: [2, 3], weight: UnsafeBufferPointer(w),
          weightShape: [4, 3], labels: y, loss: loss, hiddenGradient: nil, weightGradient: w)
      }
    }
    #expect(Array(h) == [Float](repeating: 1, count: 6))
    #expect(Array(w) == [Float](repeating: 0.5, count: 12))
    #expect(Array(loss) == [7])
  }

  @Test func badHiddenShapes() {
    expectError(
      .shapeMismatch, "hidden must have at least 1 dimension (the hidden size), got shape []",
      hidden: [1], shape: [])
    expectError(
      .shapeMismatch, "hidden shape [-1, 3] has a negative extent -1", shape: [-1, 3])
  }

  @Test func labelsOutOfRangeNameValueAndPosition() {
    expectError(
      .labelOutOfRange, "label 4 at position [1] is outside 0..<4 (ignore index -100)",
      labels: [0, 4])
    expectError(
      .labelOutOfRange, "label -1 at position [0] is outside 0..<4 (ignore index -100)",
      labels: [-1, 0])
    // The ignore index is allowed anywhere.
    #expect(
      lossErrorMessage {
        _ = try LinearCrossEntropy().loss(
          hidden: ShapedArray(shape: [2, 3], scalars: hidden),
          weight: ShapedArray(shape: [4, 3], scalars: weight),
          labels: ShapedArray(shape: [2], scalars: [-100, 3]))
      } == nil)
  }

  @Test func invalidOptions() {
    expectError(
      .invalidOption, "label smoothing 1.5 is outside [0, 1]",
      criterion: LinearCrossEntropy(labelSmoothing: 1.5))
    expectError(
      .invalidOption, "z-loss scale -1.0 is invalid; expected a finite value >= 0",
      criterion: LinearCrossEntropy(zLossScale: -1))
    expectError(
      .invalidOption, "logit soft cap 0.0 is invalid; expected a finite value > 0",
      criterion: LinearCrossEntropy(logitSoftCap: 0))
    for value in [0, -2, Double.nan, .infinity] {
      expectError(
        .invalidOption, "normalizer \(value) is invalid; expected a finite value > 0",
        criterion: LinearCrossEntropy(normalizer: value))
    }
    expectError(
      .invalidOption, "scratch limit 0 is invalid; expected a positive number of bytes",
      criterion: LinearCrossEntropy(scratchLimit: 0))
  }

  @Test func arrayFormsNameBothShapes() throws {
    let h = try ShapedArray<Double>(shape: [2, 3], scalars: hidden.map { Double($0) })
    let w = try ShapedArray<Double>(shape: [4, 3], scalars: weight.map { Double($0) })
    expectLossError(
      .shapeMismatch,
      "labels shape [3] does not match hidden shape [2, 3] without its last axis; expected [2]"
    ) {
      _ = try LinearCrossEntropy().loss(
        hidden: h, weight: w, labels: ShapedArray(shape: [3], scalars: [0, 1, 2]))
    }
    expectLossError(
      .shapeMismatch,
      "bias shape [3] does not match weight shape [4, 3]; expected [4], one per class"
    ) {
      _ = try LinearCrossEntropy().lossAndGradient(
        hidden: h, weight: w, bias: ShapedArray(shape: [3], scalars: [0, 1, 2]),
        labels: ShapedArray(shape: [2], scalars: labels))
    }
    expectLossError(
      .shapeMismatch,
      "weight shape [3, 4] does not match hidden shape [2, 3]; expected [V, 3], one row of the"
        + " hidden size per class"
    ) {
      _ = try LinearCrossEntropy().lossAndGradient(
        hidden: h, weight: ShapedArray(shape: [3, 4], scalars: w.scalars),
        labels: ShapedArray(shape: [2], scalars: labels))
    }
  }

  @Test func bfloat16FormsValidateAlike() {
    let bits = hidden.map { BFloat16Storage.stored($0) }
    let weightBits = weight.map { BFloat16Storage.stored($0) }
    expectLossErrorWritingNothing(
      .shapeMismatch,
      "weight shape [6, 2] does not match hidden shape [2, 3]; expected [V, 3], one row of the"
        + " hidden size per class", counts: [1, 6, 12], sentinel: Float(7)
    ) { out in
      try bits.withUnsafeBufferPointer { h in
        try weightBits.withUnsafeBufferPointer { w in
          try labels.withUnsafeBufferPointer { y in
            try LinearCrossEntropy().lossAndGradient(
              bfloat16Hidden: h, shape: [2, 3], bfloat16Weight: w, weightShape: [6, 2],
              labels: y, loss: out[0], hiddenGradient: out[1], weightGradient: out[2])
          }
        }
      }
    }
    expectLossErrorWritingNothing(
      .labelOutOfRange, "label 9 at position [0] is outside 0..<4 (ignore index -100)",
      counts: [1], sentinel: Float(7)
    ) { out in
      try bits.withUnsafeBufferPointer { h in
        try weightBits.withUnsafeBufferPointer { w in
          try [9, 0].withUnsafeBufferPointer { y in
            try LinearCrossEntropy().loss(
              bfloat16Hidden: h, shape: [2, 3], bfloat16Weight: w, weightShape: [4, 3],
              labels: y, into: out[0])
          }
        }
      }
    }
  }
}
