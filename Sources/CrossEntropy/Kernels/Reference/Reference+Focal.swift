import RealModule

extension Reference {
  /// torchvision's sigmoid focal loss of one element and its derivative with respect to `x`.
  static func sigmoidFocal(
    _ x: Double, _ y: Double, alpha: Double, gamma: Double
  ) -> (value: Double, derivative: Double) {
    // One exponential serves the sigmoid and the stable BCE-with-logits.
    let e = Double.exp(-Swift.abs(x))
    let p = x >= 0 ? 1 / (1 + e) : e / (1 + e)
    let ce = (1 - y) * x + (Double.log(onePlus: e) + Swift.max(-x, 0))
    let oneMinusPt = 1 - (p * y + (1 - p) * (1 - y))
    let modulation = power(oneMinusPt, gamma)
    var derivative = (p - y) * modulation
    if gamma != 0 {
      // d(1 - p_t)/dx = -p (1 - p) (2y - 1); pow's derivative as PyTorch's autograd takes it.
      derivative -= ce * gamma * power(oneMinusPt, gamma - 1) * p * (1 - p) * (2 * y - 1)
    }
    var value = ce * modulation
    if alpha >= 0 {
      let alphaT = alpha * y + (1 - alpha) * (1 - y)
      value *= alphaT
      derivative *= alphaT
    }
    return (value, derivative)
  }

  /// `base^exponent`, by multiplication for the small whole exponents focal losses use
  /// (0 to 4), else by `pow`. `base^0` is 1, as PyTorch's autograd takes it for `gamma = 1`.
  @inline(__always)
  static func power(_ base: Double, _ exponent: Double) -> Double {
    switch exponent {
    case 0: return 1
    case 1: return base
    case 2: return base * base
    case 3: return base * base * base
    case 4:
      let square = base * base
      return square * square
    default: return .pow(base, exponent)
    }
  }

  /// The sigmoid focal loss of `count` elements: `loss` receives one value per element for
  /// `.none`, else 1; `gradient`, if not nil, every element (it may be `logits`). With
  /// `scales`, each element's loss is multiplied by its loss factor and its gradient by its
  /// gradient factor; the mean still divides by `count`.
  static func sigmoidFocal<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, count: Int,
    criterion: SigmoidFocalLoss, scales: ElementScales? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let reduction = criterion.reduction
    let elementwise = reduction == .none
    let scale = reduction == .mean ? 1 / Double(count) : 1
    let gradientScale = elementwise ? 1 : scale
    var total = 0.0
    for i in 0..<count {
      var (value, derivative) = sigmoidFocal(
        Double(logits[i]), Double(targets[i]), alpha: criterion.alpha, gamma: criterion.gamma)
      derivative *= gradientScale
      if let scales {
        value *= scales.lossFactor(i)
        derivative *= scales.gradientFactor(i)
      }
      if elementwise { loss[i] = Scalar(value) } else { total += value }
      gradient?[i] = Scalar(derivative)
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }

  /// The softmax focal loss over class-index labels; see ``SoftmaxFocalLoss``. `loss` receives
  /// one value per row for `.none` (0 for ignored rows), else 1; `gradient`, if not nil, every
  /// element (0 for ignored rows). `gradient` may be `logits` (each row is read whole before it
  /// is written). O(C) scratch.
  static func softmaxFocal<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?, problem: SoftmaxFocalProblem,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let layout = problem.layout
    let (ignoreIndex, gamma) = (problem.criterion.ignoreIndex, problem.criterion.gamma)
    let reduction = problem.criterion.reduction
    let classes = layout.classes
    var kept = 0.0
    if let rowScales = problem.rowScales, rowScales.loss != nil {
      kept =
        rowScales.weightedCounts(
          rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex, classWeight: { _ in 1 }
        ).plain
    } else {
      for label in labels where label != ignoreIndex { kept += 1 }
    }
    kept = problem.criterion.meanRule.denominator(counted: kept)
    let scale = reduction == .mean ? 1 / kept : 1
    let elementwise = reduction == .none
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    var probabilities = [Double](repeating: 0, count: layout.scratchClasses)
    var total = 0.0
    for r in 0..<layout.rows {
      let label = labels[r]
      let base = layout.base(ofRow: r)
      guard label != ignoreIndex else {
        if elementwise { loss[r] = 0 }
        if let gradient {
          for c in 0..<classes { gradient[base + c * layout.inner] = 0 }
        }
        continue
      }
      for c in 0..<classes { row[c] = Double(logits[base + c * layout.inner]) }
      let lse = softmax(row, into: &probabilities)
      let weight = classWeights.map { Double($0[label]) } ?? 1
      let logP = lse.logProbability(row[label])
      let (focalValue, weightedDU) = softmaxFocalRow(
        logP: logP, p: .exp(logP), weight: weight, gamma: gamma)
      let value = focalValue * (problem.rowScales?.lossFactor(r) ?? 1)
      if elementwise { loss[r] = Scalar(value) } else { total += value }
      if let gradient {
        let factor =
          weightedDU * (elementwise ? 1 : scale) * (problem.rowScales?.gradientFactor(r) ?? 1)
        for c in 0..<classes {
          let indicator: Double = c == label ? 1 : 0
          gradient[base + c * layout.inner] = Scalar(factor * (indicator - probabilities[c]))
        }
      }
    }
    if !elementwise { loss[0] = Scalar(total * scale) }
  }
}

extension Reference {
  /// The softmax focal loss of one row from its label's log-probability `logP` and probability
  /// `p`, and the factor of the row's gradient `weight f'(u)` at `u = logP`, for
  /// `f(u) = -(1 - e^u)^gamma * u`. Once per row (a libm `pow` for a fractional `gamma`), so
  /// kept out of the row loops of the fused kernel.
  ///
  /// At `p == 1` the second term of `f'`, `gamma (1 - p)^(gamma - 1) p log p`, is taken at its
  /// limit 0 (`log p ~ p - 1`, so it behaves as `-gamma (1 - p)^gamma`): evaluated as written it
  /// is `inf * 0 = NaN` for `gamma < 1`.
  @inline(never)
  static func softmaxFocalRow(
    logP: Double, p: Double, weight: Double, gamma: Double
  ) -> (value: Double, factor: Double) {
    let oneMinusP = 1 - p
    let modulation = power(oneMinusP, gamma)
    var dU = -modulation
    if gamma != 0 && oneMinusP != 0 { dU += gamma * power(oneMinusP, gamma - 1) * p * logP }
    return (-weight * modulation * logP, weight * dU)
  }
}
