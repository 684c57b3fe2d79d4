import RealModule

extension Reference {
  /// Knowledge distillation, fused per row; see ``DistillationLoss``. `loss` receives one value
  /// per row for `.none` (0 for ignored rows), else 1; `gradient`, if not nil, every element (0
  /// for ignored rows), each non-ignored row's times its factor in `rowScales` (the upstream
  /// gradient) when there is one. `gradient` may be `student` (each row is read whole before
  /// it is written). O(C) scratch.
  static func distillation<Scalar: BinaryFloatingPoint>(
    student: UnsafePointer<Scalar>, teacher: UnsafePointer<Scalar>,
    labels: UnsafeBufferPointer<Int>?, problem: DistillationProblem, rowScales: RowScales? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let layout = problem.layout
    let temperature = problem.criterion.temperature
    let hardLabelWeight = problem.criterion.hardLabelWeight
    let ignoreIndex = problem.criterion.ignoreIndex
    let reduction = problem.criterion.reduction
    let classes = layout.classes
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / problem.meanDenominator(labels) : 1
    let gradientScale = elementwise ? 1 : scale
    let softWeight = (1 - hardLabelWeight) * temperature * temperature
    var softStudent = [Double](repeating: 0, count: layout.scratchClasses)
    var softTeacher = [Double](repeating: 0, count: layout.scratchClasses)
    var raw = [Double](repeating: 0, count: hardLabelWeight != 0 ? classes : 0)
    var q = [Double](repeating: 0, count: layout.scratchClasses)
    var p = [Double](repeating: 0, count: layout.scratchClasses)
    var rawProbabilities = [Double](repeating: 0, count: raw.count)
    var total = 0.0

    for r in 0..<layout.rows {
      let label = labels?[r] ?? 0
      let base = layout.base(ofRow: r)
      if labels != nil && label == ignoreIndex {
        if elementwise { loss[r] = 0 }
        if let gradient {
          for c in 0..<classes { gradient[base + c * layout.inner] = 0 }
        }
        continue
      }
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
        kl +=
          p[c]
          * (lseTeacher.logProbability(softTeacher[c]) - lseStudent.logProbability(softStudent[c]))
      }
      var value = hardLabelWeight == 1 ? 0 : softWeight * kl
      if hardLabelWeight != 0 {
        let lseRaw = softmax(raw, into: &rawProbabilities)
        value -= hardLabelWeight * lseRaw.logProbability(raw[label])
      }
      if elementwise { loss[r] = Scalar(value) } else { total += value }
      if let gradient {
        let soft = (1 - hardLabelWeight) * temperature
        let gradientScale = rowScales.map { gradientScale * $0.gradientFactor(r) } ?? gradientScale
        for c in 0..<classes {
          var g = soft * (q[c] - p[c])
          if hardLabelWeight != 0 {
            g += hardLabelWeight * (rawProbabilities[c] - (c == label ? 1 : 0))
          }
          gradient[base + c * layout.inner] = Scalar(g * gradientScale)
        }
      }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }
}
