import RealModule

/// Everything the Poly-1 kernel needs besides the data, validated: the criterion's options and
/// where the classes lie.
struct PolyProblem: Sendable {
  /// The options (epsilon, reduction, ignore index).
  let criterion: PolyLoss
  /// The layout of the logits (and of probability targets).
  let layout: ClassLayout
  /// The sample weights and upstream gradient of the rows (nil: none).
  var rowScales: RowScales? = nil
}

extension Reference {
  /// Poly-1 cross-entropy against class-index labels (rows labelled with the ignore index
  /// skipped) or against probability targets laid out like the logits; see ``PolyLoss``.
  /// `loss` receives one value per row for `.none`, else 1; `gradient`, if not nil, every
  /// element (0 for ignored rows). `gradient` may be `logits` (each row is read whole before it
  /// is written). O(C) scratch.
  static func polyLoss<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, target: SoftmaxTarget<Scalar>, problem: PolyProblem,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let layout = problem.layout
    let epsilon = problem.criterion.epsilon
    let ignoreIndex = problem.criterion.ignoreIndex
    let reduction = problem.criterion.reduction
    var labels: UnsafeBufferPointer<Int>? = nil
    var targets: UnsafePointer<Scalar>? = nil
    switch target {
    case .labels(let l): labels = l
    case .probabilities(let t): targets = startAddress(t.baseAddress)
    }
    let classes = layout.classes
    var kept = Double(layout.rows)
    if let rowScales = problem.rowScales, rowScales.loss != nil {
      kept =
        rowScales.weightedCounts(
          rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex, classWeight: { _ in 1 }
        ).plain
    } else if let labels {
      kept = 0
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    kept = problem.criterion.meanRule.denominator(counted: kept)
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / kept : 1
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    var t = [Double](repeating: 0, count: layout.scratchClasses)
    var probabilities = [Double](repeating: 0, count: layout.scratchClasses)
    var total = 0.0
    for r in 0..<layout.rows {
      let base = layout.base(ofRow: r)
      if let labels, labels[r] == ignoreIndex {
        if elementwise { loss[r] = 0 }
        if let gradient {
          for c in 0..<classes { gradient[base + c * layout.inner] = 0 }
        }
        continue
      }
      for c in 0..<classes {
        row[c] = Double(logits[base + c * layout.inner])
        if let targets { t[c] = Double(targets[base + c * layout.inner]) }
      }
      if let labels {
        for c in 0..<classes { t[c] = 0 }
        t[labels[r]] = 1
      }
      let lse = softmax(row, into: &probabilities)
      var crossEntropy = 0.0
      var pT = 0.0
      var targetSum = 0.0
      for c in 0..<classes where t[c] != 0 {
        crossEntropy -= t[c] * lse.logProbability(row[c])
        pT += t[c] * probabilities[c]
        targetSum += t[c]
      }
      // optax: sum_c t_c * (1 - p_c); times the row's sample weight.
      let value =
        (crossEntropy + epsilon * (targetSum - pT)) * (problem.rowScales?.lossFactor(r) ?? 1)
      if elementwise { loss[r] = Scalar(value) } else { total += value }
      if let gradient {
        let factor = (elementwise ? 1 : scale) * (problem.rowScales?.gradientFactor(r) ?? 1)
        for c in 0..<classes {
          let p = probabilities[c]
          let g = p * targetSum - t[c] - epsilon * p * (t[c] - pT)
          gradient[base + c * layout.inner] = Scalar(g * factor)
        }
      }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }
}
