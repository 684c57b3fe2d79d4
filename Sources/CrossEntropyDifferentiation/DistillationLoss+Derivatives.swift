#if Differentiation
  import _Differentiation
  import CrossEntropy

  extension DistillationLoss {
    /// The reduced distillation loss of a student's logits against a teacher's, differentiable with
    /// respect to `studentLogits`.
    ///
    /// The value is that of `loss(studentLogits:teacherLogits:labels:)`. Under differentiation, one
    /// call of `lossAndGradient(studentLogits:teacherLogits:labels:)` computes the value and the
    /// gradient; the pullback multiplies the gradient by its seed.
    ///
    /// - Parameters:
    ///   - studentLogits: The student's raw scores, any rank >= 1, classes on the class axis.
    ///   - teacherLogits: The teacher's raw scores, shaped like `studentLogits` (not
    ///     differentiated).
    ///   - labels: Optional class indices for the hard-label term, shaped like `studentLogits`
    ///     without the class axis.
    /// - Returns: The loss, for a reduction other than `.none`.
    /// - Precondition: The reduction is not `.none`, and the input is valid: this form traps, with
    ///   the `LossError`'s message, where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: studentLogits)
    public func differentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
      labels: ShapedArray<Int>? = nil
    ) -> Scalar where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "DistillationLoss")
      return trappingOnError { () throws(LossError) in
        try loss(studentLogits: studentLogits, teacherLogits: teacherLogits, labels: labels)
      }.scalars[0]
    }

    @derivative(of: differentiableLoss(studentLogits:teacherLogits:labels:), wrt: studentLogits)
    @usableFromInline
    func vjpDifferentiableLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
      labels: ShapedArray<Int>?
    ) -> (value: Scalar, pullback: (Scalar) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      requireScalar(unreduced: reduction == .none, of: "DistillationLoss")
      return scalarDerivative(
        trappingOnError { () throws(LossError) in
          try lossAndGradient(
            studentLogits: studentLogits, teacherLogits: teacherLogits, labels: labels)
        })
    }

    /// The distillation loss of a student's logits against a teacher's without reduction,
    /// differentiable with respect to `studentLogits`.
    ///
    /// The value is that of `loss(studentLogits:teacherLogits:labels:)` with reduction `.none`,
    /// whatever the criterion's reduction is. Under differentiation, one fused pass computes the
    /// losses and the gradient of their sum; the pullback scales each row by its upstream gradient.
    ///
    /// - Parameters:
    ///   - studentLogits: The student's raw scores, any rank >= 1, classes on the class axis.
    ///   - teacherLogits: The teacher's raw scores, shaped like `studentLogits` (not
    ///     differentiated).
    ///   - labels: Optional class indices for the hard-label term, shaped like `studentLogits`
    ///     without the class axis.
    /// - Returns: One loss per row, shaped like `studentLogits` without the class axis.
    /// - Precondition: The input is valid: this form traps where the throwing form throws.
    /// - Complexity: O(n) in the number of elements of the input.
    @differentiable(reverse,wrt: studentLogits)
    public func differentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
      labels: ShapedArray<Int>? = nil
    ) -> ShapedArray<Scalar> where Scalar.TangentVector == Scalar {
      trappingOnError { () throws(LossError) in
        try unreduced.loss(
          studentLogits: studentLogits, teacherLogits: teacherLogits, labels: labels)
      }
    }

    @derivative(
      of: differentiableUnreducedLoss(studentLogits:teacherLogits:labels:), wrt: studentLogits
    )
    @usableFromInline
    func vjpDifferentiableUnreducedLoss<Scalar: BinaryFloatingPoint & Differentiable>(
      studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
      labels: ShapedArray<Int>?
    ) -> (value: ShapedArray<Scalar>, pullback: (ShapedArray<Scalar>) -> ShapedArray<Scalar>)
    where Scalar.TangentVector == Scalar {
      unreducedDerivative(
        trappingOnError { () throws(LossError) in
          try unreduced.lossAndGradient(
            studentLogits: studentLogits, teacherLogits: teacherLogits, labels: labels)
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
