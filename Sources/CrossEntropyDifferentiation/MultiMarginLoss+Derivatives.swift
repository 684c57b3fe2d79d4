#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension MultiMarginLoss {
    /// The reduced multi-class hinge loss of scores against class-index labels, differentiable with
    /// respect to `logits`.
    ///
    /// The value is that of `loss(logits:labels:classWeights:)`. Under differentiation, one call of
    /// `lossAndGradient(logits:labels:classWeights:)` computes the value and the gradient; the
    /// pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - logits: Scores, shaped `(N, C)`, `(C)` or `()`.
    ///   - labels: Class indices, `(N)`, or `()` / `(1)` for a single sample.
    ///   - classWeights: Optional per-class weights, `C` of them.
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(N * C).
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "MultiMarginLoss")
      return trappingOnError { () throws(LossError) in
        try loss(logits: logits, labels: labels, classWeights: classWeights)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:labels:classWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "MultiMarginLoss")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(logits: logits, labels: labels, classWeights: classWeights)
        })
    }

    /// The multi-class hinge loss of scores against class-index labels without reduction,
    /// differentiable with respect to `logits`.
    ///
    /// The value is that of `loss(logits:labels:classWeights:)` with reduction `.none`, whatever
    /// the criterion's reduction is. Under differentiation, one fused pass computes the losses and
    /// the gradient of their sum; the pullback scales each row by its upstream gradient.
    ///
    /// - Parameters:
    ///   - logits: Scores, shaped `(N, C)`, `(C)` or `()`.
    ///   - labels: Class indices, `(N)`, or `()` / `(1)` for a single sample.
    ///   - classWeights: Optional per-class weights, `C` of them.
    /// - Returns: One loss per sample.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(N * C).
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(logits: logits, labels: labels, classWeights: classWeights)
      }
    }

    @derivative(of: differentiableUnreducedLoss(logits:labels:classWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(logits: logits, labels: labels, classWeights: classWeights)
        }, classAxis: -1)
    }

    /// This criterion with reduction `.none`.
    private var unreduced: Self {
      var criterion = self
      criterion.reduction = .none
      return criterion
    }
  }
#endif
