#if Differentiation
  import _Differentiation
  import CrossEntropy

  // MARK: - Additive arithmetic

  /// Floating-point arrays add and subtract element by element, and a 0-dimensional array
  /// broadcasts against any shape.
  ///
  /// The additive identity ``zero`` is the 0-dimensional array `[0]`: differentiation starts sums
  /// of tangents from `.zero` before it knows any shape, so the identity has to add to an array of
  /// every shape. Adding it returns the other operand unchanged. Any other pair of arrays must have
  /// equal shapes, or one of them must be 0-dimensional (then its one value is added to or
  /// subtracted from every element of the other); other shapes trap, naming both. Equality stays
  /// the library's (shapes and elements), so `.zero` equals only a 0-dimensional zero, not a
  /// zero-filled array of another shape.
  ///
  /// ```swift
  /// let a = try ShapedArray<Double>(shape: [2], scalars: [1, 2])
  /// a + .zero          // [1, 2]
  /// a - a              // [0, 0]
  /// a + ShapedArray(scalar: 1)   // [2, 3]
  /// ```
  extension ShapedArray: AdditiveArithmetic where Scalar: BinaryFloatingPoint {
    /// The 0-dimensional array `[0]`, which adds to an array of any shape.
    public static var zero: ShapedArray { ShapedArray(scalar: 0) }

    /// The element-wise sum of two arrays of equal shapes, or of an array and a 0-dimensional
    /// array.
    ///
    /// - Complexity: O(n) in the number of elements.
    public static func + (lhs: ShapedArray, rhs: ShapedArray) -> ShapedArray {
      if rhs.isZeroScalar { return lhs }
      if lhs.isZeroScalar { return rhs }
      return combine(lhs, rhs, operation: "add", +)
    }

    /// The element-wise difference of two arrays of equal shapes, or of an array and a
    /// 0-dimensional array.
    ///
    /// - Complexity: O(n) in the number of elements.
    public static func - (lhs: ShapedArray, rhs: ShapedArray) -> ShapedArray {
      if rhs.isZeroScalar { return lhs }
      return combine(lhs, rhs, operation: "subtract", -)
    }

    /// Whether this is the 0-dimensional zero (``zero``, or any 0-dimensional `[0]`).
    private var isZeroScalar: Bool { rank == 0 && scalars[0] == 0 }

    private static func combine(
      _ lhs: ShapedArray, _ rhs: ShapedArray, operation: String,
      _ combine: (Scalar, Scalar) -> Scalar
    ) -> ShapedArray {
      if lhs.shape == rhs.shape {
        var result = lhs
        rhs.withUnsafeBufferPointer { right in
          result.withUnsafeMutableBufferPointer { out in
            for index in out.indices { out[index] = combine(out[index], right[index]) }
          }
        }
        return result
      }
      if rhs.rank == 0 {
        let right = rhs.scalars[0]
        return lhs.mapElements { combine($0, right) }
      }
      if lhs.rank == 0 {
        let left = lhs.scalars[0]
        return rhs.mapElements { combine(left, $0) }
      }
      fatalError(
        "cannot \(operation) arrays of shapes \(lhs.shape) and \(rhs.shape):"
          + " the shapes must be equal or one array 0-dimensional")
    }
  }

  // MARK: - Differentiable

  /// An array of `Float` or `Double` is a differentiable value whose tangent vector is an array of
  /// the same shape (or the broadcasting ``zero``).
  ///
  /// ```swift
  /// let logits = try ShapedArray<Double>(shape: [2, 3], scalars: [1, 2, 3, 1, 0, -1])
  /// let labels = try ShapedArray<Int>(shape: [2], scalars: [2, 0])
  /// let gradient = gradient(at: logits) { logits in
  ///   SoftmaxCrossEntropy().differentiableLoss(logits: logits, labels: labels)
  /// }
  /// ```
  extension ShapedArray: Differentiable
  where Scalar: BinaryFloatingPoint & Differentiable, Scalar.TangentVector == Scalar {
    /// An array is its own tangent vector.
    public typealias TangentVector = ShapedArray

    /// Adds `offset` to the elements; `offset` must have this array's shape or be 0-dimensional, so
    /// that the shape never changes.
    ///
    /// - Parameter offset: The tangent to move by.
    public mutating func move(by offset: ShapedArray) {
      guard offset.rank == 0 || offset.shape == shape else {
        fatalError(
          "cannot move an array of shape \(shape) by a tangent of shape \(offset.shape)")
      }
      self = self + offset
    }
  }

  // MARK: - Helpers of the pullbacks

  extension ShapedArray where Scalar: BinaryFloatingPoint {
    /// The array with `transform` applied to every element.
    func mapElements(_ transform: (Scalar) -> Scalar) -> ShapedArray {
      var result = self
      result.withUnsafeMutableBufferPointer { out in
        for index in out.indices { out[index] = transform(out[index]) }
      }
      return result
    }

    /// The array times `factor`; itself, without a copy, when `factor` is 1.
    func scaled(by factor: Scalar) -> ShapedArray {
      factor == 1 ? self : mapElements { $0 * factor }
    }

    /// A gradient of per-row losses, shaped like the input with its classes on `classAxis` (one
    /// loss per row: the input's shape without that axis, `lossShape`), with each row times its
    /// upstream gradient (all rows times a 0-dimensional `upstream`).
    ///
    /// With `classAxis` nil every element is its own row.
    func scalingRows(by upstream: ShapedArray, lossShape: [Int], classAxis: Int?)
      -> ShapedArray
    {
      if upstream.rank == 0 && lossShape != [] { return scaled(by: upstream.scalars[0]) }
      guard upstream.shape == lossShape else {
        fatalError(
          "the upstream gradient of the unreduced loss has shape \(upstream.shape);"
            + " expected the loss's shape \(lossShape)")
      }
      var axis = classAxis ?? 0
      if axis < 0 { axis += rank }
      let classes = classAxis == nil || rank == 0 ? 1 : shape[axis]
      let inner = classAxis == nil || rank == 0 ? 1 : shape[(axis + 1)...].reduce(1, *)
      precondition(upstream.scalars.count * classes == scalars.count)
      var result = self
      upstream.withUnsafeBufferPointer { upstream in
        result.withUnsafeMutableBufferPointer { out in
          for row in upstream.indices {
            let (outer, offset) = row.quotientAndRemainder(dividingBy: inner)
            let start = outer * classes * inner + offset
            for index in stride(from: start, to: start + classes * inner, by: inner) {
              out[index] *= upstream[row]
            }
          }
        }
      }
      return result
    }
  }

  /// The value of `body`, or a trap with the message of the ``LossError`` it throws.
  ///
  /// Differentiable functions cannot throw, so the differentiable forms of the losses trap on the
  /// input that the throwing forms reject.
  func trappingOnError<T>(_ body: () throws(LossError) -> T) -> T {
    do {
      return try body()
    } catch {
      fatalError("\(error)")
    }
  }

  /// The value and pullback of a reduced loss from its loss and gradient: the pullback scales the
  /// gradient by its seed.
  func scalarDerivative<Scalar: BinaryFloatingPoint>(
    _ result: (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>)
  ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>) {
    let gradient = result.gradient
    return (result.loss.scalars[0], { gradient.scaled(by: $0) })
  }

  /// The value and pullback of an unreduced loss from its losses and the gradient of their sum: the
  /// pullback scales each row of the gradient (each element when `classAxis` is nil) by its
  /// upstream gradient.
  func unreducedDerivative<Scalar: BinaryFloatingPoint>(
    _ result: (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>), classAxis: Int?
  ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>) {
    let (loss, gradient) = result
    guard classAxis != nil || loss.shape == gradient.shape else {
      fatalError(
        "the unreduced loss has shape \(loss.shape) but its input \(gradient.shape): its"
          + " derivative needs one loss per input element (targets that broadcast the input to"
          + " a larger shape are not supported)")
    }
    return (
      loss, { gradient.scalingRows(by: $0, lossShape: loss.shape, classAxis: classAxis) }
    )
  }

  /// Traps when the reduction is `.none`: the scalar forms need a reduction to one value.
  func requireScalar(unreduced: Bool, of loss: String) {
    guard !unreduced else {
      fatalError(
        "\(loss).differentiableLoss needs a reduction to one value, not .none;"
          + " use differentiableUnreducedLoss for one loss per element")
    }
  }
#endif
