import Testing

@testable import CrossEntropy

/// The error paths of `logSumExp`, `logSoftmax` and `softmax`, and of ``ShapedArray``.
@Suite struct SoftmaxErrorTests {
  @Test func axisOutOfRangeAndEmptyAxis() {
    let x = try! ShapedArray<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let message = "class axis 2 is out of range for input of shape [2, 3] (expected -2..<2)"
    expectLossError(.invalidAxis, message) { try _ = logSumExp(x, alongAxis: 2) }
    expectLossError(.invalidAxis, message) { try _ = logSoftmax(x, alongAxis: 2) }
    expectLossError(.invalidAxis, message) { try _ = softmax(x, alongAxis: 2) }
    let empty = try! ShapedArray<Float>(shape: [0, 2, 0], scalars: [])
    expectLossError(
      .emptyClassDimension,
      "the class axis 2 of input shape [0, 2, 0] is empty; expected at least 1 class"
    ) { try _ = softmax(empty) }
    expectLossError(
      .invalidAxis, "input must have at least 1 dimension (the classes), got shape []"
    ) { try _ = logSoftmax(ShapedArray<Float>(scalar: 1), alongAxis: 0) }
  }

  @Test func shapedArrayRejectsBadShapes() {
    expectLossError(.shapeMismatch, "shape [2, 3] holds 6 elements but 5 were given") {
      _ = try ShapedArray<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
    }
    expectLossError(.shapeMismatch, "shape [2, -3] has a negative extent -3") {
      _ = try ShapedArray<Float>(shape: [2, -3], scalars: [])
    }
    expectLossError(.shapeMismatch, "shape [\(Int.max), 2] has too many elements") {
      _ = try ShapedArray<Float>(shape: [Int.max, 2], scalars: [])
    }
  }
}
