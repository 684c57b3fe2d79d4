import CrossEntropy

extension Bench {
  /// `xent bench --loss softmax-focal`: ``SoftmaxFocalLoss`` with `--gamma`, on the problem's
  /// random labels.
  func softmaxFocalCall(
    _ problem: ComparisonProblem, _ data: inout SyntheticData
  ) throws -> TimedCall {
    let criterion = SoftmaxFocalLoss(gamma: gamma)
    return { gradient in
      try problem.logits.withUnsafeBufferPointer { x in
        try problem.labels.withUnsafeBufferPointer { y in
          if gradient {
            try criterion.lossAndGradient(
              logits: x, shape: problem.shape, labels: y, loss: problem.loss,
              gradient: problem.gradient)
          } else {
            try criterion.loss(logits: x, shape: problem.shape, labels: y, into: problem.loss)
          }
        }
      }
    }
  }
}
