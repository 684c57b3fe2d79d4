#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension SigmoidFocalLoss {
    /// The reduced sigmoid focal loss of logits against binary targets, differentiable with respect
    /// to `logits`.
    ///
    /// The value is that of `loss(logits:targets:)`. Under differentiation, one call of
    /// `lossAndGradient(logits:targets:)` computes the value and the gradient; the pullback
    /// multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any shape.
    ///   - targets: Targets in [0, 1], shaped like `logits` (not differentiated).
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "SigmoidFocalLoss")
      return trappingOnError { () throws(LossError) in
        try loss(logits: logits, targets: targets)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:targets:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "SigmoidFocalLoss")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(logits: logits, targets: targets)
        })
    }

    /// The sigmoid focal loss of logits against binary targets without reduction, differentiable
    /// with respect to `logits`.
    ///
    /// The value is that of `loss(logits:targets:)` with reduction `.none`, whatever the
    /// criterion's reduction is. Under differentiation, one fused pass computes the losses and the
    /// gradient of their sum; the pullback scales each element by its upstream gradient.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any shape.
    ///   - targets: Targets in [0, 1], shaped like `logits` (not differentiated).
    /// - Returns: One loss per element, shaped like `logits`.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(logits: logits, targets: targets)
      }
    }

    @derivative(of: differentiableUnreducedLoss(logits:targets:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(logits: logits, targets: targets)
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
