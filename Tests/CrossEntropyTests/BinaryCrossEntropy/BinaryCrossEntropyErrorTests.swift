import Testing

@testable import CrossEntropy

/// Every error path of ``BinaryCrossEntropy``, with its message.
@Suite struct BinaryCrossEntropyErrorTests {
  let images = try! ShapedArray<Float>(
    shape: [2, 3, 2, 2], scalars: .init(repeating: 0.5, count: 24))

  @Test func targetShapeMismatchNamesBothShapes() {
    let x = try! ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    let t = try! ShapedArray<Float>(shape: [3, 2], scalars: [0, 1, 0, 1, 0, 1])
    expectLossError(.shapeMismatch, "targets shape [3, 2] does not match logits shape [2, 3]") {
      try _ = BinaryCrossEntropy().loss(logits: x, targets: t)
    }
    let p = try! ShapedArray<Float>(shape: [6], scalars: [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    expectLossError(.shapeMismatch, "targets shape [3, 2] does not match probabilities shape [6]") {
      try _ = BinaryCrossEntropy().lossAndGradient(probabilities: p, targets: t)
    }
  }

  /// The PyTorch #27936 trap: a length-C vector broadcasts along the last axis.
  @Test func weightsThatDoNotBroadcastExplainWhy() {
    let perClass = ShapedArray<Float>([1, 2, 3])
    let hint =
      " (right-aligned broadcasting); a length-3 vector broadcasts along the LAST axis,"
      + " so a per-class weight for classes on axis 1 needs shape [C, 1, ...]"
    expectLossError(
      .shapeMismatch,
      "positive weight shape [3] does not broadcast to the target shape [2, 3, 2, 2]" + hint
    ) {
      try _ = BinaryCrossEntropy().loss(logits: images, targets: images, positiveWeight: perClass)
    }
    expectLossError(
      .shapeMismatch, "weight shape [3] does not broadcast to the target shape [2, 3, 2, 2]" + hint
    ) {
      try _ = BinaryCrossEntropy().lossAndGradient(
        logits: images, targets: images, weight: perClass)
    }
    expectLossError(
      .shapeMismatch, "weight shape [3] does not broadcast to the target shape [2, 3, 2, 2]" + hint
    ) {
      try _ = BinaryCrossEntropy().loss(probabilities: images, targets: images, weight: perClass)
    }
    let wrong = try! ShapedArray<Float>(
      shape: [3, 2, 1, 1], scalars: .init(repeating: 1, count: 6))
    expectLossError(
      .shapeMismatch,
      "weight shape [3, 2, 1, 1] does not broadcast to the target shape [2, 3, 2, 2]"
        + " (right-aligned broadcasting)"
    ) { try _ = BinaryCrossEntropy().loss(logits: images, targets: images, weight: wrong) }
  }

  @Test func probabilitiesAndTargetsOutsideUnitInterval() {
    let good = ShapedArray<Double>([0, 0.5, 1])
    let cases: [(ShapedArray<Double>, ShapedArray<Double>, String)] = [
      (ShapedArray([0, 1.5, 1]), good, "probability 1.5 at position [1] is outside [0, 1]"),
      (ShapedArray([-0.25, 0, 1]), good, "probability -0.25 at position [0] is outside [0, 1]"),
      (ShapedArray([0, 0, .nan]), good, "probability nan at position [2] is outside [0, 1]"),
      (good, ShapedArray([0, 1, 2]), "target 2.0 at position [2] is outside [0, 1]"),
      (good, ShapedArray([0, -.infinity, 1]), "target -inf at position [1] is outside [0, 1]"),
    ]
    for (p, t, message) in cases {
      expectLossError(.valueOutOfRange, message) {
        try _ = BinaryCrossEntropy().loss(probabilities: p, targets: t)
      }
      expectLossError(.valueOutOfRange, message) {
        try _ = BinaryCrossEntropy(reduction: .none).lossAndGradient(probabilities: p, targets: t)
      }
    }
    // Positions are multi-indices.
    let p = try! ShapedArray<Double>(shape: [2, 2], scalars: [0, 0, 0, 1.25])
    expectLossError(.valueOutOfRange, "probability 1.25 at position [1, 1] is outside [0, 1]") {
      try _ = BinaryCrossEntropy().loss(probabilities: p, targets: p)
    }
  }

  /// Logits and their targets are not range-checked (PyTorch accepts any target with logits).
  @Test func logitTargetsOutsideUnitIntervalAreAccepted() throws {
    let x = ShapedArray<Double>([0, 1])
    let loss = try BinaryCrossEntropy().loss(logits: x, targets: ShapedArray([2, -1]))
    #expect(loss.scalar!.isFinite)
  }
}
