extension Kernels {
  /// Runs ``FusedSoftmaxSpatial`` (a class axis with positions after it) on fp32 and Float16
  /// elements.
  ///
  /// - Returns: Whether the element type was one the kernel takes (else nothing was done).
  static func spatialSoftmaxCrossEntropy<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>,
    target: SoftmaxTarget<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) -> Bool {
    if Scalar.self == Float.self {
      let x = rebound(logits, to: Float.self)
      let w = classWeights.map {
        UnsafeBufferPointer(
          start: $0.baseAddress.map { rebound($0, to: Float.self) }, count: $0.count)
      }
      let l = UnsafeMutableBufferPointer(
        start: loss.baseAddress.map { rebound($0, to: Float.self) }, count: loss.count)
      let g = gradient.map { rebound($0, to: Float.self) }
      switch target {
      case .labels(let labels):
        FusedSoftmaxSpatial.run(
          logits: x, labels: labels, classWeights: w, problem: problem, loss: l, gradient: g,
          FloatStorage.self)
      case .probabilities(let targets):
        FusedSoftmaxSpatial.runProbabilities(
          logits: x, targets: rebound(targets.baseAddress!, to: Float.self), classWeights: w,
          problem: problem, loss: l, gradient: g, FloatStorage.self)
      }
      return true
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      if Scalar.self == Float16.self {
        let weights = classWeights.map { $0.map { Float($0) } }
        var lossFloat = [Float](repeating: 0, count: loss.count)
        let x = rebound(logits, to: Float16.self)
        let g = gradient.map { rebound($0, to: Float16.self) }
        withOptionalBuffer(weights) { w in
          lossFloat.withUnsafeMutableBufferPointer { l in
            switch target {
            case .labels(let labels):
              FusedSoftmaxSpatial.run(
                logits: x, labels: labels, classWeights: w, problem: problem, loss: l,
                gradient: g, HalfStorage.self)
            case .probabilities(let targets):
              FusedSoftmaxSpatial.runProbabilities(
                logits: x, targets: rebound(targets.baseAddress!, to: Float16.self),
                classWeights: w, problem: problem, loss: l, gradient: g, HalfStorage.self)
            }
          }
        }
        for i in loss.indices { loss[i] = Scalar(lossFloat[i]) }
        return true
      }
    #endif
    return false
  }

  @inline(__always)
  private static func rebound<T, U>(_ p: UnsafePointer<T>, to: U.Type) -> UnsafePointer<U> {
    UnsafeRawPointer(p).assumingMemoryBound(to: U.self)
  }

  @inline(__always)
  private static func rebound<T, U>(_ p: UnsafeMutablePointer<T>, to: U.Type)
    -> UnsafeMutablePointer<U>
  {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: U.self)
  }
}
