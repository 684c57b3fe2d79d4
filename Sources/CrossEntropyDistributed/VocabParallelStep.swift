import CrossEntropy
import RealModule

/// The arithmetic of one vocabulary-parallel step, after the ranks agreed that the input is
/// valid: local statistics of the slice, the two all-reduces, the loss and the slice's gradient.
struct VocabParallelStep<Scalar: DistributedScalar> {
  let criterion: VocabParallelCrossEntropy
  let logits: UnsafeBufferPointer<Scalar>
  let rows: Int
  let slice: Range<Int>
  let classes: Int
  let labels: UnsafeBufferPointer<Int>
  let classWeights: UnsafeBufferPointer<Scalar>?
  let sampleWeights: UnsafeBufferPointer<Scalar>?
  /// Used only with a gradient.
  let upstreamGradient: UnsafeBufferPointer<Scalar>?

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

  func run(
    vocabulary: any Communicator, data: (any Communicator)?,
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
    let shared = try exchange(z: z, vocabulary: vocabulary)
    let global = try combine(reduce(shared, loss: loss), data: data)
    if criterion.reduction != .none { loss[0] = Scalar(global.loss) }
    if let gradient {
      writeGradient(z: z, shared: shared, global: global, gradient: gradient)
    }
  }

  /// The local statistics of the slice and the two all-reduces over the vocabulary group.
  private func exchange(
    z: UnsafeBufferPointer<Scalar>, vocabulary: any Communicator
  ) throws(CommunicatorError) -> Rows {
    let width = slice.count
    let smoothing = criterion.labelSmoothing > 0
    var localLogSumExp = [Scalar](repeating: -.infinity, count: rows)
    if width > 0 && rows > 0 {
      localLogSumExp.withUnsafeMutableBufferPointer { out in
        try! logSumExp(z, shape: [rows, width], alongAxis: -1, into: out)
      }
    }
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
      let label = labels[n]
      if label == criterion.ignoreIndex { continue }
      if slice.contains(label) {
        packed[rows + n] = z[n * width + label - slice.lowerBound]
        if let classWeights { packed[2 * rows + n] = classWeights[label - slice.lowerBound] }
      }
      if smoothing {
        var sum = 0.0
        let row = z.baseAddress! + n * width
        if let classWeights {
          for c in 0..<width { sum += Double(classWeights[c]) * Double(row[c]) }
        } else {
          for c in 0..<width { sum += Double(row[c]) }
        }
        packed[(blocks - 1) * rows + n] = Scalar(sum)
      }
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

  /// This rank's columns of the gradient: the global softmax from the local one, rescaled by
  /// `exp(lse_local - lse)`, minus the target's and the smoothing's shares, through the cap.
  private func writeGradient(
    z: UnsafeBufferPointer<Scalar>, shared: Rows, global: Global,
    gradient: UnsafeMutableBufferPointer<Scalar>
  ) {
    let width = slice.count
    guard width > 0, rows > 0 else { return }
    if z.baseAddress != UnsafePointer(gradient.baseAddress) {
      _ = gradient.initialize(from: z)
    }
    try! softmax(overwriting: gradient, shape: [rows, width], alongAxis: -1)
    let e = criterion.labelSmoothing
    let v = Double(classes)
    let s = criterion.zLossScale
    let cap = criterion.logitSoftCap.map { Scalar($0) }
    for n in 0..<rows {
      let row = gradient.baseAddress! + n * width
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
      let factor = Scalar(coefficient * Double.exp(Double(shared.localLogSumExp[n]) - lse))
      for c in 0..<width { row[c] *= factor }
      if e > 0 {
        let share = alpha * e / v
        if let classWeights {
          for c in 0..<width { row[c] -= Scalar(share * Double(classWeights[c])) }
        } else {
          let constant = Scalar(share)
          for c in 0..<width { row[c] -= constant }
        }
      }
      if slice.contains(label) {
        row[label - slice.lowerBound] -= Scalar(alpha * (1 - e) * weight)
      }
      if let cap {
        let x = logits.baseAddress! + n * width
        for c in 0..<width {
          let t = Scalar.tanh(x[c] / cap)
          row[c] *= 1 - t * t
        }
      }
    }
  }
}
