#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension PolyLoss {
    /// The reduced Poly-1 loss of logits against class-index labels, differentiable with respect to
    /// `logits`.
    ///
    /// The value is that of `loss(logits:labels:sampleWeights:)`. Under differentiation, one call
    /// of `lossAndGradient(logits:labels:sampleWeights:)` computes the value and the gradient; the
    /// pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on the class axis.
    ///   - labels: Class indices, shaped like `logits` without the class axis.
    ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "PolyLoss")
      return trappingOnError { () throws(LossError) in
        try loss(logits: logits, labels: labels, sampleWeights: sampleWeights)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:labels:sampleWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, sampleWeights: ShapedArray<Scalar>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "PolyLoss")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(logits: logits, labels: labels, sampleWeights: sampleWeights)
        })
    }

    /// The Poly-1 loss of logits against class-index labels without reduction, differentiable with
    /// respect to `logits`.
    ///
    /// The value is that of `loss(logits:labels:sampleWeights:)` with reduction `.none`, whatever
    /// the criterion's reduction is. Under differentiation, one fused pass computes the losses and
    /// the gradient of their sum; the pullback scales each row by its upstream gradient.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on the class axis.
    ///   - labels: Class indices, shaped like `logits` without the class axis.
    ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
    /// - Returns: One loss per label, shaped like `labels`.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(logits: logits, labels: labels, sampleWeights: sampleWeights)
      }
    }

    @derivative(of: differentiableUnreducedLoss(logits:labels:sampleWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, sampleWeights: ShapedArray<Scalar>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            logits: logits, labels: labels, sampleWeights: sampleWeights)
        }, classAxis: classAxis)
    }

    /// The reduced Poly-1 loss of logits against probability targets, differentiable with respect
    /// to `logits`.
    ///
    /// The value is that of `loss(logits:targets:sampleWeights:)`. Under differentiation, one call
    /// of `lossAndGradient(logits:targets:sampleWeights:)` computes the value and the gradient; the
    /// pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on the class axis.
    ///   - targets: Target distributions, shaped like `logits` (not differentiated).
    ///   - sampleWeights: Optional per-sample weights, shaped like `logits` without the class axis.
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "PolyLoss")
      return trappingOnError { () throws(LossError) in
        try loss(logits: logits, targets: targets, sampleWeights: sampleWeights)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:targets:sampleWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, sampleWeights: ShapedArray<Scalar>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "PolyLoss")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(logits: logits, targets: targets, sampleWeights: sampleWeights)
        })
    }

    /// The Poly-1 loss of logits against probability targets without reduction, differentiable with
    /// respect to `logits`.
    ///
    /// The value is that of `loss(logits:targets:sampleWeights:)` with reduction `.none`, whatever
    /// the criterion's reduction is. Under differentiation, one fused pass computes the losses and
    /// the gradient of their sum; the pullback scales each row by its upstream gradient.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on the class axis.
    ///   - targets: Target distributions, shaped like `logits` (not differentiated).
    ///   - sampleWeights: Optional per-sample weights, shaped like `logits` without the class axis.
    /// - Returns: One loss per row, shaped like `logits` without the class axis.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(logits: logits, targets: targets, sampleWeights: sampleWeights)
      }
    }

    @derivative(of: differentiableUnreducedLoss(logits:targets:sampleWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, sampleWeights: ShapedArray<Scalar>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            logits: logits, targets: targets, sampleWeights: sampleWeights)
        }, classAxis: classAxis)
    }

    /// This criterion with reduction `.none`.
    private var unreduced: Self {
      var criterion = self
      criterion.reduction = .none
      return criterion
    }
  }
#endif
