#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension KLDivergence {
    /// The reduced Kullback-Leibler divergence of log-probabilities from targets, differentiable
    /// with respect to `logProbabilities`.
    ///
    /// The value is that of `loss(logProbabilities:targets:)`. Under differentiation, one call of
    /// `lossAndGradient(logProbabilities:targets:)` computes the value and the gradient; the
    /// pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - logProbabilities: Log-probabilities, any shape.
    ///   - targets: Probabilities (log-probabilities with `logTarget`), shaped like
    ///     `logProbabilities` or broadcasting to it (not differentiated).
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logProbabilities)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "KLDivergence")
      return trappingOnError { () throws(LossError) in
        try loss(logProbabilities: logProbabilities, targets: targets)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logProbabilities:targets:), wrt: logProbabilities)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "KLDivergence")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(logProbabilities: logProbabilities, targets: targets)
        })
    }

    /// The Kullback-Leibler divergence of log-probabilities from targets without reduction,
    /// differentiable with respect to `logProbabilities`.
    ///
    /// The value is that of `loss(logProbabilities:targets:)` with reduction `.none`, whatever the
    /// criterion's reduction is. Under differentiation, one fused pass computes the losses and the
    /// gradient of their sum; the pullback scales each element by its upstream gradient.
    ///
    /// - Parameters:
    ///   - logProbabilities: Log-probabilities, any shape.
    ///   - targets: Probabilities (log-probabilities with `logTarget`), shaped like
    ///     `logProbabilities` or broadcasting to it (not differentiated).
    /// - Returns: One term per element, shaped like `logProbabilities`.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: logProbabilities)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(logProbabilities: logProbabilities, targets: targets)
      }
    }

    @derivative(of: differentiableUnreducedLoss(logProbabilities:targets:), wrt: logProbabilities)
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logProbabilities: ShapedArray<Scalar>, targets: ShapedArray<Scalar>
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(logProbabilities: logProbabilities, targets: targets)
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
