/// Where the classes lie in a logits array: `outer × classes × inner` in row-major order.
///
/// The element for class `c` of row `r = o * inner + i` sits at `(o * classes + c) * inner + i`.
/// Rows are numbered in the row-major order of the label shape (the input shape without the
/// class axis), so row `r` pairs with `labels[r]`.
struct ClassLayout: Hashable, Sendable {
  /// The input shape.
  let shape: [Int]
  /// What error messages call the input ("logits", "log-probabilities").
  let name: String
  /// The class axis, normalised to `0..<shape.count`.
  let axis: Int
  /// The product of the extents before the class axis.
  let outer: Int
  /// The extent of the class axis.
  let classes: Int
  /// The product of the extents after the class axis (the stride between classes).
  let inner: Int

  /// The number of rows (elements of the label shape).
  var rows: Int { outer * inner }
  /// The length of per-row scratch buffers: the class count, or 0 when there are no rows, so
  /// that an empty batch with an absurd class count allocates nothing.
  var scratchClasses: Int { rows == 0 ? 0 : classes }
  /// The number of logits.
  var count: Int { outer * classes * inner }
  /// The shape of a class-index target: the input shape without the class axis.
  var labelShape: [Int] {
    var result = shape
    result.remove(at: axis)
    return result
  }

  /// The flat offset of class 0 of `row`; later classes follow at a stride of ``inner``.
  @inline(__always)
  func base(ofRow row: Int) -> Int {
    let (o, i) = row.quotientAndRemainder(dividingBy: inner)
    return o * classes * inner + i
  }

  /// Resolves the class axis of `shape`, which may count from the end when negative.
  ///
  /// - Throws: ``LossError`` for a 0-dimensional shape, an axis out of range, an empty class
  ///   dimension, or a negative extent.
  init(shape: [Int], classAxis: Int, name: String = "logits") throws(LossError) {
    _ = try elementCount(of: shape, name: "\(name) shape")
    guard !shape.isEmpty else {
      throw LossError(
        .invalidAxis, "\(name) must have at least 1 dimension (the classes), got shape []")
    }
    let rank = shape.count
    guard (-rank..<rank).contains(classAxis) else {
      throw LossError(
        .invalidAxis,
        "class axis \(classAxis) is out of range for \(name) of shape \(describe(shape: shape))"
          + " (expected \(-rank)..<\(rank))")
    }
    let axis = classAxis < 0 ? classAxis + rank : classAxis
    guard shape[axis] > 0 else {
      throw LossError(
        .emptyClassDimension,
        "the class axis \(axis) of \(name) shape \(describe(shape: shape)) is empty;"
          + " expected at least 1 class")
    }
    self.shape = shape
    self.name = name
    self.axis = axis
    self.outer = shape[..<axis].reduce(1, *)
    self.classes = shape[axis]
    self.inner = shape[(axis + 1)...].reduce(1, *)
  }

  /// Checks that a class-index target has the label shape.
  func checkLabels(shape labelsShape: [Int], name: String = "labels") throws(LossError) {
    guard labelsShape == labelShape else {
      throw .shapeMismatch(
        "\(name) shape \(describe(shape: labelsShape)) does not match \(self.name) shape"
          + " \(describe(shape: shape)) without its class axis \(axis);"
          + " expected \(describe(shape: labelShape))")
    }
  }

  /// Checks that every label is the ignore index or lies in `0..<classes`.
  func checkLabelRange(_ labels: UnsafeBufferPointer<Int>, ignoreIndex: Int) throws(LossError) {
    for (row, label) in labels.enumerated()
    where label != ignoreIndex && (label < 0 || label >= classes) {
      throw LossError(
        .labelOutOfRange,
        "label \(label) at position \(describe(shape: position(ofFlatIndex: row, in: labelShape)))"
          + " is outside 0..<\(classes)"
          + (ignoreIndex < 0 || ignoreIndex >= classes ? " (ignore index \(ignoreIndex))" : ""))
    }
  }

  /// Checks that a caller's label buffer holds one label per row.
  func checkLabelCount(_ count: Int) throws(LossError) {
    guard count == rows else {
      throw .shapeMismatch(
        "labels hold \(describe(elementCount: count)) but \(name) shape \(describe(shape: shape)) needs"
          + " \(rows), one per position of \(describe(shape: labelShape))")
    }
  }

  /// Checks that a caller's gradient buffer has one element per input element.
  func checkGradientCount(_ count: Int) throws(LossError) {
    guard count == self.count else {
      throw .shapeMismatch(
        "gradient holds \(describe(elementCount: count)) but \(name) shape \(describe(shape: shape)) holds"
          + " \(self.count)")
    }
  }

  /// Checks per-class weights, if any, against the class count.
  func checkClassWeights(count: Int?) throws(LossError) {
    if let count, count != classes {
      throw .shapeMismatch(
        "class weights have \(describe(elementCount: count)) but \(name) have \(classes) classes on axis \(axis)"
      )
    }
  }
}
