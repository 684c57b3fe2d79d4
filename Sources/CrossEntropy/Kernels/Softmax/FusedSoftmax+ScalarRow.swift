import RealModule

// The scalar Double path of the fused kernel, in its own file so that the object code of the
// hot loops (FusedRows, FusedSoftmax) holds no per-element libm call (Scripts/check_codegen.sh).
extension FusedSoftmax {
  /// A row whose maximum is not finite (+inf, or only -inf and NaN): the reference's formulas
  /// in Double, element by element, z-loss included (the row's log-sum-exp is returned).
  @inline(never)
  func scalarRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, gradient g: UnsafeMutablePointer<E.Stored>?, label: Int,
    _: E.Type
  ) -> (nll: Double, smooth: Double, lse: Double) {
    let ignored = label == ignoreIndex
    var row = [Double](repeating: 0, count: classes)
    for c in 0..<classes { row[c] = Double(E.float(x[c])) }
    // Log-probabilities as `(x - shift) - logSum`, as the reference: `x - lse` loses the low
    // bits of a small log-probability when the logits are large.
    var (shift, logSum) = row.withUnsafeBufferPointer(Reference.shiftAndLogSum)
    if shift + logSum == .infinity { (shift, logSum) = (.nan, .nan) }  // a +inf logit: NaN row
    let lse = shift + logSum
    func logProbability(_ c: Int) -> Double { (row[c] - shift) - logSum }
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
    if let g {
      let dz = ignored ? 0 : zGradient * lse
      for c in 0..<classes {
        var d = 0.0
        if !ignored {
          if c == label { d = gradientLabel }
          if smoothing > 0 { d += smoothing / Double(classes) * (weight(c) * -scale) }
        }
        let p = Double.exp(logProbability(c))
        var value = d - p * total
        if zGradient != 0 { value += p * dz }
        g[c] = E.stored(Float(value))
      }
    }
    return (nll, smooth, lse)
  }
}

extension FusedSoftmax {
  /// A probability-target row whose maximum is not finite (or a one-class row): the
  /// reference's formulas in Double, z-loss included; returns the loss and the log-sum-exp.
  @inline(never)
  func scalarProbabilityRow<E: KernelStorage, T: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, targets: UnsafePointer<T.Stored>,
    gradient g: UnsafeMutablePointer<E.Stored>?, _: E.Type, _: T.Type
  ) -> (loss: Double, lse: Double) {
    var row = [Double](repeating: 0, count: classes)
    for c in 0..<classes { row[c] = Double(E.float(x[c])) }
    var (shift, logSum) = row.withUnsafeBufferPointer(Reference.shiftAndLogSum)
    if shift + logSum == .infinity { (shift, logSum) = (.nan, .nan) }  // a +inf logit: NaN row
    let lse = shift + logSum
    func logProbability(_ c: Int) -> Double { (row[c] - shift) - logSum }
    var nll = 0.0
    var direct = [Double](repeating: 0, count: classes)
    for c in 0..<classes {
      var t = Double(T.float(targets[c]))
      if smoothing > 0 { t = t * (1 - smoothing) + smoothing / Double(classes) }
      nll -= logProbability(c) * t * weight(c)
      direct[c] = -weight(c) * t * scale
    }
    if let g {
      var total = 0.0
      for c in 0..<classes { total += direct[c] }
      let dz = zGradient * lse
      for c in 0..<classes {
        let p = Double.exp(logProbability(c))
        var value = direct[c] - p * total
        if zGradient != 0 { value += p * dz }
        g[c] = E.stored(Float(value))
      }
    }
    return (nll, lse)
  }
}

extension FusedSoftmax {
  /// The log-sum-exp of a row whose maximum is not finite, in Double as the reference computes
  /// it (+inf anywhere gives NaN, as in the loss).
  @inline(never)
  static func scalarLogSumExpRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, _: E.Type
  ) -> Double {
    let row = (0..<count).map { Double(E.float(x[$0])) }
    let lse = row.withUnsafeBufferPointer(Reference.logSumExp)
    return lse == .infinity ? .nan : lse
  }
}
