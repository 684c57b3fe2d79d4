/// Everything the multi-margin kernel needs besides the data, validated: the criterion's
/// options and the logits' shape, `samples × classes`.
struct MultiMarginProblem: Sendable {
  /// The options (p, margin, reduction).
  let criterion: MultiMarginLoss
  /// The logits' shape: `(N, C)`, `(C)` or `()`.
  let shape: [Int]
  /// The number of samples `N` (1 for `(C)` and `()`).
  let samples: Int
  /// The number of classes `C` (1 for `()`).
  let classes: Int
}

extension Reference {
  /// The multi-margin loss over `samples` rows of `classes` scores: `loss` receives one value
  /// per sample for `.none`, else 1; `gradient` (which may be `logits`), if not nil, every
  /// element, each sample's row times its upstream gradient when `upstream` is not nil (one
  /// value per sample for `.none`, else one value for every sample), as PyTorch multiplies
  /// every element of the row, zeros included. `.mean` divides by the criterion's normaliser
  /// when it has one, else by `samples`.
  static func multiMargin<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, problem: MultiMarginProblem,
    upstream: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let (samples, classes) = (problem.samples, problem.classes)
    let reduction = problem.criterion.reduction
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / (problem.criterion.normalizer ?? Double(samples)) : 1
    var total = 0.0
    for n in 0..<samples {
      let value = multiMargin(
        row: logits + n * classes, classes: classes, label: labels[n],
        weight: classWeights.map { Double($0[labels[n]]) } ?? 1, p: problem.criterion.p,
        margin: problem.criterion.margin, gradientScale: scale,
        upstream: upstream.map { Double($0[$0.count == samples ? n : 0]) },
        gradient: gradient.map { $0 + n * classes })
      if elementwise { loss[n] = Scalar(value) } else { total += value }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }

  /// The multi-margin loss of one sample, as PyTorch's CPU kernel computes it, writing its
  /// gradient (times `gradientScale`, then times `upstream` when it is not nil) into `gradient`
  /// when there is one (which may be `scores`: each score is read before its gradient is
  /// written).
  ///
  /// - Returns: `sum_{i != y} max(0, margin - x[y] + x[i])^p * weight / C`.
  static func multiMargin<Scalar: BinaryFloatingPoint>(
    row scores: UnsafePointer<Scalar>, classes: Int, label: Int, weight: Double, p: Int,
    margin: Double, gradientScale: Double, upstream: Double? = nil,
    gradient: UnsafeMutablePointer<Scalar>?
  ) -> Double {
    let target = Double(scores[label])
    let g = gradientScale / Double(classes) * weight
    var sum = 0.0
    var targetGradient = 0.0
    for c in 0..<classes where c != label {
      let z = margin - target + Double(scores[c])
      var h = 0.0
      if z > 0 {
        sum += (p == 1 ? z : z * z) * weight
        h = p == 1 ? g : 2 * g * z
      }
      if let gradient {
        gradient[c] = Scalar(upstream.map { h * $0 } ?? h)
        targetGradient -= h
      }
    }
    if let gradient {
      gradient[label] = Scalar(upstream.map { targetGradient * $0 } ?? targetGradient)
    }
    return sum / Double(classes)
  }
}
