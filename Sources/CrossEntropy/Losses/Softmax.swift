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
  x.withUnsafeBufferPointer { input in
    result.withUnsafeMutableBufferPointer { output in
      RowNormalization.logSumExp.run(startAddress(input.baseAddress), layout, output.baseAddress)
    }
  }
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
  try normalized(x, alongAxis: axis, .logSoftmax)
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
  try normalized(x, alongAxis: axis, .softmax)
}

// MARK: - Caller-owned memory

/// Writes the log of the sum of exponentials along an axis of a caller buffer into a caller
/// buffer; see ``logSumExp(_:alongAxis:)``.
///
/// - Parameters:
///   - x: The input in row-major order.
///   - shape: The shape of `x`, any rank >= 1.
///   - axis: The axis to reduce; negative values count from the end. Default `-1`.
///   - result: Receives one value per position of `shape` without `axis`, in row-major order.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional shape, an empty axis, or a
///   buffer whose count does not match.
/// - Complexity: O(n) in the number of elements; O(C) extra memory for an axis of extent C.
public func logSumExp<Scalar: BinaryFloatingPoint>(
  _ x: UnsafeBufferPointer<Scalar>, shape: [Int], alongAxis axis: Int = -1,
  into result: UnsafeMutableBufferPointer<Scalar>
) throws(LossError) {
  let layout = try rowLayout(count: x.count, shape: shape, axis: axis)
  guard result.count == layout.rows else {
    throw .shapeMismatch(
      "result holds \(describe(elementCount: result.count)) but input shape \(describe(shape: shape)) without"
        + " axis \(layout.axis) holds \(layout.rows)")
  }
  RowNormalization.logSumExp.run(startAddress(x.baseAddress), layout, result.baseAddress)
}

/// Writes the log-softmax along an axis of a caller buffer into a caller buffer; see
/// ``logSoftmax(_:alongAxis:)``.
///
/// - Parameters:
///   - x: The input in row-major order.
///   - shape: The shape of `x`, any rank >= 1.
///   - axis: The axis to normalise; negative values count from the end. Default `-1`.
///   - result: Receives the log-softmax, as many elements as `x`; it may be the memory of `x`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional shape, an empty axis, or a
///   buffer whose count does not match.
/// - Complexity: O(n) in the number of elements; O(C) extra memory for an axis of extent C.
public func logSoftmax<Scalar: BinaryFloatingPoint>(
  _ x: UnsafeBufferPointer<Scalar>, shape: [Int], alongAxis axis: Int = -1,
  into result: UnsafeMutableBufferPointer<Scalar>
) throws(LossError) {
  try normalize(x, shape: shape, alongAxis: axis, into: result, .logSoftmax)
}

/// Overwrites a caller buffer with its log-softmax along an axis; see
/// ``logSoftmax(_:alongAxis:)``.
///
/// - Parameters:
///   - x: The input in row-major order; on return, its log-softmax.
///   - shape: The shape of `x`, any rank >= 1.
///   - axis: The axis to normalise; negative values count from the end. Default `-1`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional shape, an empty axis, or a
///   buffer whose count does not match; `x` is unchanged when it throws.
/// - Complexity: O(n) in the number of elements; O(C) extra memory for an axis of extent C.
public func logSoftmax<Scalar: BinaryFloatingPoint>(
  overwriting x: UnsafeMutableBufferPointer<Scalar>, shape: [Int], alongAxis axis: Int = -1
) throws(LossError) {
  try normalize(UnsafeBufferPointer(x), shape: shape, alongAxis: axis, into: x, .logSoftmax)
}

/// Writes the softmax along an axis of a caller buffer into a caller buffer; see
/// ``softmax(_:alongAxis:)``.
///
/// - Parameters:
///   - x: The input in row-major order.
///   - shape: The shape of `x`, any rank >= 1.
///   - axis: The axis to normalise; negative values count from the end. Default `-1`.
///   - result: Receives the softmax, as many elements as `x`; it may be the memory of `x`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional shape, an empty axis, or a
///   buffer whose count does not match.
/// - Complexity: O(n) in the number of elements; O(C) extra memory for an axis of extent C.
public func softmax<Scalar: BinaryFloatingPoint>(
  _ x: UnsafeBufferPointer<Scalar>, shape: [Int], alongAxis axis: Int = -1,
  into result: UnsafeMutableBufferPointer<Scalar>
) throws(LossError) {
  try normalize(x, shape: shape, alongAxis: axis, into: result, .softmax)
}

/// Overwrites a caller buffer with its softmax along an axis; see ``softmax(_:alongAxis:)``.
///
/// - Parameters:
///   - x: The input in row-major order; on return, its softmax.
///   - shape: The shape of `x`, any rank >= 1.
///   - axis: The axis to normalise; negative values count from the end. Default `-1`.
/// - Throws: ``LossError`` for an axis out of range, a 0-dimensional shape, an empty axis, or a
///   buffer whose count does not match; `x` is unchanged when it throws.
/// - Complexity: O(n) in the number of elements; O(C) extra memory for an axis of extent C.
public func softmax<Scalar: BinaryFloatingPoint>(
  overwriting x: UnsafeMutableBufferPointer<Scalar>, shape: [Int], alongAxis axis: Int = -1
) throws(LossError) {
  try normalize(UnsafeBufferPointer(x), shape: shape, alongAxis: axis, into: x, .softmax)
}

// MARK: - The one path of every form

/// The array forms of ``logSoftmax(_:alongAxis:)`` and ``softmax(_:alongAxis:)``.
private func normalized<Scalar: BinaryFloatingPoint>(
  _ x: ShapedArray<Scalar>, alongAxis axis: Int, _ operation: RowNormalization
) throws(LossError) -> ShapedArray<Scalar> {
  let layout = try ClassLayout(shape: x.shape, classAxis: axis, name: "input")
  var result = x.scalars
  x.withUnsafeBufferPointer { input in
    result.withUnsafeMutableBufferPointer { output in
      operation.run(startAddress(input.baseAddress), layout, output.baseAddress)
    }
  }
  return ShapedArray(uncheckedShape: x.shape, scalars: result)
}

/// The buffer forms of ``logSoftmax(_:alongAxis:)`` and ``softmax(_:alongAxis:)``.
private func normalize<Scalar: BinaryFloatingPoint>(
  _ x: UnsafeBufferPointer<Scalar>, shape: [Int], alongAxis axis: Int,
  into result: UnsafeMutableBufferPointer<Scalar>, _ operation: RowNormalization
) throws(LossError) {
  let layout = try rowLayout(count: x.count, shape: shape, axis: axis)
  guard result.count == layout.count else {
    throw .shapeMismatch(
      "result holds \(describe(elementCount: result.count)) but input shape \(describe(shape: shape)) holds"
        + " \(layout.count)")
  }
  operation.run(startAddress(x.baseAddress), layout, result.baseAddress)
}

/// The layout of a caller's input buffer along `axis`, after checking its count.
private func rowLayout(count: Int, shape: [Int], axis: Int) throws(LossError) -> ClassLayout {
  let layout = try ClassLayout(shape: shape, classAxis: axis, name: "input")
  try checkCount(count, shape: shape, name: "input")
  return layout
}

/// What the free functions compute from each row's log-sum-exp.
private enum RowNormalization {
  /// One value per row: the log-sum-exp.
  case logSumExp
  /// A row of `(x - shift) - logSum`.
  case logSoftmax
  /// A row of `exp((x - shift) - logSum)`.
  case softmax

  /// Writes the result of every row of `input` (laid out as `layout` says) into `output`: one
  /// value per row for ``logSumExp``, else one per element at the input's offsets. `output` may
  /// be `input`. fp32 rows with the classes last take the fused row passes for the log-sum-exp
  /// and the softmax; the rest (and rows whose maximum is not finite) the Double formulas.
  func run<Scalar: BinaryFloatingPoint>(
    _ input: UnsafePointer<Scalar>, _ layout: ClassLayout, _ output: UnsafeMutablePointer<Scalar>?
  ) {
    guard let output else { return }  // an empty output: no rows or no elements
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    if Scalar.self == Float.self, layout.inner == 1, self != .logSoftmax {
      let x = Kernels.cast(input, to: Float.self)
      let y = Kernels.cast(output, to: Float.self)
      for r in 0..<layout.rows where !fusedRow(x, r, layout.classes, y) {
        scalarRow(input, r, layout, output, &row)
      }
      return
    }
    for r in 0..<layout.rows { scalarRow(input, r, layout, output, &row) }
  }

  /// Row `r` of fp32 rows of `classes` contiguous values by the fused passes; false, with
  /// nothing written, when the row's maximum is not finite.
  @inline(__always)
  private func fusedRow(
    _ input: UnsafePointer<Float>, _ r: Int, _ classes: Int, _ output: UnsafeMutablePointer<Float>
  ) -> Bool {
    let x = input + r * classes
    switch self {
    case .logSumExp:
      let stats = FusedRows.onlineStatistics(x, count: classes, side: .none, FloatStorage.self)
      guard stats.maximum.isFinite else { return false }
      output[r] = Float(Double(stats.maximum) + .log(stats.sum))
    case .softmax:
      let m = FusedRows.maximum(x, count: classes, FloatStorage.self)
      guard m.isFinite else { return false }
      let y = output + r * classes
      let (sum, _) = FusedRows.expSum(
        x, count: classes, shift: m, store: y, side: .none, FloatStorage.self)
      FusedRows.scale(y, into: y, count: classes, by: Float(1 / sum), add: .none, FloatStorage.self)
    case .logSoftmax:
      return false
    }
    return true
  }

  /// Row `r` by the Double formulas: the row is read into `row` before its outputs are
  /// written.
  @inline(never)
  private func scalarRow<Scalar: BinaryFloatingPoint>(
    _ input: UnsafePointer<Scalar>, _ r: Int, _ layout: ClassLayout,
    _ output: UnsafeMutablePointer<Scalar>, _ row: inout [Double]
  ) {
    let base = layout.base(ofRow: r)
    for c in 0..<layout.classes { row[c] = Double(input[base + c * layout.inner]) }
    let (shift, logSum) = row.withUnsafeBufferPointer(Reference.shiftAndLogSum)
    switch self {
    case .logSumExp:
      output[r] = Scalar(shift + logSum)
    case .logSoftmax:
      let logSum = normalizer(logSum)
      for c in 0..<layout.classes {
        output[base + c * layout.inner] = Scalar((row[c] - shift) - logSum)
      }
    case .softmax:
      let logSum = normalizer(logSum)
      for c in 0..<layout.classes {
        output[base + c * layout.inner] = Scalar(Double.exp((row[c] - shift) - logSum))
      }
    }
  }
}

/// The log of the shifted sum that (log)softmax subtracts after the shift, except NaN for a row
/// holding +inf, as PyTorch subtracts the row maximum first (inf - inf = NaN makes the whole row
/// NaN).
private func normalizer(_ logSum: Double) -> Double {
  logSum == .infinity ? .nan : logSum
}
