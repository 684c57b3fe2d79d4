import RealModule

/// The log of the sum of exponentials along an axis, computed stably:
///
/// ```
/// logSumExp(x) = m + log(sum_i exp(x_i - m)),   m = max_i x_i
/// ```
///
/// A row holding +inf gives +inf, a row holding NaN gives NaN, and a row of only -inf gives -inf.
///
/// ```swift
/// let x = try ShapedArray<Double>(shape: [2, 2], scalars: [0, 0, 1000, 1000])
/// let lse = try logSumExp(x)   // [0.6931..., 1000.6931...]
/// ```
///
/// PyTorch equivalent: `torch.logsumexp(x, dim=axis)`.
///
/// - Parameters:
///   - x: The input, any rank >= 1.
///   - axis: The axis to reduce; negative values count from the end. Default `-1`.
/// - Returns: The input's shape without `axis`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional input, or an empty axis.
/// - Complexity: O(n) in the number of elements.
public func logSumExp<Scalar: BinaryFloatingPoint>(
  _ x: ShapedArray<Scalar>, alongAxis axis: Int = -1
) throws(LossError) -> ShapedArray<Scalar> {
  let layout = try ClassLayout(shape: x.shape, classAxis: axis, name: "input")
  var result = [Scalar](repeating: 0, count: layout.rows)
  forEachRow(of: x, layout: layout) { r, _, shift, logSum, _ in result[r] = Scalar(shift + logSum) }
  return ShapedArray(uncheckedShape: layout.labelShape, scalars: result)
}

/// The logarithm of the softmax along an axis, computed as `x - logSumExp(x)`, never as
/// `log(softmax(x))`:
///
/// ```
/// logSoftmax(x)_i = x_i - logSumExp(x)
/// ```
///
/// A row holding +inf or NaN is NaN throughout, as in PyTorch.
///
/// PyTorch equivalent: `torch.log_softmax(x, dim=axis)`.
///
/// - Parameters:
///   - x: The input, any rank >= 1.
///   - axis: The axis to normalise; negative values count from the end. Default `-1`.
/// - Returns: An array shaped like `x`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional input, or an empty axis.
/// - Complexity: O(n) in the number of elements.
public func logSoftmax<Scalar: BinaryFloatingPoint>(
  _ x: ShapedArray<Scalar>, alongAxis axis: Int = -1
) throws(LossError) -> ShapedArray<Scalar> {
  let layout = try ClassLayout(shape: x.shape, classAxis: axis, name: "input")
  var result = x.scalars
  forEachRow(of: x, layout: layout) { _, row, shift, logSum, offset in
    let logSum = normalizer(logSum)
    for c in row.indices { result[offset(c)] = Scalar((row[c] - shift) - logSum) }
  }
  return ShapedArray(uncheckedShape: x.shape, scalars: result)
}

/// The softmax along an axis, `exp(x_i - logSumExp(x))`; each row sums to 1.
///
/// ```
/// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j
/// ```
///
/// A row holding +inf or NaN is NaN throughout, as in PyTorch.
///
/// PyTorch equivalent: `torch.softmax(x, dim=axis)`.
///
/// - Parameters:
///   - x: The input, any rank >= 1.
///   - axis: The axis to normalise; negative values count from the end. Default `-1`.
/// - Returns: An array shaped like `x`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional input, or an empty axis.
/// - Complexity: O(n) in the number of elements.
public func softmax<Scalar: BinaryFloatingPoint>(
  _ x: ShapedArray<Scalar>, alongAxis axis: Int = -1
) throws(LossError) -> ShapedArray<Scalar> {
  let layout = try ClassLayout(shape: x.shape, classAxis: axis, name: "input")
  var result = x.scalars
  forEachRow(of: x, layout: layout) { _, row, shift, logSum, offset in
    let logSum = normalizer(logSum)
    for c in row.indices { result[offset(c)] = Scalar(Double.exp((row[c] - shift) - logSum)) }
  }
  return ShapedArray(uncheckedShape: x.shape, scalars: result)
}

/// The log of the shifted sum that (log)softmax subtracts after the shift, except NaN for a row
/// holding +inf, as PyTorch subtracts the row maximum first (inf - inf = NaN makes the whole row
/// NaN).
private func normalizer(_ logSum: Double) -> Double {
  logSum == .infinity ? .nan : logSum
}

/// Calls `body(row, values, shift, logSum, offset)` for each row along the layout's axis, with
/// the row's values in Double, the two parts of its log-sum-exp (log-probabilities are
/// `(x - shift) - logSum`, PyTorch's order) and a function from a class to its flat offset.
private func forEachRow<Scalar: BinaryFloatingPoint>(
  of x: ShapedArray<Scalar>, layout: ClassLayout,
  _ body: (Int, [Double], Double, Double, (Int) -> Int) -> Void
) {
  var row = [Double](repeating: 0, count: layout.scratchClasses)
  for r in 0..<layout.rows {
    let base = layout.base(ofRow: r)
    let offset = { (c: Int) in base + c * layout.inner }
    for c in 0..<layout.classes { row[c] = Double(x.scalars[offset(c)]) }
    let (shift, logSum) = row.withUnsafeBufferPointer(Reference.shiftAndLogSum)
    body(r, row, shift, logSum, offset)
  }
}
