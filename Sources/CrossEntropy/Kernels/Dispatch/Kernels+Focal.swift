/// The fast paths of the focal losses: fp32 problems the fused kernels evaluate go to them;
/// everything else returns without a result and the caller takes the reference kernel, which
/// remains the definition.
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
}
