extension Kernels {
  /// The distillation loss: the fused kernel for fp32 with classes on the last axis, else the
  /// reference. Writes `loss` (one value per row for `.none`, else 1) and, when not nil, the
  /// gradient (which may be `student`), each row's times its factor in `rowScales` (the
  /// upstream gradient) when there is one.
  static func distillation<Scalar: BinaryFloatingPoint>(
    student: UnsafePointer<Scalar>, teacher: UnsafePointer<Scalar>,
    labels: UnsafeBufferPointer<Int>?, problem: DistillationProblem, rowScales: RowScales? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let layout = problem.layout
    if Scalar.self == Float.self, layout.inner == 1, layout.rows > 0 {
      let criterion = problem.criterion
      FusedDistillation.run(
        student: cast(student, to: Float.self), teacher: cast(teacher, to: Float.self),
        labels: labels, rows: layout.rows, classes: layout.classes,
        temperature: criterion.temperature, hardLabelWeight: criterion.hardLabelWeight,
        ignoreIndex: criterion.ignoreIndex, reduction: criterion.reduction,
        normalizer: criterion.normalizer, loss: cast(loss.baseAddress!, to: Float.self),
        gradient: gradient.map { cast($0, to: Float.self) }, rowScales: rowScales)
      return
    }
    Reference.distillation(
      student: student, teacher: teacher, labels: labels, problem: problem, rowScales: rowScales,
      loss: loss, gradient: gradient)
  }
}
