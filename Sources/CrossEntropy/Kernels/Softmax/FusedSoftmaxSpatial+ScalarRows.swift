// The scalar Double path of the spatial kernel, in its own file (like FusedSoftmax+ScalarRow.swift) so
// that the hot loops' object code holds no per-element libm call (Scripts/check_codegen.sh).
extension FusedSoftmaxSpatial {
  /// The positions `p0..<p0 + count` of outer index `o`, one by one through the row kernel's
  /// scalar Double path (the reference's formulas): each strided row is copied out, evaluated
  /// (its gradient in the copy) and its gradient copied back. Class-index labels when `labels`
  /// is not nil, else probability targets.
  ///
  /// - Returns: The sums over the positions of the NLL and smoothing terms.
  @inline(never)
  func scalarSpatialRows<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, labels: UnsafeBufferPointer<Int>?,
    targets: UnsafePointer<E.Stored>?, o: Int, p0: Int, count: Int,
    gradient: UnsafeMutablePointer<E.Stored>?, loss: UnsafeMutablePointer<Float>?, _ e: E.Type
  ) -> (Double, Double) {
    let values = UnsafeMutablePointer<E.Stored>.allocate(capacity: classes)
    defer { values.deallocate() }
    let targetValues = UnsafeMutablePointer<E.Stored>.allocate(capacity: classes)
    defer { targetValues.deallocate() }
    var nllTotal = 0.0
    var smoothTotal = 0.0
    for k in 0..<count {
      let base = o * classes * inner + p0 + k
      let position = o * inner + p0 + k
      for c in 0..<classes { (values + c).initialize(to: x[base + c * inner]) }
      let g = gradient == nil ? nil : values
      var nll: Double
      var smooth = 0.0
      if let labels {
        (nll, smooth, _) = row.scalarRow(values, gradient: g, label: labels[position], e)
        loss?[position] = Float(row.combine(nll, smooth))
      } else {
        for c in 0..<classes { (targetValues + c).initialize(to: targets![base + c * inner]) }
        nll = row.scalarProbabilityRow(values, targets: targetValues, gradient: g, e, e).loss
        loss?[position] = Float(nll)
      }
      nllTotal += nll
      smoothTotal += smooth
      if let gradient {
        for c in 0..<classes { gradient[base + c * inner] = values[c] }
      }
    }
    return (nllTotal, smoothTotal)
  }
}
