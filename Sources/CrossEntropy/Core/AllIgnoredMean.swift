/// What a `.mean` gives when no row takes part in it: every label is the ignore index, the
/// batch is empty, or the weights of the rows that remain add up to 0.
///
/// PyTorch divides 0 by 0 there and returns NaN, with a zero gradient; `.nan` keeps that
/// behaviour and is the default. A training loop that would rather skip such a batch without a
/// NaN in its running loss sets `.zero` (pytorch/pytorch#70348 asks for it).
///
/// ```swift
/// let criterion = SoftmaxCrossEntropy(ignoreIndex: 0, allIgnored: .zero)
/// ```
///
/// A caller's `normalizer` takes precedence: with one, the mean never divides by 0.
public enum AllIgnoredMean: String, Sendable, Hashable, CaseIterable {
  /// `0 / 0 = NaN`, as PyTorch; the gradient is 0.
  case nan
  /// 0, and a zero gradient.
  case zero
}

extension AllIgnoredMean {
  /// The denominator of a `.mean` whose own count is `counted`: `counted` itself, except that
  /// `.zero` divides by 1 instead of 0. The rows that remain then all have weight 0, so the
  /// sum is 0 and so is the gradient.
  func denominator(_ counted: Double) -> Double {
    self == .zero && counted == 0 ? 1 : counted
  }

  /// Both denominators of a `.mean` (the loss term's and the z-loss term's) as
  /// ``denominator(_:)`` says.
  func denominators(_ counted: MeanDenominators) -> MeanDenominators {
    MeanDenominators(loss: denominator(counted.loss), zLoss: denominator(counted.zLoss))
  }
}

/// How a loss over rows with an ignore index finds the denominator of its `.mean`: a caller's
/// normaliser when given, else the rows' own (weighted) count, which ``AllIgnoredMean`` says
/// what to do with when it is 0.
struct MeanRule: Sendable, Hashable {
  /// The caller's denominator (finite and > 0, validated), or nil to count.
  var normalizer: Double? = nil
  /// What an empty count gives.
  var allIgnored: AllIgnoredMean = .nan

  /// The denominator to divide by, given the rows' own count.
  func denominator(counted: Double) -> Double {
    normalizer ?? allIgnored.denominator(counted)
  }
}
