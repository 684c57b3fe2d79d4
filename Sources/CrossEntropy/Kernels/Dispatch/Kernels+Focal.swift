extension Kernels {
  /// The sigmoid focal loss: the fused kernel for fp32 with a `gamma` it evaluates, else the
  /// reference. Writes `loss` (one value per element for `.none`, else 1) and, when not nil,
  /// the gradient (which may be `logits`); `scales` multiply each element's loss and gradient.
  /// `.mean` divides by the criterion's normaliser when it has one, else by `count`.
  static func sigmoidFocal<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, count: Int,
    criterion: SigmoidFocalLoss, scales: ElementScales? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    if Scalar.self == Float.self, count > 0, FusedSigmoidFocal.supports(gamma: criterion.gamma) {
      FusedSigmoidFocal.run(
        logits: cast(logits, to: Float.self), targets: cast(targets, to: Float.self),
        count: count, alpha: criterion.alpha, gamma: criterion.gamma,
        reduction: criterion.reduction, normalizer: criterion.normalizer,
        loss: cast(loss.baseAddress!, to: Float.self),
        gradient: gradient.map { cast($0, to: Float.self) }, scales: scales)
      return
    }
    guard criterion.reduction == .mean, let normalizer = criterion.normalizer else {
      Reference.sigmoidFocal(
        logits: logits, targets: targets, count: count, criterion: criterion, scales: scales,
        loss: loss, gradient: gradient)
      return
    }
    // The reference divides a mean by the element count: with a normaliser it sums, and the
    // loss and every derivative are divided by the normaliser here.
    var sum = criterion
    sum.reduction = .sum
    Reference.sigmoidFocal(
      logits: logits, targets: targets, count: count, criterion: sum, scales: scales,
      loss: loss, gradient: gradient)
    loss[0] = Scalar(Double(loss[0]) / normalizer)
    if let gradient {
      for i in 0..<count { gradient[i] = Scalar(Double(gradient[i]) / normalizer) }
    }
  }

  /// The softmax focal loss: the fused kernel for fp32 with classes on the last axis, else the
  /// reference. Writes `loss` (one value per row for `.none`, else 1) and, when not nil, the
  /// gradient (which may be `logits`).
  static func softmaxFocal<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, problem: SoftmaxFocalProblem,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let layout = problem.layout
    if Scalar.self == Float.self, layout.inner == 1, layout.rows > 0 {
      let criterion = problem.criterion
      let weights = classWeights.map { buffer in buffer.map { Double($0) } }
      (weights ?? []).withUnsafeBufferPointer { w in
        FusedSoftmaxFocal.run(
          logits: cast(logits, to: Float.self), labels: labels,
          alpha: weights == nil ? nil : w, classes: layout.classes,
          ignoreIndex: criterion.ignoreIndex, gamma: criterion.gamma,
          reduction: criterion.reduction, loss: cast(loss.baseAddress!, to: Float.self),
          gradient: gradient.map { cast($0, to: Float.self) }, mean: criterion.meanRule,
          rowScales: problem.rowScales)
      }
      return
    }
    Reference.softmaxFocal(
      logits: logits, labels: labels, classWeights: classWeights, problem: problem, loss: loss,
      gradient: gradient)
  }
}
