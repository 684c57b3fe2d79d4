import RealModule

// The scalar Double path of the fused kernel, in its own file so that the object code of the
// hot loops (FusedRows, FusedSoftmax) holds no per-element libm call (Scripts/check-codegen.sh).
extension FusedSoftmax {
  /// A row whose maximum is not finite (+inf, or only -inf and NaN): the reference's formulas
  /// in Double, element by element.
  @inline(never)
  func scalarRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, gradient g: UnsafeMutablePointer<E.Stored>?, label: Int,
    _: E.Type
  ) -> (nll: Double, smooth: Double) {
    let ignored = label == ignoreIndex
    var row = [Double](repeating: 0, count: classes)
    for c in 0..<classes { row[c] = Double(E.float(x[c])) }
    var lse = row.withUnsafeBufferPointer(Reference.logSumExp)
    if lse == .infinity { lse = .nan }  // as the reference: a +inf logit makes the row NaN
    var nll = 0.0
    var smooth = 0.0
    var total = 0.0
    var gradientLabel = 0.0
    if !ignored {
      nll = -weight(label) * (row[label] - lse)
      gradientLabel = (1 - smoothing) * (weight(label) * -scale)
      total = gradientLabel
      if smoothing > 0 {
        for c in 0..<classes {
          smooth -= (row[c] - lse) * weight(c)
          total += smoothing / Double(classes) * (weight(c) * -scale)
        }
      }
    }
    if let g {
      for c in 0..<classes {
        var d = 0.0
        if !ignored {
          if c == label { d = gradientLabel }
          if smoothing > 0 { d += smoothing / Double(classes) * (weight(c) * -scale) }
        }
        g[c] = E.stored(Float(d - Double.exp(row[c] - lse) * total))
      }
    }
    return (nll, smooth)
  }
}

extension FusedSoftmax {
  /// A probability-target row whose maximum is not finite: the reference's formulas in Double.
  @inline(never)
  func scalarProbabilityRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets: UnsafePointer<E.Stored>,
    gradient g: UnsafeMutablePointer<E.Stored>?, _: E.Type
  ) -> Double {
    var row = [Double](repeating: 0, count: classes)
    for c in 0..<classes { row[c] = Double(E.float(x[c])) }
    var lse = row.withUnsafeBufferPointer(Reference.logSumExp)
    if lse == .infinity { lse = .nan }  // as the reference: a +inf logit makes the row NaN
    var nll = 0.0
    var direct = [Double](repeating: 0, count: classes)
    for c in 0..<classes {
      var t = Double(E.float(targets[c]))
      if smoothing > 0 { t = t * (1 - smoothing) + smoothing / Double(classes) }
      nll -= (row[c] - lse) * t * weight(c)
      direct[c] = -weight(c) * t * scale
    }
    if let g {
      var total = 0.0
      for c in 0..<classes { total += direct[c] }
      for c in 0..<classes {
        g[c] = E.stored(Float(direct[c] - Double.exp(row[c] - lse) * total))
      }
    }
    return nll
  }
}
