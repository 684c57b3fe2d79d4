/// How per-element losses are combined into the value a loss returns.
///
/// Every loss in the package uses the same spelling and the same default, `.mean`,
/// as PyTorch's `reduction=` argument does.
///
/// ```swift
/// let criterion = SoftmaxCrossEntropy(reduction: .sum)
/// ```
public enum Reduction: String, Sendable, Hashable, CaseIterable {
  /// Keep one loss per element, shaped like the target.
  case none
  /// Average the per-element losses. Each loss documents its denominator
  /// (for example, the weighted count of non-ignored labels for softmax cross-entropy).
  case mean
  /// Add the per-element losses.
  case sum
}
