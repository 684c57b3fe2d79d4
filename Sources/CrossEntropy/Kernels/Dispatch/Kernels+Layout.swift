/// A fused softmax cross-entropy kernel for one layout of the class axis: ``FusedSoftmax``
/// (classes last) or ``FusedSoftmaxSpatial`` (positions after the classes). Both take elements
/// of any ``KernelStorage`` type with fp32 arithmetic, fp32 class weights and an fp32 loss; the
/// gradient (which may be the logits) is of the element type.
///
/// ``Kernels/layoutKernel(_:logits:target:classWeights:problem:loss:gradient:)`` is the one
/// place that wraps them for the public element types; it is generic over the kernel and
/// specialised at both call sites, so the kernels' own entry points are called directly.
protocol SoftmaxLayoutKernel {
  /// Class-index labels, with the reduction. `gradient` may be `logits`.
  static func run<E: KernelStorage>(
    logits: UnsafePointer<E.Stored>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?,
    _: E.Type)

  /// Probability targets laid out like the logits, with the reduction. `gradient` may be
  /// `logits`.
  static func runProbabilities<E: KernelStorage>(
    logits: UnsafePointer<E.Stored>, targets: UnsafePointer<E.Stored>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?,
    _: E.Type)
}

extension FusedSoftmax: SoftmaxLayoutKernel {}
extension FusedSoftmaxSpatial: SoftmaxLayoutKernel {}

extension Kernels {
  /// Runs the layout kernel `K` on fp32 elements (in place) or Float16 elements (the class
  /// weights converted to fp32, the loss computed in an fp32 buffer and then rounded).
  ///
  /// - Returns: Whether the element type was one the kernel takes (else nothing was done).
  @inline(__always)
  static func layoutKernel<K: SoftmaxLayoutKernel, Scalar: BinaryFloatingPoint>(
    _: K.Type,
    logits: UnsafePointer<Scalar>,
    target: SoftmaxTarget<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) -> Bool {
    if Scalar.self == Float.self {
      runLayoutKernel(
        K.self, FloatStorage.self, logits: cast(logits, to: Float.self), target: target,
        classWeights: classWeights.map { cast($0, to: Float.self) }, problem: problem,
        loss: cast(loss, to: Float.self), gradient: gradient.map { cast($0, to: Float.self) })
      return true
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      if Scalar.self == Float16.self {
        // No closure here: one would capture `K` and call it through its witness table.
        let staging = FloatStaging(classWeights: classWeights, lossCount: loss.count)
        runLayoutKernel(
          K.self, HalfStorage.self, logits: cast(logits, to: Float16.self), target: target,
          classWeights: staging.weights.map { UnsafeBufferPointer($0) }, problem: problem,
          loss: staging.loss, gradient: gradient.map { cast($0, to: Float16.self) })
        staging.finish(into: loss)
        return true
      }
    #endif
    return false
  }

  /// The labels/probabilities switch into `K` for elements stored as `E`.
  @inline(__always)
  private static func runLayoutKernel<K: SoftmaxLayoutKernel, E: KernelStorage, Scalar>(
    _: K.Type, _: E.Type, logits: UnsafePointer<E.Stored>, target: SoftmaxTarget<Scalar>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutablePointer<E.Stored>?
  ) {
    switch target {
    case .labels(let labels):
      K.run(
        logits: logits, labels: labels, classWeights: classWeights, problem: problem, loss: loss,
        gradient: gradient, E.self)
    case .probabilities(let targets):
      K.runProbabilities(
        logits: logits, targets: cast(targets.baseAddress!, to: E.Stored.self),
        classWeights: classWeights, problem: problem, loss: loss, gradient: gradient, E.self)
    }
  }
}

/// The fp32 buffers a Float16 problem runs on: the class weights converted to fp32 and the
/// loss, allocated by `init` and released by ``finish(into:)``, which rounds the loss into the
/// caller's buffer. Generic over the element type only, so that the conversions stay out of the
/// kernel-specific code.
private struct FloatStaging {
  let weights: UnsafeMutableBufferPointer<Float>?
  let loss: UnsafeMutableBufferPointer<Float>

  @inline(never)
  init<Scalar: BinaryFloatingPoint>(classWeights: UnsafeBufferPointer<Scalar>?, lossCount: Int) {
    if let classWeights {
      let weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: classWeights.count)
      for i in classWeights.indices { weights[i] = Float(classWeights[i]) }
      self.weights = weights
    } else {
      self.weights = nil
    }
    loss = .allocate(capacity: lossCount)
    loss.initialize(repeating: 0)
  }

  @inline(never)
  func finish<Scalar: BinaryFloatingPoint>(into loss: UnsafeMutableBufferPointer<Scalar>) {
    for i in loss.indices { loss[i] = Scalar(self.loss[i]) }
    self.loss.deallocate()
    weights?.deallocate()
  }
}
