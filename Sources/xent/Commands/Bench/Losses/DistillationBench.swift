import CrossEntropy

extension Bench {
  /// `xent bench --loss distillation`: ``DistillationLoss`` with `--temperature` and
  /// `--hard-label-weight`. The teacher is the student plus uniform noise in [-1, 1); the
  /// figures are per student logit.
  func distillationCall(
    _ problem: ComparisonProblem, _ data: inout SyntheticData
  ) throws -> TimedCall {
    let teacher = try ShapedArray<Float>(
      shape: problem.shape,
      scalars: problem.logits.scalars.map { $0 + Float(data.uniform(-1..<1, steps: 65536)) })
    let criterion = DistillationLoss(temperature: temperature, hardLabelWeight: hardLabelWeight)
    return { gradient in
      try problem.logits.withUnsafeBufferPointer { s in
        try teacher.withUnsafeBufferPointer { t in
          try problem.labels.withUnsafeBufferPointer { y in
            if gradient {
              try criterion.lossAndGradient(
                studentLogits: s, shape: problem.shape, teacherLogits: t, labels: y,
                loss: problem.loss, gradient: problem.gradient)
            } else {
              try criterion.loss(
                studentLogits: s, shape: problem.shape, teacherLogits: t, labels: y,
                into: problem.loss)
            }
          }
        }
      }
    }
  }
}
