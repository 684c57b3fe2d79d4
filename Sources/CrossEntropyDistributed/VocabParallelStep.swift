import CrossEntropy
import RealModule

/// The arithmetic of one vocabulary-parallel step, after the ranks agreed that the input is
/// valid: local statistics of the slice, the two all-reduces, the loss and the slice's gradient.
///
/// The statistics and the gradient work on blocks of rows and of the slice's classes, so that
/// the linear head can stream its logits (``accumulate(_:rows:columns:into:)`` for every block,
/// ``exchange(_:vocabulary:)`` and ``finish(_:data:loss:)`` once, then
/// ``writeGradient(z:raw:rows:columns:shared:global:gradient:)`` for every block again), and
/// ``run(logits:vocabulary:data:loss:gradient:)`` takes the whole slice as one block.
struct VocabParallelStep<Scalar: DistributedScalar> {
  let criterion: VocabParallelCrossEntropy
  let rows: Int
  let slice: Range<Int>
  let classes: Int
  let labels: UnsafeBufferPointer<Int>
  let classWeights: UnsafeBufferPointer<Scalar>?
  let sampleWeights: UnsafeBufferPointer<Scalar>?
  /// Used only with a gradient.
  let upstreamGradient: UnsafeBufferPointer<Scalar>?

  /// What one rank knows of its rows before the exchanges, gathered block by block: the
  /// log-sum-exp over the slice, the target logit and class weight where the slice holds the
  /// target, and the sum of (weighted) logits with label smoothing.
  struct LocalRows {
    var logSumExp: [Scalar]
    var target: [Scalar]
    var targetWeight: [Scalar]
    var smoothing: [Double]
  }

  /// What the rows share after the exchanges: the global log-sum-exp, target logit, target
  /// weight and smoothing sum of every row, and the total class weight.
  struct Rows {
    var logSumExp: [Scalar]
    var localLogSumExp: [Scalar]
    var target: [Scalar]
    var targetWeight: [Scalar]?
    var smoothing: [Scalar]?
    var weightTotal: Double
  }

  /// The whole slice as one block: `logits` is `rows x slice.count`, and `gradient` (when
  /// given) as many elements, not the same memory.
  func run(
    logits: UnsafeBufferPointer<Scalar>, vocabulary: any Communicator, data: (any Communicator)?,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(CommunicatorError) {
    // The (soft-capped) logits: in the gradient buffer when there is one, else a scratch copy
    // only for the soft cap.
    var scratch: UnsafeMutableBufferPointer<Scalar>? = nil
    defer { scratch?.deallocate() }
    let z: UnsafeBufferPointer<Scalar>
    if let cap = criterion.logitSoftCap.map({ Scalar($0) }) {
      let capped = gradient ?? UnsafeMutableBufferPointer<Scalar>.allocate(capacity: logits.count)
      if gradient == nil { scratch = capped }
      for i in 0..<logits.count { capped[i] = cap * Scalar.tanh(logits[i] / cap) }
      z = UnsafeBufferPointer(capped)
    } else {
      z = logits
    }
    var local = emptyLocalRows()
    accumulate(z, rows: 0..<rows, columns: 0..<slice.count, into: &local)
    let shared = try exchange(local, vocabulary: vocabulary)
    let global = try finish(shared, data: data, loss: loss)
    if let gradient {
      if z.baseAddress != UnsafePointer(gradient.baseAddress) {
        _ = gradient.initialize(from: z)
      }
      writeGradient(
        z: UnsafeBufferPointer(gradient), raw: logits.baseAddress, rows: 0..<rows,
        columns: 0..<slice.count, shared: shared, global: global, gradient: gradient)
    }
  }

  /// The statistics of no block yet.
  func emptyLocalRows() -> LocalRows {
    LocalRows(
      logSumExp: Array(repeating: -.infinity, count: rows),
      target: Array(repeating: 0, count: rows),
      targetWeight: Array(repeating: 0, count: classWeights == nil ? 0 : rows),
      smoothing: Array(repeating: 0, count: criterion.labelSmoothing > 0 ? rows : 0))
  }

  /// Adds one block of (soft-capped) logits to `local`: rows `rowRange` and the slice's
  /// classes `columns` (offsets into the slice), `z` holding them row-major,
  /// `rowRange.count x columns.count`. The blocks of one step cover the rows and the slice
  /// once each; the log-sum-exps of a row's blocks are combined as they come.
  func accumulate(
    _ z: UnsafeBufferPointer<Scalar>, rows rowRange: Range<Int>, columns: Range<Int>,
    into local: inout LocalRows
  ) {
    let width = columns.count
    guard width > 0, !rowRange.isEmpty else { return }
    var block = [Scalar](repeating: -.infinity, count: rowRange.count)
    block.withUnsafeMutableBufferPointer { out in
      try! logSumExp(z, shape: [rowRange.count, width], alongAxis: -1, into: out)
    }
    let smoothing = criterion.labelSmoothing > 0
    for (i, n) in rowRange.enumerated() {
      let old = local.logSumExp[n]
      let new = block[i]
      if old == -.infinity {
        local.logSumExp[n] = new
      } else if new != -.infinity {
        let m = Swift.max(old, new)
        local.logSumExp[n] = m + Scalar.log(Scalar.exp(old - m) + Scalar.exp(new - m))
      }
      let label = labels[n]
      if label == criterion.ignoreIndex { continue }
      let column = label - slice.lowerBound
      if columns.contains(column) {
        local.target[n] = z[i * width + column - columns.lowerBound]
        if let classWeights { local.targetWeight[n] = classWeights[column] }
      }
      if smoothing {
        var sum = local.smoothing[n]
        let row = z.baseAddress! + i * width
        if let classWeights {
          let w = classWeights.baseAddress! + columns.lowerBound
          for c in 0..<width { sum += Double(w[c]) * Double(row[c]) }
        } else {
          for c in 0..<width { sum += Double(row[c]) }
        }
        local.smoothing[n] = sum
      }
    }
  }

  /// The two all-reduces over the vocabulary group, from the slice's statistics.
  func exchange(
    _ local: LocalRows, vocabulary: any Communicator
  ) throws(CommunicatorError) -> Rows {
    let width = slice.count
    let smoothing = criterion.labelSmoothing > 0
    let localLogSumExp = local.logSumExp
    var maximum = try vocabulary.allReduced(localLogSumExp, .max)
    // Sum of exponentials relative to the maximum, target logit, target weight, smoothing sum,
    // total class weight: one buffer, one all-reduce.
    let weighted = classWeights != nil
    let blocks = 2 + (weighted ? 1 : 0) + (smoothing ? 1 : 0)
    var packed = [Scalar](repeating: 0, count: blocks * rows + (smoothing && weighted ? 1 : 0))
    for n in 0..<rows {
      let m = maximum[n]
      let l = localLogSumExp[n]
      packed[n] = l == m ? (width > 0 ? 1 : 0) : Scalar.exp(l - m)
      if labels[n] == criterion.ignoreIndex { continue }
      packed[rows + n] = local.target[n]
      if weighted { packed[2 * rows + n] = local.targetWeight[n] }
      if smoothing { packed[(blocks - 1) * rows + n] = Scalar(local.smoothing[n]) }
    }
    if smoothing, let classWeights {
      packed[blocks * rows] = Scalar(classWeights.reduce(0.0) { $0 + Double($1) })
    }
    packed = try vocabulary.allReduced(packed, .sum)
    for n in 0..<rows {
      // Every rank's slice empty of finite logits: the maximum is -inf and so is the row's lse.
      maximum[n] = maximum[n] == -.infinity ? maximum[n] : maximum[n] + Scalar.log(packed[n])
    }
    return Rows(
      logSumExp: maximum, localLogSumExp: localLogSumExp,
      target: Array(packed[rows..<(2 * rows)]),
      targetWeight: weighted ? Array(packed[(2 * rows)..<(3 * rows)]) : nil,
      smoothing: smoothing ? Array(packed[((blocks - 1) * rows)..<(blocks * rows)]) : nil,
      weightTotal: smoothing && weighted ? Double(packed[blocks * rows]) : Double(classes))
  }

  /// Writes the loss (`.none`'s per-row losses, or the reduced loss after the data-parallel
  /// sums) and returns the gradient's scales.
  func finish(
    _ shared: Rows, data: (any Communicator)?, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(CommunicatorError) -> Global {
    let global = try combine(reduce(shared, loss: loss), data: data)
    if criterion.reduction != .none { loss[0] = Scalar(global.loss) }
    return global
  }

  /// The sums of the loss and of the mean's denominators over this rank's rows.
  struct Sums {
    var loss = 0.0
    var zLoss = 0.0
    var weight = 0.0
    var count = 0.0
  }

  /// Writes `.none`'s per-row losses and returns the sums of the reduced ones.
  private func reduce(_ shared: Rows, loss: UnsafeMutableBufferPointer<Scalar>) -> Sums {
    var sums = Sums()
    let e = criterion.labelSmoothing
    let s = criterion.zLossScale
    let v = Double(classes)
    for n in 0..<rows {
      if criterion.reduction == .none { loss[n] = 0 }
      if labels[n] == criterion.ignoreIndex { continue }
      let lse = Double(shared.logSumExp[n])
      let weight = shared.targetWeight.map { Double($0[n]) } ?? 1
      var row = weight * (lse - Double(shared.target[n]))
      if let smoothing = shared.smoothing {
        let smooth = shared.weightTotal * lse - Double(smoothing[n])
        row = (1 - e) * row + e / v * smooth
      }
      let zRow = s * lse * lse
      let sample = sampleWeights.map { Double($0[n]) } ?? 1
      sums.loss += sample * row
      sums.zLoss += sample * zRow
      sums.weight += sample * weight
      sums.count += sample
      if criterion.reduction == .none { loss[n] = Scalar(sample * (row + zRow)) }
    }
    return sums
  }

  /// The data-parallel sums, the reduced loss, and the gradient's scales.
  struct Global {
    var loss = 0.0
    var lossScale = 1.0
    var zLossScale = 1.0
  }

  private func combine(
    _ local: Sums, data: (any Communicator)?
  ) throws(CommunicatorError) -> Global {
    var sums = local
    if let data, criterion.reduction != .none {
      let reduced = try data.allReduced([sums.loss, sums.zLoss, sums.weight, sums.count], .sum)
      sums = Sums(loss: reduced[0], zLoss: reduced[1], weight: reduced[2], count: reduced[3])
    }
    let hasZLoss = criterion.zLossScale != 0
    switch criterion.reduction {
    case .none:
      return Global()
    case .sum:
      return Global(loss: sums.loss + (hasZLoss ? sums.zLoss : 0))
    case .mean:
      // `.zero` divides an empty batch's zero sums by 1, as the single process does.
      let empty = criterion.allIgnored == .zero ? 1.0 : 0
      let denominator = criterion.normalizer ?? (sums.weight == 0 ? empty : sums.weight)
      let zDenominator = criterion.normalizer ?? (sums.count == 0 ? empty : sums.count)
      return Global(
        loss: sums.loss / denominator + (hasZLoss ? sums.zLoss / zDenominator : 0),
        lossScale: 1 / denominator, zLossScale: 1 / zDenominator)
    }
  }

  /// One block of this rank's columns of the gradient: the global softmax from the block's
  /// own, rescaled by `exp(lse_block - lse)`, minus the target's and the smoothing's shares,
  /// through the cap.
  ///
  /// `gradient` holds the block's (soft-capped) logits `z` on entry (`z` is the same memory)
  /// and its gradient on return; `raw` the block's logits before the cap (needed only with
  /// one). `rowRange` and `columns` place the block as in ``accumulate(_:rows:columns:into:)``.
  func writeGradient(
    z: UnsafeBufferPointer<Scalar>, raw: UnsafePointer<Scalar>?, rows rowRange: Range<Int>,
    columns: Range<Int>, shared: Rows, global: Global, gradient: UnsafeMutableBufferPointer<Scalar>
  ) {
    precondition(z.baseAddress == UnsafePointer(gradient.baseAddress))
    let width = columns.count
    guard width > 0, !rowRange.isEmpty else { return }
    // The block's own log-sum-exp: the slice's when the block spans it.
    var blockLogSumExp: [Scalar]
    if width == slice.count {
      blockLogSumExp = Array(shared.localLogSumExp[rowRange])
    } else {
      blockLogSumExp = Array(repeating: -.infinity, count: rowRange.count)
      blockLogSumExp.withUnsafeMutableBufferPointer { out in
        try! logSumExp(z, shape: [rowRange.count, width], alongAxis: -1, into: out)
      }
    }
    try! softmax(overwriting: gradient, shape: [rowRange.count, width], alongAxis: -1)
    let e = criterion.labelSmoothing
    let v = Double(classes)
    let s = criterion.zLossScale
    let cap = criterion.logitSoftCap.map { Scalar($0) }
    for (i, n) in rowRange.enumerated() {
      let row = gradient.baseAddress! + i * width
      let label = labels[n]
      if label == criterion.ignoreIndex {
        row.update(repeating: 0, count: width)
        continue
      }
      let lse = Double(shared.logSumExp[n])
      let weight = shared.targetWeight.map { Double($0[n]) } ?? 1
      // The row's sample weight and upstream gradient scale every term of its gradient.
      var rowScale = sampleWeights.map { Double($0[n]) } ?? 1
      if let upstreamGradient {
        rowScale *= Double(upstreamGradient[criterion.reduction == .none ? n : 0])
      }
      let alpha = global.lossScale * rowScale
      var coefficient =
        alpha * (1 - e) * weight + global.zLossScale * rowScale * 2 * s * lse
      if e > 0 { coefficient += alpha * e / v * shared.weightTotal }
      let factor = Scalar(coefficient * Double.exp(Double(blockLogSumExp[i]) - lse))
      for c in 0..<width { row[c] *= factor }
      if e > 0 {
        let share = alpha * e / v
        if let classWeights {
          let w = classWeights.baseAddress! + columns.lowerBound
          for c in 0..<width { row[c] -= Scalar(share * Double(w[c])) }
        } else {
          let constant = Scalar(share)
          for c in 0..<width { row[c] -= constant }
        }
      }
      let column = label - slice.lowerBound
      if columns.contains(column) {
        row[column - columns.lowerBound] -= Scalar(alpha * (1 - e) * weight)
      }
      if let cap, let raw {
        let x = raw + i * width
        for c in 0..<width {
          let t = Scalar.tanh(x[c] / cap)
          row[c] *= 1 - t * t
        }
      }
    }
  }
}
