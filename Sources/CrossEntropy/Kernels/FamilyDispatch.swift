/// The fast paths of the wider family: fp32 problems with options the fused kernels evaluate go
/// to them; everything else (Double, Float16, other layouts or options) returns nil and the
/// caller takes the reference kernel, which remains the definition.
extension Kernels {
  /// The fused sigmoid focal loss for fp32 with whole `gamma` in 0...4, else nil.
  static func sigmoidFocal<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, targets: ShapedArray<Scalar>, alpha: Double, gamma: Double,
    reduction: Reduction, wantsGradient: Bool
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?)? {
    let count = logits.scalars.count
    guard Scalar.self == Float.self, count > 0, FusedSigmoidFocal.supports(gamma: gamma) else {
      return nil
    }
    let x = unsafeBitCast(logits.scalars, to: [Float].self)
    let y = unsafeBitCast(targets.scalars, to: [Float].self)
    let lossCount = reduction == .none ? count : 1
    var gradient: [Float]? = nil
    let loss = [Float](unsafeUninitializedCapacity: lossCount) { lossBuffer, lossInitialized in
      let lossPointer = lossBuffer.baseAddress!
      x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
          let run = { (g: UnsafeMutablePointer<Float>?) in
            FusedSigmoidFocal.run(
              logits: xb.baseAddress!, targets: yb.baseAddress!, count: count, alpha: alpha,
              gamma: gamma, reduction: reduction, loss: lossPointer, gradient: g)
          }
          if wantsGradient {
            gradient = [Float](unsafeUninitializedCapacity: count) { g, initialized in
              run(g.baseAddress!)
              initialized = count
            }
          } else {
            run(nil)
          }
        }
      }
      lossInitialized = lossCount
    }
    return (
      ShapedArray(
        uncheckedShape: reduction == .none ? logits.shape : [],
        scalars: unsafeBitCast(loss, to: [Scalar].self)),
      gradient.map {
        ShapedArray(uncheckedShape: logits.shape, scalars: unsafeBitCast($0, to: [Scalar].self))
      }
    )
  }

  /// The fused softmax focal loss for fp32 with classes on the last axis, else nil.
  static func softmaxFocal<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, alpha: [Double]?, layout: ClassLayout,
    ignoreIndex: Int, gamma: Double, reduction: Reduction, wantsGradient: Bool
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?)? {
    guard Scalar.self == Float.self, layout.inner == 1, layout.rows > 0 else { return nil }
    let x = unsafeBitCast(logits.scalars, to: [Float].self)
    let lossCount = reduction == .none ? layout.rows : 1
    var gradient: [Float]? = nil
    let loss = [Float](unsafeUninitializedCapacity: lossCount) { lossBuffer, lossInitialized in
      let lossPointer = lossBuffer.baseAddress!
      x.withUnsafeBufferPointer { xb in
        labels.scalars.withUnsafeBufferPointer { lb in
          (alpha ?? []).withUnsafeBufferPointer { wb in
            let run = { (g: UnsafeMutablePointer<Float>?) in
              FusedSoftmaxFocal.run(
                logits: xb.baseAddress!, labels: lb, alpha: alpha == nil ? nil : wb,
                classes: layout.classes, ignoreIndex: ignoreIndex, gamma: gamma,
                reduction: reduction, loss: lossPointer, gradient: g)
            }
            if wantsGradient {
              gradient = [Float](unsafeUninitializedCapacity: layout.count) { g, initialized in
                run(g.baseAddress!)
                initialized = layout.count
              }
            } else {
              run(nil)
            }
          }
        }
      }
      lossInitialized = lossCount
    }
    return (
      ShapedArray(
        uncheckedShape: reduction == .none ? layout.labelShape : [],
        scalars: unsafeBitCast(loss, to: [Scalar].self)),
      gradient.map {
        ShapedArray(uncheckedShape: layout.shape, scalars: unsafeBitCast($0, to: [Scalar].self))
      }
    )
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
    let lossCount = reduction == .none ? layout.rows : 1
    var gradient: [Float]? = nil
    let loss = [Float](unsafeUninitializedCapacity: lossCount) { lossBuffer, lossInitialized in
      let lossPointer = lossBuffer.baseAddress!
      s.withUnsafeBufferPointer { sb in
        t.withUnsafeBufferPointer { tb in
          (labels?.scalars ?? []).withUnsafeBufferPointer { lb in
            let run = { (g: UnsafeMutablePointer<Float>?) in
              FusedDistillation.run(
                student: sb.baseAddress!, teacher: tb.baseAddress!,
                labels: labels == nil ? nil : lb, rows: layout.rows, classes: layout.classes,
                temperature: temperature, hardLabelWeight: hardLabelWeight,
                ignoreIndex: ignoreIndex, reduction: reduction, loss: lossPointer,
                gradient: g)
            }
            if wantsGradient {
              gradient = [Float](unsafeUninitializedCapacity: layout.count) { g, initialized in
                run(g.baseAddress!)
                initialized = layout.count
              }
            } else {
              run(nil)
            }
          }
        }
      }
      lossInitialized = lossCount
    }
    return (
      ShapedArray(
        uncheckedShape: reduction == .none ? layout.labelShape : [],
        scalars: unsafeBitCast(loss, to: [Scalar].self)),
      gradient.map {
        ShapedArray(uncheckedShape: layout.shape, scalars: unsafeBitCast($0, to: [Scalar].self))
      }
    )
  }
}
