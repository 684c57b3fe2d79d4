import RealModule

extension Reference {
  /// Knowledge distillation, fused per row; see ``DistillationLoss``.
  static func distillation<Scalar: BinaryFloatingPoint>(
    student: [Scalar], teacher: [Scalar], labels: [Int]?, layout: ClassLayout,
    temperature: Double, hardLabelWeight: Double, ignoreIndex: Int, reduction: Reduction,
    wantsGradient: Bool
  ) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let classes = layout.classes
    var kept = layout.rows
    if let labels {
      kept = 0
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / Double(kept) : 1
    let gradientScale = elementwise ? 1 : scale
    let softWeight = (1 - hardLabelWeight) * temperature * temperature
    var losses = [Scalar](repeating: 0, count: elementwise ? layout.rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: layout.count) : nil
    var softStudent = [Double](repeating: 0, count: layout.scratchClasses)
    var softTeacher = [Double](repeating: 0, count: layout.scratchClasses)
    var raw = [Double](repeating: 0, count: hardLabelWeight != 0 ? classes : 0)
    var q = [Double](repeating: 0, count: layout.scratchClasses)
    var p = [Double](repeating: 0, count: layout.scratchClasses)
    var rawProbabilities = [Double](repeating: 0, count: raw.count)
    var total = 0.0

    for r in 0..<layout.rows {
      let label = labels?[r] ?? 0
      if labels != nil && label == ignoreIndex { continue }
      let base = layout.base(ofRow: r)
      for c in 0..<classes {
        let s = Double(student[base + c * layout.inner])
        softStudent[c] = s / temperature
        softTeacher[c] = Double(teacher[base + c * layout.inner]) / temperature
        if hardLabelWeight != 0 { raw[c] = s }
      }
      let lseStudent = softmax(softStudent, into: &q)
      let lseTeacher = softmax(softTeacher, into: &p)
      var kl = 0.0
      for c in 0..<classes where p[c] != 0 {
        kl += p[c] * ((softTeacher[c] - lseTeacher) - (softStudent[c] - lseStudent))
      }
      var value = hardLabelWeight == 1 ? 0 : softWeight * kl
      if hardLabelWeight != 0 {
        let lseRaw = softmax(raw, into: &rawProbabilities)
        value += hardLabelWeight * (lseRaw - raw[label])
      }
      if elementwise { losses[r] = Scalar(value) } else { total += value }
      if wantsGradient {
        let soft = (1 - hardLabelWeight) * temperature
        for c in 0..<classes {
          var g = soft * (q[c] - p[c])
          if hardLabelWeight != 0 {
            g += hardLabelWeight * (rawProbabilities[c] - (c == label ? 1 : 0))
          }
          gradient![base + c * layout.inner] = Scalar(g * gradientScale)
        }
      }
    }
    if !elementwise { losses[0] = Scalar(total * scale) }
    return (
      ShapedArray(uncheckedShape: elementwise ? layout.labelShape : [], scalars: losses),
      gradient.map { ShapedArray(uncheckedShape: layout.shape, scalars: $0) }
    )
  }
}
