import RealModule

// The scalar path of the fused Double kernel, in its own file so that the kernel's object code
// holds no per-element libm call.
extension FusedSoftmaxDouble {
  /// A row whose maximum is not finite (+inf, or only -inf and NaN): the reference's formulas,
  /// element by element.
  @inline(never)
  func scalarRow(
    _ x: UnsafePointer<Double>, gradient g: UnsafeMutablePointer<Double>?, label: Int
  ) -> (nll: Double, smooth: Double) {
    let ignored = label == ignoreIndex
    let (shift, sumLog) = Reference.shiftAndLogSum(UnsafeBufferPointer(start: x, count: classes))
    // As the reference: a +inf logit makes the row NaN.
    let logSum = sumLog == .infinity ? .nan : sumLog
    func logProbability(_ c: Int) -> Double { (x[c] - shift) - logSum }
    var nll = 0.0
    var smooth = 0.0
    var total = 0.0
    var gradientLabel = 0.0
    if !ignored {
      nll = -weight(label) * logProbability(label)
      gradientLabel = (1 - smoothing) * (weight(label) * -scale)
      total = gradientLabel
      if smoothing > 0 {
        for c in 0..<classes {
          smooth -= logProbability(c) * weight(c)
          total += smoothing / Double(classes) * (weight(c) * -scale)
        }
      }
    }
    guard let g else { return (nll, smooth) }
    // The log-probabilities first: `g` may be `x`.
    var p = [Double](repeating: 0, count: classes)
    for c in 0..<classes { p[c] = Double.exp(logProbability(c)) }
    for c in 0..<classes {
      var d = 0.0
      if !ignored {
        if c == label { d = gradientLabel }
        if smoothing > 0 { d += smoothing / Double(classes) * (weight(c) * -scale) }
      }
      g[c] = d - p[c] * total
    }
    return (nll, smooth)
  }
}
