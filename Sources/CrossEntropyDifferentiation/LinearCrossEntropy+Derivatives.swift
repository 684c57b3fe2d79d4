#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension LinearCrossEntropy {
    /// The reduced loss of a linear layer's output against class-index labels, differentiable with
    /// respect to the hidden states and the classifier.
    ///
    /// The value is that of `loss(hidden:weight:bias:labels:classWeights:)` without a bias. Under
    /// differentiation, one call of `lossAndGradient(hidden:weight:bias:labels:classWeights:)` (the
    /// chunked, fused pass that never holds the logits) computes the value and both gradients; the
    /// pullback multiplies them by its seed.
    ///
    /// ```swift
    /// let head = LinearCrossEntropy()
    /// let (dHidden, dWeight) = gradient(at: hidden, weight) { hidden, weight in
    ///   head.differentiableLoss(hidden: hidden, weight: weight, labels: labels)
    /// }
    /// ```
    ///
    /// The unreduced loss has no differentiable form: the fused pass gives the gradients of the sum
    /// of the per-row losses, which an upstream gradient per row cannot scale afterwards.
    ///
    /// - Parameters:
    ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
    ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
    ///   - labels: Class indices, shaped like `hidden` without its last axis.
    ///   - classWeights: Optional per-class weights, one per class.
    /// - Returns: The loss, for reduction `.mean` or `.sum`.
    /// - Precondition: The reduction is `.mean` or `.sum`, and the input is valid: this form traps,
    ///   with the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(N·D·V) time; at most `scratchLimit` bytes of logits besides O(V) per thread
    ///   and the gradients.
    @differentiable(reverse,wrt: (hidden, weight))
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, labels: ShapedArray<Int>,
      classWeights: [Scalar]? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "LinearCrossEntropy")
      return trappingOnError { () throws(LossError) in
        try loss(hidden: hidden, weight: weight, labels: labels, classWeights: classWeights)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(hidden:weight:labels:classWeights:), wrt: (hidden, weight))
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, labels: ShapedArray<Int>,
      classWeights: [Scalar]?
    ) -> (
      value: Scalar, pullback: (Scalar) -> (ShapedArray<Scalar>, ShapedArray<Scalar>)
    ) where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "LinearCrossEntropy")
      let result = trappingOnError { () throws(LossError) in
        try lossAndGradient(
          hidden: hidden, weight: weight, labels: labels, classWeights: classWeights)
      }
      let (hiddenGradient, weightGradient) = (result.hiddenGradient, result.weightGradient)
      return (
        result.loss.scalars[0],
        { (hiddenGradient.scaled(by: $0), weightGradient.scaled(by: $0)) }
      )
    }

    /// The reduced loss of a linear layer with a bias against class-index labels, differentiable
    /// with respect to the hidden states, the classifier and its bias.
    ///
    /// As ``differentiableLoss(hidden:weight:labels:classWeights:)``, with the logits `hidden ·
    /// weightᵀ + bias`.
    ///
    /// - Parameters:
    ///   - hidden: The hidden states, shape `[..., D]` (rank >= 1): one row of `D` per label.
    ///   - weight: The classifier, shape `[V, D]` (`nn.Linear`'s weight).
    ///   - bias: The classifier's bias, shape `[V]`.
    ///   - labels: Class indices, shaped like `hidden` without its last axis.
    ///   - classWeights: Optional per-class weights, one per class.
    /// - Returns: The loss, for reduction `.mean` or `.sum`.
    /// - Precondition: The reduction is `.mean` or `.sum`, and the input is valid.
    /// - Complexity: O(N·D·V) time; at most `scratchLimit` bytes of logits besides O(V) per thread
    ///   and the gradients.
    @differentiable(reverse,wrt: (hidden, weight, bias))
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>,
      labels: ShapedArray<Int>, classWeights: [Scalar]? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "LinearCrossEntropy")
      return trappingOnError { () throws(LossError) in
        try loss(
          hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
      }.scalars[0]
    }

    @derivative(
      of: differentiableLoss(hidden:weight:bias:labels:classWeights:), wrt: (hidden, weight, bias)
    )
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>,
      labels: ShapedArray<Int>, classWeights: [Scalar]?
    ) -> (
      value: Scalar,
      pullback: (Scalar) -> (ShapedArray<Scalar>, ShapedArray<Scalar>, ShapedArray<Scalar>)
    ) where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "LinearCrossEntropy")
      let result = trappingOnError { () throws(LossError) in
        try lossAndGradient(
          hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights)
      }
      let (hiddenGradient, weightGradient) = (result.hiddenGradient, result.weightGradient)
      let biasGradient = result.biasGradient!
      return (
        result.loss.scalars[0],
        {
          (
            hiddenGradient.scaled(by: $0), weightGradient.scaled(by: $0),
            biasGradient.scaled(by: $0)
          )
        }
      )
    }
  }
#endif
