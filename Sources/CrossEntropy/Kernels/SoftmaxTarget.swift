/// The target of a softmax cross-entropy call, after validation.
enum SoftmaxTarget<Scalar> {
  /// One class index per row; rows whose label is the ignore index are skipped.
  case labels(UnsafeBufferPointer<Int>)
  /// A distribution per row, laid out like the logits.
  case probabilities(UnsafeBufferPointer<Scalar>)
}

/// Everything a softmax cross-entropy kernel needs besides the data, validated.
struct SoftmaxProblem: Sendable {
  var layout: ClassLayout
  var ignoreIndex: Int
  var labelSmoothing: Double
  var reduction: Reduction
}
