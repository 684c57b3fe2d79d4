import RealModule

extension Reference {
  /// Writes `softmax(row)` into `probabilities` with one exponential per element and returns
  /// `logsumexp(row)`, both with PyTorch's non-finite rules: a `+inf` (or NaN) logit makes the
  /// log-sum-exp and every probability NaN.
  static func softmax(_ row: [Double], into probabilities: inout [Double]) -> Double {
    var maximum = -Double.infinity
    for x in row where x > maximum { maximum = x }
    let shift = maximum.isFinite ? maximum : 0
    var sum = 0.0
    for c in row.indices {
      let e = Double.exp(row[c] - shift)
      probabilities[c] = e
      sum += e
    }
    var lse = shift + .log(sum)
    if lse == .infinity { lse = .nan }
    if lse.isNaN {
      for c in row.indices { probabilities[c] = .nan }
      return lse
    }
    let reciprocal = 1 / sum
    for c in row.indices { probabilities[c] *= reciprocal }
    return lse
  }
}
