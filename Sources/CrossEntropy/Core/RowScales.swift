/// The per-row multipliers of a loss over rows (softmax cross-entropy, NLL, softmax focal,
/// Poly-1, the linear cross-entropy): the sample weights, which multiply each row's loss and gradient, and the upstream
/// gradient, which multiplies the gradient only. Both are converted to Double, one value per
/// row, by ``with(sampleWeights:upstreamGradient:rows:_:)``, and live for one kernel call.
///
/// A kernel reads them only for rows that take part: a row whose label is the ignore index
/// contributes nothing, whatever its sample weight or upstream gradient (NaN included).
struct RowScales: @unchecked Sendable {
  /// The sample weight `s_r` of each row, which multiplies its loss (nil: 1 for every row).
  let loss: UnsafePointer<Double>?
  /// The factor of each row's gradient (nil: 1 for every row): `s_r * g_r` for `.none` with an
  /// upstream gradient `g`, `s_r * g` for `.mean` and `.sum` with a 0-d upstream gradient `g`,
  /// else `s_r`.
  let gradient: UnsafePointer<Double>?

  /// The loss factor of row `r`.
  @inline(__always)
  func lossFactor(_ r: Int) -> Double { loss.map { $0[r] } ?? 1 }

  /// The gradient factor of row `r`.
  @inline(__always)
  func gradientFactor(_ r: Int) -> Double { gradient.map { $0[r] } ?? 1 }

  /// The row scales of the rows from `first` on: those of one chunk of rows, whose row 0 is
  /// row `first` of these.
  func rows(from first: Int) -> RowScales {
    RowScales(loss: loss.map { $0 + first }, gradient: gradient.map { $0 + first })
  }

  /// Calls `body` with the row scales of validated sample weights (one per row) and upstream
  /// gradient (one per row, or 1 for a reduced loss), or with nil when neither is given (the
  /// kernels then run exactly as without them).
  static func with<Scalar: BinaryFloatingPoint, R>(
    sampleWeights: UnsafeBufferPointer<Scalar>?, upstreamGradient: UnsafeBufferPointer<Scalar>?,
    rows: Int, _ body: (RowScales?) -> R
  ) -> R {
    guard sampleWeights != nil || upstreamGradient != nil else { return body(nil) }
    let lossValues = sampleWeights.map { weights in
      let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows)
      for r in 0..<rows { values[r] = Double(weights[r]) }
      return values
    }
    defer { lossValues?.deallocate() }
    var gradientValues: UnsafeMutableBufferPointer<Double>? = nil
    defer { gradientValues?.deallocate() }
    if let upstreamGradient {
      let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows)
      for r in 0..<rows {
        let g = Double(upstreamGradient[upstreamGradient.count == rows ? r : 0])
        values[r] = lossValues.map { $0[r] * g } ?? g
      }
      gradientValues = values
    }
    let loss = lossValues.map { UnsafePointer($0.baseAddress!) }
    return body(
      RowScales(loss: loss, gradient: gradientValues.map { UnsafePointer($0.baseAddress!) } ?? loss)
    )
  }

  /// The weighted counts of the mean's denominators: the sum over the rows that take part
  /// (those whose label is not `ignoreIndex`; every row when `labels` is nil) of the sample
  /// weight times `classWeight(label)`, and of the sample weight alone, in row order.
  func weightedCounts(
    rows: Int, labels: UnsafeBufferPointer<Int>?, ignoreIndex: Int,
    classWeight: (Int) -> Double
  ) -> (weighted: Double, plain: Double) {
    var weighted = 0.0
    var plain = 0.0
    for r in 0..<rows {
      let s = lossFactor(r)
      if let labels {
        let label = labels[r]
        if label == ignoreIndex { continue }
        weighted += s * classWeight(label)
      } else {
        weighted += s
      }
      plain += s
    }
    return (weighted, plain)
  }
}

// MARK: - Validation

/// Checks array-form sample weights: nil, or shaped like the per-row losses (`rowShape`, the
/// labels' shape).
func checkSampleWeights(shape: [Int]?, rowShape: [Int], rowName: String) throws(LossError) {
  if let shape, shape != rowShape {
    throw .shapeMismatch(
      "sample weights shape \(describe(shape: shape)) does not match \(rowName) shape"
        + " \(describe(shape: rowShape)); expected one weight per row")
  }
}

/// Checks buffer-form sample weights: nil, or one per row of `rowShape`.
func checkSampleWeights(count: Int?, rowShape: [Int], rowName: String) throws(LossError) {
  let rows = rowShape.reduce(1, *)
  if let count, count != rows {
    throw .shapeMismatch(
      "sample weights hold \(describe(elementCount: count)) but \(rowName) shape"
        + " \(describe(shape: rowShape)) needs \(rows), one per row")
  }
}

/// Checks an array-form upstream gradient: nil, or shaped like the loss (`rowShape` for
/// `.none`, 0-dimensional for `.mean` and `.sum`).
func checkUpstreamGradient(
  shape: [Int]?, reduction: Reduction, rowShape: [Int]
) throws(LossError) {
  let expected = reduction == .none ? rowShape : []
  if let shape, shape != expected {
    throw .shapeMismatch(
      "upstream gradient shape \(describe(shape: shape)) does not match the loss shape"
        + " \(describe(shape: expected)) of reduction \(reduction)")
  }
}

/// Checks a buffer-form upstream gradient: nil, or as many elements as the loss (one per row
/// for `.none`, 1 for `.mean` and `.sum`).
func checkUpstreamGradient(count: Int?, reduction: Reduction, rows: Int) throws(LossError) {
  let expected = reduction == .none ? rows : 1
  if let count, count != expected {
    throw .shapeMismatch(
      "upstream gradient holds \(describe(elementCount: count)) but the loss of reduction"
        + " \(reduction) holds \(expected)")
  }
}

/// The multipliers of an elementwise loss over rows of `rowLength` elements (the sigmoid focal
/// loss): the sample weight of each leading row, broadcast over its elements, multiplies each
/// element's loss and gradient; the upstream gradient, one per element (or one value for a
/// reduced loss), multiplies the gradient only. Converted to Double by
/// ``with(sampleWeights:upstreamGradient:count:rows:_:)``, they live for one kernel call.
struct ElementScales: @unchecked Sendable {
  /// The number of elements each sample weight covers.
  let rowLength: Int
  /// The sample weight of each row (nil: 1 for every row).
  let sampleWeights: UnsafePointer<Double>?
  /// The upstream gradient (nil: 1 for every element).
  let upstream: UnsafePointer<Double>?
  /// Whether ``upstream`` holds one value per element (else one value for all).
  let upstreamPerElement: Bool

  /// The loss factor of element `i`: its row's sample weight.
  @inline(__always)
  func lossFactor(_ i: Int) -> Double { sampleWeights.map { $0[i / rowLength] } ?? 1 }

  /// The gradient factor of element `i`: its row's sample weight times its upstream gradient.
  @inline(__always)
  func gradientFactor(_ i: Int) -> Double {
    guard let upstream else { return lossFactor(i) }
    let g = upstream[upstreamPerElement ? i : 0]
    return sampleWeights == nil ? g : lossFactor(i) * g
  }

  /// Calls `body` with the element scales of validated sample weights (one per row of
  /// `count / rows` elements) and upstream gradient (`count` values, or 1 for a reduced loss),
  /// or with nil when neither is given (the kernels then run exactly as without them).
  static func with<Scalar: BinaryFloatingPoint, R>(
    sampleWeights: UnsafeBufferPointer<Scalar>?, upstreamGradient: UnsafeBufferPointer<Scalar>?,
    count: Int, rows: Int, _ body: (ElementScales?) -> R
  ) -> R {
    guard sampleWeights != nil || upstreamGradient != nil else { return body(nil) }
    let weights = sampleWeights.map { buffer in
      let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: buffer.count)
      for r in buffer.indices { values[r] = Double(buffer[r]) }
      return values
    }
    defer { weights?.deallocate() }
    let upstream = upstreamGradient.map { buffer in
      let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: buffer.count)
      for i in buffer.indices { values[i] = Double(buffer[i]) }
      return values
    }
    defer { upstream?.deallocate() }
    return body(
      ElementScales(
        rowLength: max(1, rows == 0 ? 1 : count / rows),
        sampleWeights: weights.map { UnsafePointer($0.baseAddress!) },
        upstream: upstream.map { UnsafePointer($0.baseAddress!) },
        upstreamPerElement: upstreamGradient?.count == count))
  }
}
