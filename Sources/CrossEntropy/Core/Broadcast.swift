/// Maps each element of a target shape to the element of a smaller array broadcast against it,
/// with NumPy's right-aligned rules, restricted (as PyTorch's in-place loss arithmetic is) to
/// arrays that broadcast *to* the target shape without enlarging it.
struct BroadcastIndex: Sendable {
  /// For each target axis, the stride of the broadcast array along it (0 where it repeats).
  private let strides: [Int]
  private let shape: [Int]

  /// Resolves how `source` broadcasts to `target`.
  ///
  /// - Throws: ``LossError`` naming both shapes when `source` does not broadcast to `target`.
  init(source: [Int], target: [Int], name: String, targetName: String = "target") throws(LossError)
  {
    let fits =
      source.count <= target.count
      && zip(source.reversed(), target.reversed()).allSatisfy { $0 == 1 || $0 == $1 }
    guard fits else {
      let hint =
        source.count == 1 && target.count > 1
        ? "; a length-\(source[0]) vector broadcasts along the LAST axis, so a per-class"
          + " weight for classes on axis 1 needs shape [C, 1, ...]"
        : ""
      throw .shapeMismatch(
        "\(name) shape \(describe(shape: source)) does not broadcast to the \(targetName) shape"
          + " \(describe(shape: target)) (right-aligned broadcasting)\(hint)")
    }
    var strides = [Int](repeating: 0, count: target.count)
    var stride = 1
    for k in 0..<source.count {
      let axis = target.count - 1 - k
      let extent = source[source.count - 1 - k]
      strides[axis] = extent == 1 ? 0 : stride
      stride *= extent
    }
    self.strides = strides
    self.shape = target
  }

  /// Calls `body(targetIndex, sourceIndex)` for every element of the target, in order.
  func forEach(_ body: (Int, Int) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    var counter = [Int](repeating: 0, count: shape.count)
    var source = 0
    for index in 0..<count {
      body(index, source)
      var axis = shape.count - 1
      while axis >= 0 {
        counter[axis] += 1
        source += strides[axis]
        if counter[axis] < shape[axis] { break }
        source -= strides[axis] * counter[axis]
        counter[axis] = 0
        axis -= 1
      }
    }
  }
}
