/// Everything a softmax focal-loss kernel needs besides the data, validated: the criterion's
/// options and where the classes lie.
struct SoftmaxFocalProblem: Sendable {
  /// The options (gamma, reduction, ignore index).
  let criterion: SoftmaxFocalLoss
  /// The layout of the logits.
  let layout: ClassLayout
  /// The sample weights and upstream gradient of the rows (nil: none).
  var rowScales: RowScales? = nil
}
