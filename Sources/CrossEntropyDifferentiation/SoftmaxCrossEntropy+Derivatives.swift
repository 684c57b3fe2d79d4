#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension SoftmaxCrossEntropy {
    /// The reduced loss of logits against class-index labels, differentiable with respect to the
    /// logits.
    ///
    /// The value is that of `loss(logits:labels:classWeights:sampleWeights:)`. Under
    /// differentiation, one call of
    /// `lossAndGradient(logits:labels:classWeights:sampleWeights:upstreamGradient:)` (one fused
    /// pass over the logits) computes the value and the gradient; the pullback multiplies that
    /// gradient by its seed (nothing to do for the seed 1 of `gradient(at:of:)`).
    ///
    /// ```swift
    /// let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)
    /// let gradient = gradient(at: logits) { logits in
    ///   criterion.differentiableLoss(logits: logits, labels: labels)
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on `classAxis`.
    ///   - labels: Class indices, shaped like `logits` without the class axis.
    ///   - classWeights: Optional per-class weights, one per class.
    ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
    /// - Returns: The loss, for `reduction` `.mean` or `.sum`.
    /// - Precondition: The reduction is `.mean` or `.sum`, and the input is valid: this form traps,
    ///   with the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of logits.
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "SoftmaxCrossEntropy")
      return trappingOnError { () throws(LossError) in
        try loss(
          logits: logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:labels:classWeights:sampleWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]?,
      sampleWeights: ShapedArray<Scalar>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "SoftmaxCrossEntropy")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(
            logits: logits, labels: labels, classWeights: classWeights,
            sampleWeights: sampleWeights)
        })
    }

    /// The loss of logits against class-index labels without reduction (one loss per label),
    /// differentiable with respect to the logits.
    ///
    /// The value is that of `loss(logits:labels:classWeights:sampleWeights:)` with reduction
    /// `.none`, whatever `reduction` says. Under differentiation, one fused pass computes the
    /// losses and the gradient of their sum; the pullback multiplies each row of that gradient by
    /// its upstream gradient.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on `classAxis`.
    ///   - labels: Class indices, shaped like `logits` without the class axis.
    ///   - classWeights: Optional per-class weights, one per class.
    ///   - sampleWeights: Optional per-sample weights, shaped like `labels`.
    /// - Returns: One loss per label, shaped like `labels`.
    /// - Precondition: The input is valid (this form traps where the throwing form throws).
    /// - Complexity: O(n) in the number of logits.
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]? = nil,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(
          logits: logits, labels: labels, classWeights: classWeights, sampleWeights: sampleWeights)
      }
    }

    @derivative(
      of: differentiableUnreducedLoss(logits:labels:classWeights:sampleWeights:), wrt: logits
    )
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classWeights: [Scalar]?,
      sampleWeights: ShapedArray<Scalar>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            logits: logits, labels: labels, classWeights: classWeights,
            sampleWeights: sampleWeights)
        }, classAxis: classAxis)
    }

    /// The reduced loss of logits against probability targets, differentiable with respect to the
    /// logits.
    ///
    /// The value is that of `loss(logits:targets:classWeights:sampleWeights:)`; under
    /// differentiation one fused pass computes it and the gradient, as for
    /// ``differentiableLoss(logits:labels:classWeights:sampleWeights:)``.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on `classAxis`.
    ///   - targets: Target distributions, shaped like `logits` (not differentiated).
    ///   - classWeights: Optional per-class weights, one per class.
    ///   - sampleWeights: Optional per-sample weights, shaped like `logits` without the class axis.
    /// - Returns: The loss, for reduction `.mean` or `.sum`.
    /// - Precondition: The reduction is `.mean` or `.sum`, and the input is valid.
    /// - Complexity: O(n) in the number of logits.
    @differentiable(reverse,wrt: logits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]? = nil,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "SoftmaxCrossEntropy")
      return trappingOnError { () throws(LossError) in
        try loss(
          logits: logits, targets: targets, classWeights: classWeights,
          sampleWeights: sampleWeights)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(logits:targets:classWeights:sampleWeights:), wrt: logits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]?,
      sampleWeights: ShapedArray<Scalar>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "SoftmaxCrossEntropy")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(
            logits: logits, targets: targets, classWeights: classWeights,
            sampleWeights: sampleWeights)
        })
    }

    /// The loss of logits against probability targets without reduction (one loss per row),
    /// differentiable with respect to the logits.
    ///
    /// - Parameters:
    ///   - logits: Raw scores, any rank >= 1, classes on `classAxis`.
    ///   - targets: Target distributions, shaped like `logits` (not differentiated).
    ///   - classWeights: Optional per-class weights, one per class.
    ///   - sampleWeights: Optional per-sample weights, shaped like `logits` without the class axis.
    /// - Returns: One loss per row, shaped like `logits` without the class axis.
    /// - Precondition: The input is valid.
    /// - Complexity: O(n) in the number of logits.
    @differentiable(reverse,wrt: logits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]? = nil,
      sampleWeights: ShapedArray<Scalar>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(
          logits: logits, targets: targets, classWeights: classWeights,
          sampleWeights: sampleWeights)
      }
    }

    @derivative(
      of: differentiableUnreducedLoss(logits:targets:classWeights:sampleWeights:), wrt: logits
    )
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, classWeights: [Scalar]?,
      sampleWeights: ShapedArray<Scalar>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            logits: logits, targets: targets, classWeights: classWeights,
            sampleWeights: sampleWeights)
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
