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
    let problem = problem.weighingRows(target: target, classWeights: classWeights)
      .resolvingEmptyMean(target: target, classWeights: classWeights)
    // Sample weights and upstream gradients: the classes-last kernels (fp32, Float16, and
    // Double without weighted smoothing); the spatial layout takes the reference.
    let rowScaled = problem.rowScales != nil
    if !problem.hasLogitOptions, problem.layout.inner > 1, !rowScaled {
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
      if Scalar.self == Double.self, !problem.hasLogitOptions, case .labels(let labels) = target,
        !rowScaled
          || FusedSoftmaxDouble.takesRowScales(problem, weighted: classWeights != nil)
      {
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
    // Sample weights and upstream gradients: the classes-last kernel, else the fp32 copies.
    let problem = problem.weighingRows(
      target: SoftmaxTarget<Float>.labels(labels), classWeights: classWeights
    ).resolvingEmptyMean(target: SoftmaxTarget<Float>.labels(labels), classWeights: classWeights)
    if !problem.hasLogitOptions, problem.layout.inner > 1, problem.rowScales == nil {
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

  /// Reinterprets a pointer to `T` as one to `U`, where the caller has checked that they are the
  /// same type (a generic `Scalar` that is `Float`, say). The one place that casts pointers.
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
  /// The outputs of an array form: allocates the loss (shaped `lossShape`) and, when there is a
  /// `gradientShape`, the gradient, without initialising them; `body` (a validated core, which
  /// writes every element unless it throws) fills them over buffers; returns them as arrays.
  static func outputs<Scalar, E: Error>(
    lossShape: [Int], gradientShape: [Int]?,
    _ body: (UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>?) throws(E)
      -> Void
  ) throws(E) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let lossCount = lossShape.reduce(1, *)
    var failure: E? = nil
    func fill(
      _ loss: UnsafeMutableBufferPointer<Scalar>, _ gradient: UnsafeMutableBufferPointer<Scalar>?
    ) -> Bool {
      do throws(E) {
        try body(loss, gradient)
        return true
      } catch {
        failure = error
        return false
      }
    }
    var gradient: [Scalar]? = nil
    let loss = [Scalar](unsafeUninitializedCapacity: lossCount) { lossBuffer, lossInitialized in
      var filled = false
      if let gradientShape {
        let gradientCount = gradientShape.reduce(1, *)
        gradient = [Scalar](unsafeUninitializedCapacity: gradientCount) { g, initialized in
          filled = fill(lossBuffer, g)
          initialized = filled ? gradientCount : 0
        }
      } else {
        filled = fill(lossBuffer, nil)
      }
      lossInitialized = filled ? lossCount : 0
    }
    if let failure { throw failure }
    return (
      ShapedArray(uncheckedShape: lossShape, scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: gradientShape!, scalars: $0) }
    )
  }
}
