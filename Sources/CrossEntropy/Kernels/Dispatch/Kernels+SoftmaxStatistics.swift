extension Kernels {
  /// Softmax cross-entropy over class-index labels with the statistics of every row: the
  /// fused classes-last kernel computes them in its row passes (fp32 and Float16 without the
  /// soft cap); any other problem takes them from ``Reference`` in Double, before the loss (so
  /// that a gradient written over the logits cannot change them). The loss and gradient are
  /// those of ``softmaxCrossEntropy(logits:target:classWeights:problem:loss:gradient:)``.
  static func softmaxCrossEntropy<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>,
    labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?,
    statistics: UnsafeMutablePointer<RowStatistics>
  ) {
    var problem = problem
    if takesStatistics(Scalar.self, problem: problem) {
      problem.statistics = SoftmaxStatisticsOutput(rows: statistics)
    } else {
      Reference.softmaxStatistics(
        logits: logits, labels: labels, problem: problem, into: statistics)
    }
    softmaxCrossEntropy(
      logits: logits, target: .labels(labels), classWeights: classWeights, problem: problem,
      loss: loss, gradient: gradient)
  }

  /// bfloat16 softmax cross-entropy with the statistics of every row: the classes-last kernel
  /// without the soft cap computes them in its row passes; any other problem takes them from
  /// ``Reference`` on an fp32 copy of the logits (O(n) extra memory), before the loss. The loss
  /// and gradient are those of
  /// ``softmaxCrossEntropyBFloat16(logits:labels:classWeights:problem:loss:gradient:)``.
  static func softmaxCrossEntropyBFloat16(
    logits: UnsafePointer<UInt16>,
    labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>,
    gradient: UnsafeMutablePointer<UInt16>?,
    statistics: UnsafeMutablePointer<RowStatistics>
  ) {
    var problem = problem
    if problem.layout.inner == 1, problem.logitSoftCap == nil {
      problem.statistics = SoftmaxStatisticsOutput(rows: statistics)
    } else {
      let wide = (0..<problem.layout.count).map { BFloat16Storage.float(logits[$0]) }
      wide.withUnsafeBufferPointer { wide in
        Reference.softmaxStatistics(
          logits: startAddress(wide.baseAddress), labels: labels, problem: problem,
          into: statistics)
      }
    }
    softmaxCrossEntropyBFloat16(
      logits: logits, labels: labels, classWeights: classWeights, problem: problem, loss: loss,
      gradient: gradient)
  }

  /// Whether ``softmaxCrossEntropy(logits:target:classWeights:problem:loss:gradient:)`` sends
  /// a label problem to ``FusedSoftmax``'s row kernel (classes last, fp32 or Float16) without
  /// the soft cap, which is where the statistics are computed in the fused passes.
  static func takesStatistics<Scalar>(_: Scalar.Type, problem: SoftmaxProblem) -> Bool {
    guard problem.layout.inner == 1, problem.logitSoftCap == nil else { return false }
    if Scalar.self == Float.self { return true }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      if Scalar.self == Float16.self { return true }
    #endif
    return false
  }
}
