extension Reference {
  /// The multi-margin loss of one sample, as PyTorch's CPU kernel computes it, writing its
  /// gradient (times `gradientScale`) into `gradient` when there is one (which may be `scores`:
  /// each score is read before its gradient is written).
  ///
  /// - Returns: `sum_{i != y} max(0, margin - x[y] + x[i])^p * weight / C`.
  static func multiMargin<Scalar: BinaryFloatingPoint>(
    row scores: UnsafePointer<Scalar>, classes: Int, label: Int, weight: Double, p: Int,
    margin: Double, gradientScale: Double, gradient: UnsafeMutablePointer<Scalar>?
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
        gradient[c] = Scalar(h)
        targetGradient -= h
      }
    }
    if let gradient { gradient[label] = Scalar(targetGradient) }
    return sum / Double(classes)
  }
}
