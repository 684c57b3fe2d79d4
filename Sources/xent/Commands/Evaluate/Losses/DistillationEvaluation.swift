import CrossEntropy

/// `--loss distillation`: ``DistillationLoss``, knowledge distillation: `--input` holds the
/// student's logits, `--teacher` the teacher's, `--target` the class indices (needed when
/// `--hard-label-weight` is not 0; for the ignore index otherwise). The mean is "batchmean":
/// `T² · KL(softmax(t / T) || softmax(s / T))` averaged over non-ignored rows, mixed with the
/// hard-label cross-entropy.
enum DistillationEvaluation: EvaluableLoss {
  static let name = "distillation"
  static let summary =
    "Knowledge distillation: (1 - w) T^2 KL(softmax(teacher/T) || softmax(x/T)) + w CE(x, y);"
    + " --input = student logits, --teacher = teacher logits, --target = class indices."
  static let options: Set<EvaluateOption> = [
    .reduction, .classAxis, .ignoreIndex, .teacher, .temperature, .hardLabelWeight,
    .normalizer, .upstreamGradient,
  ]

  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let options = request.options
    guard let teacherFile = options.teacher else {
      throw CLIError("\(name) needs --teacher T.npy, the teacher's logits (the input's shape)")
    }
    let criterion = DistillationLoss(
      temperature: options.temperature, hardLabelWeight: options.hardLabelWeight,
      reduction: try request.reduction(), classAxis: options.classAxis,
      ignoreIndex: options.ignoreIndex, normalizer: options.normalizer)
    let teacher = try request.floats(teacherFile, requireSameDType: true)
    let labels = try request.classLabels()
    let upstream = try request.upstreamGradient()
    let student = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(
          studentLogits: student, teacherLogits: teacher, labels: labels,
          upstreamGradient: upstream)
        : (
          try criterion.loss(studentLogits: student, teacherLogits: teacher, labels: labels),
          nil
        )
    }
  }
}
