/// Everything a distillation kernel needs besides the data, validated: the criterion's options
/// and where the classes lie.
struct DistillationProblem: Sendable {
  /// The options (temperature, hard-label weight, reduction, ignore index).
  let criterion: DistillationLoss
  /// The layout of the student's (and the teacher's) logits.
  let layout: ClassLayout

  /// The number of rows that count: those whose label is not the ignore index, or every row
  /// when there are no labels.
  func keptRows(_ labels: UnsafeBufferPointer<Int>?) -> Int {
    guard let labels else { return layout.rows }
    var kept = 0
    for label in labels where label != criterion.ignoreIndex { kept += 1 }
    return kept
  }

  /// The denominator of `.mean`: the criterion's normaliser when it has one, else the number
  /// of rows that count.
  func meanDenominator(_ labels: UnsafeBufferPointer<Int>?) -> Double {
    criterion.normalizer ?? Double(keptRows(labels))
  }
}
