#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension MeanSquaredError {
    /// The reduced squared error of predictions against targets, differentiable with respect to
    /// `predictions`.
    ///
    /// The value is that of `loss(predictions:targets:)`. Under differentiation, one call of
    /// `lossAndGradient(predictions:targets:)` computes the value and the gradient; the pullback
    /// multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - predictions: Predictions, any shape.
    ///   - targets: Targets, shaped like `predictions` (not differentiated).
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: predictions)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      predictions: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "MeanSquaredError")
      return trappingOnError { () throws(LossError) in
        try loss(predictions: predictions, targets: targets)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(predictions:targets:), wrt: predictions)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      predictions: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "MeanSquaredError")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(predictions: predictions, targets: targets)
        })
    }

    /// The squared error of predictions against targets without reduction, differentiable with
    /// respect to `predictions`.
    ///
    /// The value is that of `loss(predictions:targets:)` with reduction `.none`, whatever the
    /// criterion's reduction is. Under differentiation, one fused pass computes the losses and the
    /// gradient of their sum; the pullback scales each element by its upstream gradient.
    ///
    /// - Parameters:
    ///   - predictions: Predictions, any shape.
    ///   - targets: Targets, shaped like `predictions` (not differentiated).
    /// - Returns: One squared error per element, shaped like `predictions`.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: predictions)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      predictions: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(predictions: predictions, targets: targets)
      }
    }

    @derivative(of: differentiableUnreducedLoss(predictions:targets:), wrt: predictions)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      predictions: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(predictions: predictions, targets: targets)
        }, classAxis: nil)
    }

    /// This criterion with reduction `.none`.
    private var unreduced: Self {
      var criterion = self
      criterion.reduction = .none
      return criterion
    }
  }
#endif
