/// The fast path of the distillation loss: fp32 with classes on the last axis goes to the fused
/// kernel; everything else returns nil and the caller takes the reference kernel.
extension Kernels {
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
}
