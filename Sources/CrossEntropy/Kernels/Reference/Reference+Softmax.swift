import RealModule

extension Reference {
  /// A row's log-sum-exp in two parts, `shift + logSum`, as ``shiftAndLogSum(_:)`` gives
  /// them. Log-probabilities are `(x - shift) - logSum`, in that order: `x - (shift + logSum)`
  /// loses `logSum` next to a logit above about 1e15, where two equal largest logits would
  /// each get probability 1.
  struct RowLogSumExp {
    /// The finite maximum of the row, else 0.
    var shift: Double
    /// `log(sum(exp(x - shift)))`; NaN for a row with a `+inf` or NaN logit.
    var logSum: Double

    /// The log-sum-exp itself.
    var value: Double { shift + logSum }

    /// The log-probability of a logit `x` of the row.
    func logProbability(_ x: Double) -> Double { (x - shift) - logSum }
  }

  /// Writes `softmax(row)` into `probabilities` with one exponential per element and returns
  /// `logsumexp(row)` in two parts, both with PyTorch's non-finite rules: a `+inf` (or NaN)
  /// logit makes the log-sum-exp and every probability NaN.
  static func softmax(_ row: [Double], into probabilities: inout [Double]) -> RowLogSumExp {
    var maximum = -Double.infinity
    for x in row where x > maximum { maximum = x }
    let shift = maximum.isFinite ? maximum : 0
    var sum = 0.0
    for c in row.indices {
      let e = Double.exp(row[c] - shift)
      probabilities[c] = e
      sum += e
    }
    let logSum = Double.log(sum)
    if (shift + logSum).isNaN || shift + logSum == .infinity {
      for c in row.indices { probabilities[c] = .nan }
      return RowLogSumExp(shift: shift, logSum: .nan)
    }
    let reciprocal = 1 / sum
    for c in row.indices { probabilities[c] *= reciprocal }
    return RowLogSumExp(shift: shift, logSum: logSum)
  }
}
