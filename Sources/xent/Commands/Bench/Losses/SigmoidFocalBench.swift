import CrossEntropy

extension Bench {
  /// `xent bench --loss sigmoid-focal`: ``SigmoidFocalLoss`` with `--gamma`, on random 0/1
  /// targets shaped like the logits.
  func sigmoidFocalCall(
    _ problem: ComparisonProblem, _ data: inout SyntheticData
  ) throws -> TimedCall {
    let targets = try ShapedArray<Float>(
      shape: problem.shape,
      scalars: (0..<problem.logits.scalars.count).map { _ in Float(data.binaryTarget()) })
    let criterion = SigmoidFocalLoss(gamma: gamma)
    return { gradient in
      try problem.logits.withUnsafeBufferPointer { x in
        try targets.withUnsafeBufferPointer { y in
          if gradient {
            try criterion.lossAndGradient(
              logits: x, shape: problem.shape, targets: y, loss: problem.loss,
              gradient: problem.gradient)
          } else {
            try criterion.loss(logits: x, shape: problem.shape, targets: y, into: problem.loss)
          }
        }
      }
    }
  }
}
