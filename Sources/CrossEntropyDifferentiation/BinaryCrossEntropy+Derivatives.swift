#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension BinaryCrossEntropy {
    /// The reduced binary cross-entropy of logits against targets, differentiable with respect to
    /// `logits`.
    ///
    /// The value is that of `loss(logits:targets:weight:positiveWeight:)`. Under differentiation,
    /// one call of `lossAndGradient(logits:targets:weight:positiveWeight:)` computes the value and
    /// the gradient; the pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any shape.
    ///   - targets: Targets in [0, 1], shaped like `logits` (not differentiated).
    ///   - weight: Optional weights that broadcast against `logits`.
    ///   - positiveWeight: Optional weights of the positive term that broadcast against `logits`.
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>? = nil,
      positiveWeight: ShapedArray<Scalar>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "BinaryCrossEntropy")
      return trappingOnError { () throws(LossError) in
        try loss(logits: logits, targets: targets, weight: weight, positiveWeight: positiveWeight)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:targets:weight:positiveWeight:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>?,
      positiveWeight: ShapedArray<Scalar>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "BinaryCrossEntropy")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(
            logits: logits, targets: targets, weight: weight, positiveWeight: positiveWeight)
        })
    }

    /// The binary cross-entropy of logits against targets without reduction, differentiable with
    /// respect to `logits`.
    ///
    /// The value is that of `loss(logits:targets:weight:positiveWeight:)` with reduction `.none`,
    /// whatever the criterion's reduction is. Under differentiation, one fused pass computes the
    /// losses and the gradient of their sum; the pullback scales each element by its upstream
    /// gradient.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any shape.
    ///   - targets: Targets in [0, 1], shaped like `logits` (not differentiated).
    ///   - weight: Optional weights that broadcast against `logits`.
    ///   - positiveWeight: Optional weights of the positive term that broadcast against `logits`.
    /// - Returns: One loss per element, shaped like `logits`.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>? = nil,
      positiveWeight: ShapedArray<Scalar>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(
          logits: logits, targets: targets, weight: weight, positiveWeight: positiveWeight)
      }
    }

    @derivative(of: differentiableUnreducedLoss(logits:targets:weight:positiveWeight:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>?,
      positiveWeight: ShapedArray<Scalar>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            logits: logits, targets: targets, weight: weight, positiveWeight: positiveWeight)
        }, classAxis: nil)
    }

    /// The reduced binary cross-entropy of probabilities against targets, differentiable with
    /// respect to `probabilities`.
    ///
    /// The value is that of `loss(probabilities:targets:weight:)`. Under differentiation, one call
    /// of `lossAndGradient(probabilities:targets:weight:)` computes the value and the gradient; the
    /// pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - probabilities: Probabilities in [0, 1], any shape.
    ///   - targets: Targets in [0, 1], shaped like `probabilities` (not differentiated).
    ///   - weight: Optional weights that broadcast against `probabilities`.
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: probabilities)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
      weight: ShapedArray<Scalar>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "BinaryCrossEntropy")
      return trappingOnError { () throws(LossError) in
        try loss(probabilities: probabilities, targets: targets, weight: weight)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(probabilities:targets:weight:), wrt: probabilities)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "BinaryCrossEntropy")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(probabilities: probabilities, targets: targets, weight: weight)
        })
    }

    /// The binary cross-entropy of probabilities against targets without reduction, differentiable
    /// with respect to `probabilities`.
    ///
    /// The value is that of `loss(probabilities:targets:weight:)` with reduction `.none`, whatever
    /// the criterion's reduction is. Under differentiation, one fused pass computes the losses and
    /// the gradient of their sum; the pullback scales each element by its upstream gradient.
    ///
    /// - Parameters:
    ///   - probabilities: Probabilities in [0, 1], any shape.
    ///   - targets: Targets in [0, 1], shaped like `probabilities` (not differentiated).
    ///   - weight: Optional weights that broadcast against `probabilities`.
    /// - Returns: One loss per element, shaped like `probabilities`.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: probabilities)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
      weight: ShapedArray<Scalar>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(probabilities: probabilities, targets: targets, weight: weight)
      }
    }

    @derivative(of: differentiableUnreducedLoss(probabilities:targets:weight:), wrt: probabilities)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      probabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, weight: ShapedArray<Scalar>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            probabilities: probabilities, targets: targets, weight: weight)
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
