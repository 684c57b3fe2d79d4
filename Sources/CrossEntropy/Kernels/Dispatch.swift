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
    Reference.softmaxCrossEntropy(
      logits: logits, target: target, classWeights: classWeights, problem: problem, loss: loss,
      gradient: gradient)
  }
}
