/// The fast paths of the wider family: fp32 problems with options the fused kernels evaluate go
/// to them; everything else (Double, Float16, other layouts or options) returns nil and the
/// caller takes the reference kernel, which remains the definition.
extension Kernels {
  /// The fused sigmoid focal loss for fp32 with a `gamma` the kernel evaluates: writes `loss`
  /// (one value per element for `.none`, else 1) and the gradient (which may be `logits`), and
  /// returns true; false, with nothing written, for other problems (the caller takes the
  /// reference).
  static func sigmoidFocal<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, count: Int, alpha: Double,
    gamma: Double, reduction: Reduction, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) -> Bool {
    guard Scalar.self == Float.self, count > 0, FusedSigmoidFocal.supports(gamma: gamma) else {
      return false
    }
    func float(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
      UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }
    func float(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> {
      UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }
    FusedSigmoidFocal.run(
      logits: float(logits), targets: float(targets), count: count, alpha: alpha, gamma: gamma,
      reduction: reduction, loss: float(loss.baseAddress!), gradient: gradient.map(float))
    return true
  }

  /// The fused softmax focal loss for fp32 with classes on the last axis, else nil.
  static func softmaxFocal<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, alpha: [Double]?, layout: ClassLayout,
    ignoreIndex: Int, gamma: Double, reduction: Reduction, wantsGradient: Bool
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?)? {
    guard Scalar.self == Float.self, layout.inner == 1, layout.rows > 0 else { return nil }
    let x = unsafeBitCast(logits.scalars, to: [Float].self)
    return fusedOutputs(
      lossShape: reduction == .none ? layout.labelShape : [], gradientShape: layout.shape,
      wantsGradient: wantsGradient
    ) { loss, gradient in
      x.withUnsafeBufferPointer { xb in
        labels.scalars.withUnsafeBufferPointer { lb in
          (alpha ?? []).withUnsafeBufferPointer { wb in
            FusedSoftmaxFocal.run(
              logits: xb.baseAddress!, labels: lb, alpha: alpha == nil ? nil : wb,
              classes: layout.classes, ignoreIndex: ignoreIndex, gamma: gamma,
              reduction: reduction, loss: loss, gradient: gradient)
          }
        }
      }
    }
  }

  /// The fused distillation loss for fp32 with classes on the last axis, else nil.
  static func distillation<Scalar: BinaryFloatingPoint>(
    student: ShapedArray<Scalar>, teacher: ShapedArray<Scalar>, labels: ShapedArray<Int>?,
    layout: ClassLayout, temperature: Double, hardLabelWeight: Double, ignoreIndex: Int,
    reduction: Reduction, wantsGradient: Bool
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?)? {
    guard Scalar.self == Float.self, layout.inner == 1, layout.rows > 0 else { return nil }
    let s = unsafeBitCast(student.scalars, to: [Float].self)
    let t = unsafeBitCast(teacher.scalars, to: [Float].self)
    return fusedOutputs(
      lossShape: reduction == .none ? layout.labelShape : [], gradientShape: layout.shape,
      wantsGradient: wantsGradient
    ) { loss, gradient in
      s.withUnsafeBufferPointer { sb in
        t.withUnsafeBufferPointer { tb in
          (labels?.scalars ?? []).withUnsafeBufferPointer { lb in
            FusedDistillation.run(
              student: sb.baseAddress!, teacher: tb.baseAddress!,
              labels: labels == nil ? nil : lb, rows: layout.rows, classes: layout.classes,
              temperature: temperature, hardLabelWeight: hardLabelWeight,
              ignoreIndex: ignoreIndex, reduction: reduction, loss: loss, gradient: gradient)
          }
        }
      }
    }
  }

  /// Allocates the loss and, when asked, the gradient without initialising them, lets `body`
  /// (a fused fp32 kernel, which writes every element) fill them, and returns them as arrays of
  /// `Scalar`, which the callers have checked is `Float`.
  private static func fusedOutputs<Scalar: BinaryFloatingPoint>(
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
