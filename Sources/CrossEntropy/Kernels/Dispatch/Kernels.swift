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
    if !problem.hasLogitOptions, problem.layout.inner > 1 {
      if layoutKernel(
        FusedSoftmaxSpatial.self, logits: logits, target: target, classWeights: classWeights,
        problem: problem, loss: loss, gradient: gradient)
      {
        return
      }
    }
    if problem.layout.inner == 1 {
      if layoutKernel(
        FusedSoftmax.self, logits: logits, target: target, classWeights: classWeights,
        problem: problem, loss: loss, gradient: gradient)
      {
        return
      }
      // Double: labels without the logit options (those stay on the reference in Double).
      if Scalar.self == Double.self, !problem.hasLogitOptions, case .labels(let labels) = target {
        FusedSoftmaxDouble.run(
          logits: cast(logits, to: Double.self), labels: labels,
          classWeights: classWeights.map { cast($0, to: Double.self) }, problem: problem,
          loss: cast(loss, to: Double.self), gradient: gradient.map { cast($0, to: Double.self) })
        return
      }
    }
    Reference.softmaxCrossEntropy(
      logits: logits, target: target, classWeights: classWeights, problem: problem, loss: loss,
      gradient: gradient)
  }

  /// Softmax cross-entropy of bfloat16 logits given as raw bits: the loss in fp32, the gradient
  /// (if any; it may be the logits) in bfloat16. Problems the fused kernel does not take go
  /// through fp32 copies and the generic dispatch.
  static func softmaxCrossEntropyBFloat16(
    logits: UnsafePointer<UInt16>,
    labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>,
    gradient: UnsafeMutablePointer<UInt16>?
  ) {
    if !problem.hasLogitOptions, problem.layout.inner > 1 {
      FusedSoftmaxSpatial.run(
        logits: logits, labels: labels, classWeights: classWeights, problem: problem, loss: loss,
        gradient: gradient, BFloat16Storage.self)
      return
    }
    if problem.layout.inner == 1 {
      FusedSoftmax.run(
        logits: logits, labels: labels, classWeights: classWeights, problem: problem, loss: loss,
        gradient: gradient, BFloat16Storage.self)
      return
    }
    let count = problem.layout.count
    var wide = (0..<count).map { BFloat16Storage.float(logits[$0]) }
    wide.withUnsafeMutableBufferPointer { buffer in
      softmaxCrossEntropy(
        logits: UnsafePointer(buffer.baseAddress!), target: .labels(labels),
        classWeights: classWeights, problem: problem, loss: loss,
        gradient: gradient == nil ? nil : buffer.baseAddress!)
    }
    if let gradient {
      for i in 0..<count { gradient[i] = BFloat16Storage.stored(wide[i]) }
    }
  }

  @inline(__always)
  static func cast<T, U>(_ p: UnsafePointer<T>, to: U.Type) -> UnsafePointer<U> {
    UnsafeRawPointer(p).assumingMemoryBound(to: U.self)
  }

  @inline(__always)
  static func cast<T, U>(_ p: UnsafeMutablePointer<T>, to: U.Type)
    -> UnsafeMutablePointer<U>
  {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: U.self)
  }

  @inline(__always)
  static func cast<T, U>(_ b: UnsafeBufferPointer<T>, to: U.Type) -> UnsafeBufferPointer<U> {
    UnsafeBufferPointer(start: b.baseAddress.map { cast($0, to: U.self) }, count: b.count)
  }

  @inline(__always)
  static func cast<T, U>(_ b: UnsafeMutableBufferPointer<T>, to: U.Type)
    -> UnsafeMutableBufferPointer<U>
  {
    UnsafeMutableBufferPointer(start: b.baseAddress.map { cast($0, to: U.self) }, count: b.count)
  }
}

extension Kernels {
  /// Allocates the loss and, when asked, the gradient without initialising them, lets `body`
  /// (a fused fp32 kernel, which writes every element) fill them, and returns them as arrays of
  /// `Scalar`, which the callers have checked is `Float`.
  static func fusedOutputs<Scalar: BinaryFloatingPoint>(
    lossShape: [Int], gradientShape: [Int], wantsGradient: Bool,
    _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?) -> Void
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    assert(Scalar.self == Float.self)
    let lossCount = lossShape.reduce(1, *)
    let gradientCount = gradientShape.reduce(1, *)
    var gradient: [Float]? = nil
    let loss = [Float](unsafeUninitializedCapacity: lossCount) { lossBuffer, lossInitialized in
      if wantsGradient {
        gradient = [Float](unsafeUninitializedCapacity: gradientCount) { g, initialized in
          body(lossBuffer.baseAddress!, g.baseAddress!)
          initialized = gradientCount
        }
      } else {
        body(lossBuffer.baseAddress!, nil)
      }
      lossInitialized = lossCount
    }
    return (
      ShapedArray(uncheckedShape: lossShape, scalars: unsafeBitCast(loss, to: [Scalar].self)),
      gradient.map {
        ShapedArray(uncheckedShape: gradientShape, scalars: unsafeBitCast($0, to: [Scalar].self))
      }
    )
  }
}
