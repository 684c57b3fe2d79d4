import RealModule

/// The plain reference implementations: one row at a time, Double accumulation, formulas written
/// as PyTorch evaluates them (so NaN and infinity propagate the same way).
///
/// They are the definition the fast kernels are tested against, and the path every input type
/// can take. Each reads a row completely before writing its gradient, so the gradient may alias
/// the logits.
enum Reference {
  /// Log-sum-exp of a row, shifting by the finite maximum. Infinite or NaN rows give the IEEE
  /// results: +inf anywhere gives +inf, NaN gives NaN, all -inf gives -inf.
  static func logSumExp(_ row: UnsafeBufferPointer<Double>) -> Double {
    let (shift, logSum) = shiftAndLogSum(row)
    return shift + logSum
  }

  /// The two parts of a row's log-sum-exp: the shift (the finite maximum, else 0) and
  /// `log(sum(exp(x - shift)))`. Log-probabilities are `(x - shift) - logSum`, in that order, as
  /// PyTorch computes them: `x - (shift + logSum)` would lose the low bits of a small loss when
  /// the logits are large (x = 70.6 with a loss of 1.1e-5 keeps only 9 digits in Double).
  static func shiftAndLogSum(_ row: UnsafeBufferPointer<Double>) -> (shift: Double, logSum: Double)
  {
    var maximum = -Double.infinity
    for x in row where x > maximum { maximum = x }
    let shift = maximum.isFinite ? maximum : 0
    var sum = 0.0
    for x in row { sum += .exp(x - shift) }
    return (shift, .log(sum))
  }

  /// Softmax cross-entropy over class-index labels or probability targets.
  ///
  /// - Parameters:
  ///   - loss: One element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: If not nil, receives d(loss)/d(logits) (of the sum of losses for `.none`);
  ///     it may be the logits buffer itself.
  static func softmaxCrossEntropy<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>,
    target: SoftmaxTarget<Scalar>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    let layout = problem.layout
    let classes = layout.classes
    let smoothing = problem.labelSmoothing
    let weights = (0..<layout.scratchClasses).map { c in classWeights.map { Double($0[c]) } ?? 1 }

    // The denominator of the mean: the weighted count of non-ignored labels, or the row count.
    var denominator = Double(layout.rows)
    if case .labels(let labels) = target {
      denominator = 0
      for label in labels where label != problem.ignoreIndex { denominator += weights[label] }
    }
    if let given = problem.denominators { denominator = given.loss }
    let scale = problem.reduction == .mean ? 1 / denominator : 1
    // The z-loss (Liger-Kernel's semantics): s * lse^2 per non-ignored row; its mean divides by
    // the number of those rows, whatever the class weights.
    let zScale = problem.zLossScale
    var zCount = Double(layout.rows)
    if zScale != 0, case .labels(let labels) = target {
      zCount = 0
      for label in labels where label != problem.ignoreIndex { zCount += 1 }
    }
    if let given = problem.denominators { zCount = given.zLoss }
    let zGradientScale = problem.reduction == .mean ? 2 * zScale / zCount : 2 * zScale
    var zTotal = 0.0

    var row = [Double](repeating: 0, count: layout.scratchClasses)
    var dLogProbability = [Double](repeating: 0, count: layout.scratchClasses)
    var nllTotal = 0.0
    var smoothTotal = 0.0
    for r in 0..<layout.rows {
      let base = layout.base(ofRow: r)
      var ignored = false
      if case .labels(let labels) = target { ignored = labels[r] == problem.ignoreIndex }
      // The row's sample weight multiplies its loss; with the upstream gradient, its gradient.
      // Ignored rows do not read them.
      let lossFactor = ignored ? 1 : problem.rowScales?.lossFactor(r) ?? 1
      let gradientFactor = ignored ? 1 : problem.rowScales?.gradientFactor(r) ?? 1
      let rowScale = scale * gradientFactor
      for c in 0..<classes { row[c] = Double(logits[base + c * layout.inner]) }
      if let cap = problem.logitSoftCap {
        for c in 0..<classes { row[c] = cap * .tanh(row[c] / cap) }
      }
      // PyTorch's log_softmax subtracts the row maximum, so a +inf logit gives inf - inf = NaN
      // and makes the whole row NaN (loss and gradient), where logsumexp alone would be +inf.
      var (shift, logSum) = row.withUnsafeBufferPointer(shiftAndLogSum)
      if logSum == .infinity { logSum = .nan }
      let lse = shift + logSum
      /// log_softmax(x)[c], in PyTorch's order (see ``shiftAndLogSum(_:)``).
      func logProbability(_ c: Int) -> Double { (row[c] - shift) - logSum }
      var nll = 0.0
      var smooth = 0.0
      switch target {
      case .labels(let labels):
        let label = labels[r]
        if label == problem.ignoreIndex {
          for c in 0..<classes { dLogProbability[c] = 0 }
        } else {
          nll = -weights[label] * logProbability(label)
          for c in 0..<classes { dLogProbability[c] = 0 }
          dLogProbability[label] = (1 - smoothing) * (weights[label] * -rowScale)
          if smoothing > 0 {
            for c in 0..<classes {
              smooth -= logProbability(c) * weights[c]
              dLogProbability[c] += smoothing / Double(classes) * (weights[c] * -rowScale)
            }
          }
        }
      case .probabilities(let probabilities):
        for c in 0..<classes {
          var t = Double(probabilities[base + c * layout.inner])
          if smoothing > 0 { t = t * (1 - smoothing) + smoothing / Double(classes) }
          nll -= logProbability(c) * t * weights[c]
          dLogProbability[c] = -weights[c] * t * rowScale
        }
      }
      nll *= lossFactor
      smooth *= lossFactor
      nllTotal += nll
      smoothTotal += smooth
      var zLoss = 0.0
      var dLogSumExp = 0.0
      if zScale != 0 && !ignored {
        zLoss = zScale * lse * lse * lossFactor
        dLogSumExp = zGradientScale * gradientFactor * lse
      }
      zTotal += zLoss
      if problem.reduction == .none {
        loss[r] = Scalar(combine(nll, smooth, target: target, smoothing, classes) + zLoss)
      }
      if let gradient {
        var total = 0.0
        for c in 0..<classes { total += dLogProbability[c] }
        for c in 0..<classes {
          let p = Double.exp(logProbability(c))
          var g = dLogProbability[c] - p * total
          if zScale != 0 { g += p * dLogSumExp }
          if let cap = problem.logitSoftCap {
            let t = row[c] / cap
            g *= 1 - t * t
          }
          gradient[base + c * layout.inner] = Scalar(g)
        }
      }
    }
    let zReduced = zScale == 0 ? 0 : problem.reduction == .mean ? zTotal / zCount : zTotal
    switch problem.reduction {
    case .none: break
    case .sum:
      loss[0] = Scalar(
        combine(nllTotal, smoothTotal, target: target, smoothing, classes) + zReduced)
    case .mean:
      loss[0] = Scalar(
        combine(
          nllTotal / denominator, smoothTotal / denominator, target: target, smoothing, classes)
          + zReduced)
    }
  }

  /// PyTorch's mix of the NLL and smoothing terms for class-index labels:
  /// `(1 - e) * nll + (e / C) * smooth`, skipping the smoothing term entirely when `e == 0`.
  /// Probability targets fold the smoothing into the target, so their loss is `nll` alone.
  private static func combine<Scalar>(
    _ nll: Double, _ smooth: Double, target: SoftmaxTarget<Scalar>, _ smoothing: Double,
    _ classes: Int
  ) -> Double {
    guard case .labels = target, smoothing > 0 else { return nll }
    return (1 - smoothing) * nll + smooth * (smoothing / Double(classes))
  }

  /// Negative log-likelihood of class-index labels given log-probabilities.
  static func negativeLogLikelihood<Scalar: BinaryFloatingPoint>(
    logProbabilities: UnsafePointer<Scalar>,
    labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    layout: ClassLayout,
    ignoreIndex: Int,
    reduction: Reduction,
    mean: MeanRule = MeanRule(),
    rowScales: RowScales? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    func weight(_ label: Int) -> Double { classWeights.map { Double($0[label]) } ?? 1 }
    var denominator = 0.0
    if let rowScales, rowScales.loss != nil {
      denominator =
        rowScales.weightedCounts(
          rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex, classWeight: weight
        ).weighted
    } else {
      for label in labels where label != ignoreIndex { denominator += weight(label) }
    }
    denominator = mean.denominator(counted: denominator)
    let scale = reduction == .mean ? 1 / denominator : 1
    var total = 0.0
    for r in 0..<layout.rows {
      let base = layout.base(ofRow: r)
      let label = labels[r]
      let ignored = label == ignoreIndex
      let lossFactor = ignored ? 1 : rowScales?.lossFactor(r) ?? 1
      let gradientFactor = ignored ? 1 : rowScales?.gradientFactor(r) ?? 1
      let value =
        ignored
        ? 0
        : -weight(label) * Double(logProbabilities[base + label * layout.inner]) * lossFactor
      if let gradient {
        for c in 0..<layout.classes { gradient[base + c * layout.inner] = 0 }
        if !ignored {
          gradient[base + label * layout.inner] = Scalar(
            weight(label) * -(scale * gradientFactor))
        }
      }
      total += value
      if reduction == .none { loss[r] = Scalar(value) }
    }
    switch reduction {
    case .none: break
    case .sum: loss[0] = Scalar(total)
    case .mean: loss[0] = Scalar(total / denominator)
    }
  }
}
