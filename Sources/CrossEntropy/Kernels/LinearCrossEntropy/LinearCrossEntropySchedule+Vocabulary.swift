import RealModule

extension LinearCrossEntropySchedule {
  /// What the first pass gathers for one row of a block over the vocabulary blocks, in
  /// Double: the running maximum of the (capped) logits and the sum of their exponentials
  /// shifted by it, the side sum `sum_c w[c] x[c]` of label smoothing, the label's logit, and
  /// whether a NaN was seen; with statistics, also the first index of the maximum and the
  /// entropy's sum `sum_c exp(x_c - maximum) (x_c - maximum)`.
  private struct RunningRow {
    var maximum = -Double.infinity
    var sum = 0.0
    var side = 0.0
    var labelLogit = 0.0
    var sawNaN = false
    var predicted = 0
    var best = -Double.infinity
    var entropySum = 0.0

    /// The row's log-sum-exp in the reference's two parts: the finite maximum (else 0) and
    /// `log(sum(exp(x - shift)))`, NaN for a row with a NaN or +inf logit, -inf for a row of
    /// -inf. Its `logProbability` keeps `logSum` next to huge logits.
    var logSumExp: Reference.RowLogSumExp {
      let shift = maximum.isFinite ? maximum : 0
      if sawNaN || maximum == .infinity { return .init(shift: shift, logSum: .nan) }
      return .init(shift: shift, logSum: maximum == -.infinity ? -.infinity : .log(sum))
    }
  }

  /// A logit as the loss sees it: soft-capped if the problem says so.
  @inline(__always)
  private func capped(_ x: A.Value) -> Double {
    let x = Double(x)
    return problem.logitSoftCap.map { $0 * .tanh(x / $0) } ?? x
  }

  @inline(__always)
  private func weight(_ c: Int) -> Double { classWeights.map { Double($0[c]) } ?? 1 }

  /// Two passes over the vocabulary for blocks of `rows` rows and `classes` classes: the
  /// schedule when one row block of full rows does not fit the scratch bound. The formulas are
  /// the reference's (`Reference.softmaxCrossEntropy`), evaluated per element in Double.
  func vocabularyBlocks(_ block: (rows: Int, classes: Int)) {
    let (n, d, v) = (problem.rows, problem.hiddenSize, problem.classes)
    let scratch = UnsafeMutablePointer<A.Value>.allocate(capacity: block.rows * block.classes)
    defer { scratch.deallocate() }
    let smoothing = problem.labelSmoothing
    let denominators = problem.denominators
    let scale = problem.reduction == .mean ? 1 / denominators.loss : 1
    let zScale = problem.zLossScale
    let zGradientScale = problem.reduction == .mean ? 2 * zScale / denominators.zLoss : 2 * zScale
    var weightTotal = 0.0
    for c in 0..<v { weightTotal += weight(c) }
    var nllTotal = 0.0
    var smoothTotal = 0.0
    var zTotal = 0.0
    var running = [RunningRow](repeating: RunningRow(), count: block.rows)

    for r0 in stride(from: 0, to: n, by: block.rows) {
      let rows = min(block.rows, n - r0)
      for i in 0..<rows { running[i] = RunningRow() }
      // Pass 1: each row's statistics, one vocabulary block at a time.
      for v0 in stride(from: 0, to: v, by: block.classes) {
        let columns = min(block.classes, v - v0)
        fillLogits(scratch, rows: rows, from: r0, columns: columns, from: v0)
        // Ignored rows too: a NaN in one makes its gradient NaN, as PyTorch's (0 - p * 0).
        for i in 0..<rows {
          let label = labels[r0 + i]
          let row = scratch + i * columns
          var blockMaximum = -Double.infinity
          for j in 0..<columns {
            let x = capped(row[j])
            if x.isNaN { running[i].sawNaN = true }
            if x > blockMaximum { blockMaximum = x }
            if smoothing > 0 { running[i].side += weight(v0 + j) * x }
            if v0 + j == label { running[i].labelLogit = x }
          }
          let shift = max(running[i].maximum, blockMaximum)
          guard shift.isFinite else {
            running[i].maximum = shift
            continue
          }
          if statistics != nil {
            gatherStatistics(&running[i], row, columns: columns, from: v0, shift: shift)
          }
          var sum = running[i].sum * .exp(running[i].maximum - shift)
          for j in 0..<columns { sum += .exp(capped(row[j]) - shift) }
          running[i].maximum = shift
          running[i].sum = sum
        }
      }
      if let statistics {
        for i in 0..<rows {
          statistics[r0 + i] = rowStatistics(running[i], row: r0 + i, columns: block.classes)
        }
      }
      // The rows' losses, in the reference's formulas (times the row's sample weight).
      for i in 0..<rows {
        let label = labels[r0 + i]
        guard label != problem.ignoreIndex else {
          logSumExp?[r0 + i] = 0
          if problem.reduction == .none { loss[r0 + i] = 0 }
          continue
        }
        let normalizer = running[i].logSumExp
        let lse = normalizer.value
        logSumExp?[r0 + i] = A.Value(lse)
        let s = problem.rowScales?.lossFactor(r0 + i) ?? 1
        let nll = -weight(label) * normalizer.logProbability(running[i].labelLogit) * s
        let smooth = smoothing > 0 ? -(running[i].side - lse * weightTotal) * s : 0
        let z = zScale == 0 ? 0 : zScale * lse * lse * s
        if problem.reduction == .none {
          loss[r0 + i] = A.Value(combine(nll, smooth) + z)
        } else {
          nllTotal += nll
          smoothTotal += smooth
          zTotal += z
        }
      }
      guard wantsGradient else { continue }
      // Pass 2: the logits again, their gradient, and the products.
      for v0 in stride(from: 0, to: v, by: block.classes) {
        let columns = min(block.classes, v - v0)
        fillLogits(scratch, rows: rows, from: r0, columns: columns, from: v0)
        for i in 0..<rows {
          let label = labels[r0 + i]
          let row = scratch + i * columns
          let normalizer = running[i].logSumExp
          guard label != problem.ignoreIndex else {
            // PyTorch's gradient of an ignored row is 0 - p * 0: NaN where p is.
            row.update(repeating: normalizer.logSum.isFinite ? 0 : .nan, count: columns)
            continue
          }
          let lse = normalizer.value
          // The row's sample weight times its upstream gradient scales its gradient.
          let factor = problem.rowScales?.gradientFactor(r0 + i) ?? 1
          let rowScale = scale * factor
          let labelPart = (1 - smoothing) * (weight(label) * -rowScale)
          let smoothingPart = smoothing / Double(v) * -rowScale
          let total = labelPart + smoothingPart * weightTotal
          let dz = zScale == 0 ? 0 : zGradientScale * factor * lse
          for j in 0..<columns {
            let x = capped(row[j])
            let p = Double.exp(normalizer.logProbability(x))
            var direct = smoothing > 0 ? smoothingPart * weight(v0 + j) : 0
            if v0 + j == label { direct += labelPart }
            var g = direct - p * total
            if zScale != 0 { g += p * dz }
            if let cap = problem.logitSoftCap {
              let t = x / cap
              g *= 1 - t * t
            }
            row[j] = A.Value(g)
          }
        }
        let g = UnsafePointer(scratch)
        if let hiddenGradient {
          A.hiddenGradient(
            m: rows, n: d, k: columns, g: g, lda: columns, weight: weight + v0 * d, ldb: d,
            c: hiddenGradient + r0 * d, ldc: d, accumulate: v0 > 0)
        }
        if let weightGradient {
          A.weightGradient(
            m: columns, n: d, k: rows, g: g, lda: columns, hidden: hidden + r0 * d, ldb: d,
            c: weightGradient + v0 * d, ldc: d, accumulate: problem.accumulates || r0 > 0)
        }
        if let biasGradient {
          addColumnSums(scratch, rows: rows, columns: columns, into: biasGradient + v0)
        }
      }
    }
    guard problem.reduction != .none else { return }
    if problem.reduction == .mean {
      nllTotal /= denominators.loss
      smoothTotal /= denominators.loss
      zTotal /= denominators.zLoss
    }
    loss[0] = A.Value(combine(nllTotal, smoothTotal) + (zScale == 0 ? 0 : zTotal))
  }

  /// Adds a block of `columns` logits (classes from `v0` on) to a row's argmax and entropy's
  /// sum, the latter rescaled from the row's previous maximum to `shift` (finite, at least the
  /// block's maximum): `h' = (h + (m - shift) * sum) * exp(m - shift)`.
  private func gatherStatistics(
    _ state: inout RunningRow, _ row: UnsafeMutablePointer<A.Value>, columns: Int, from v0: Int,
    shift: Double
  ) {
    if state.maximum != -.infinity && state.maximum != shift {
      let delta = state.maximum - shift
      state.entropySum = (state.entropySum + delta * state.sum) * .exp(delta)
    }
    for j in 0..<columns {
      let x = capped(row[j])
      if x > state.best {
        state.best = x
        state.predicted = v0 + j
      }
      let d = x - shift
      let e = Double.exp(d)
      if e != 0 { state.entropySum += e * d }
    }
  }

  /// The statistics of row `r` from the first pass. A row with a NaN or without a finite
  /// maximum takes the reference's on its logits, recomputed one vocabulary block of
  /// `columns` at a time (O(V) memory, rare).
  private func rowStatistics(_ state: RunningRow, row r: Int, columns: Int) -> RowStatistics {
    let label = labels[r] == problem.ignoreIndex ? nil : labels[r]
    guard state.sawNaN || !state.maximum.isFinite else {
      let normalizer = state.logSumExp
      return RowStatistics(
        logSumExp: normalizer.value, predictedClass: state.predicted,
        targetProbability: label == nil ? .nan : .exp(normalizer.logProbability(state.labelLogit)),
        entropy: .log(state.sum) - state.entropySum / state.sum)
    }
    let v = problem.classes
    let block = UnsafeMutablePointer<A.Value>.allocate(capacity: columns)
    defer { block.deallocate() }
    var values = [Double](repeating: 0, count: v)
    for v0 in stride(from: 0, to: v, by: columns) {
      let count = min(columns, v - v0)
      fillLogits(block, rows: 1, from: r, columns: count, from: v0)
      for j in 0..<count { values[v0 + j] = capped(block[j]) }
    }
    return values.withUnsafeBufferPointer { Reference.rowStatistics($0, label: label) }
  }

  /// The reference's combination of the NLL and smoothing terms.
  private func combine(_ nll: Double, _ smooth: Double) -> Double {
    let smoothing = problem.labelSmoothing
    return smoothing > 0
      ? (1 - smoothing) * nll + smooth * (smoothing / Double(problem.classes)) : nll
  }
}
