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
  /// The z-loss scale `s`: adds `s * lse^2` per non-ignored row (0: off).
  var zLossScale: Double = 0
  /// The soft cap `c`: logits become `c * tanh(x / c)` first (nil: off).
  var logitSoftCap: Double? = nil

  /// Whether the problem uses the logit options (z-loss, soft-capping). ``Reference`` and the
  /// fused class-axis-last kernels (``FusedSoftmax``, labels and probabilities, every element
  /// type) implement them; any other fast path must hand such problems to ``Reference``.
  var hasLogitOptions: Bool { zLossScale != 0 || logitSoftCap != nil }
}
