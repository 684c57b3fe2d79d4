/// The single entry point from the public API into the kernels. It picks the fastest path that
/// handles the problem exactly; the reference path handles everything.
enum Kernels {
  static func softmaxCrossEntropy<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>,
    target: SoftmaxTarget<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    if Scalar.self == Float.self, !problem.needsReference, problem.layout.inner == 1,
      case .labels(let labels) = target
    {
      FusedSoftmax.run(
        logits: UnsafeRawPointer(logits).assumingMemoryBound(to: Float.self), labels: labels,
        classWeights: classWeights.map {
          UnsafeBufferPointer(
            start: UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: Float.self),
            count: $0.count)
        },
        problem: problem,
        loss: UnsafeMutableBufferPointer(
          start: UnsafeMutableRawPointer(loss.baseAddress)?.assumingMemoryBound(to: Float.self),
          count: loss.count),
        gradient: UnsafeMutableRawPointer(gradient)?.assumingMemoryBound(to: Float.self))
      return
    }
    Reference.softmaxCrossEntropy(
      logits: logits, target: target, classWeights: classWeights, problem: problem, loss: loss,
      gradient: gradient)
  }
}
