import RealModule

/// The statistics of one softmax row (see ``SoftmaxStatistics``), in Double.
struct RowStatistics: Sendable, Hashable {
  /// `log sum_c exp(x_c)`.
  var logSumExp: Double
  /// The first index of the largest logit (the first NaN if the row holds one).
  var predictedClass: Int
  /// `exp(x_y - lse)`, NaN for an ignored row.
  var targetProbability: Double
  /// `-sum_c p_c log p_c` (terms with `p_c = 0` add 0).
  var entropy: Double

  static let zero = RowStatistics(
    logSumExp: 0, predictedClass: 0, targetProbability: 0, entropy: 0)
}

/// Where a softmax kernel writes the statistics of its rows: one ``RowStatistics`` per row, in
/// row order. Confined to one kernel call (the kernel's threads write disjoint rows).
struct SoftmaxStatisticsOutput: @unchecked Sendable {
  let rows: UnsafeMutablePointer<RowStatistics>
}

// The statistics of the fused row kernel: the argmax is found after the max pass (the first
// element equal to the maximum, before an in-place gradient overwrites the row), the entropy's
// sum `sum_c e_c (x_c - m)` is accumulated in the exp pass of rows kept in cache (the
// ``FusedRows/EntropySum`` policy of ``FusedRows/expSumBlock(_:_:_:_:_:_:_:_:_:)``; the plain
// kernel's specialisation has no such accumulator) and in a pass of its own for the online
// rows.
extension FusedRows {
  /// The first index of `maximum` in a row (0 if there is none).
  @inline(never)
  static func firstIndex<E: KernelStorage>(
    of maximum: Float, _ x: UnsafePointer<E.Stored>, count: Int, _: E.Type
  ) -> Int {
    let m = Vector(repeating: maximum)
    var i = 0
    while i + 16 <= count {
      let v = E.load(x, i)
      if any(v .== m) {
        for j in 0..<16 where v[j] == maximum { return i + j }
      }
      i += 16
    }
    while i < count {
      if E.float(x[i]) == maximum { return i }
      i += 1
    }
    return 0
  }

  /// The first NaN of a row of `count` values read by `value` (0 if there is none).
  @inline(never)
  static func firstNaN(count: Int, _ value: (Int) -> Float) -> Int {
    for i in 0..<count where value(i).isNaN { return i }
    return 0
  }

  /// ``expSum(_:count:shift:store:side:_:)`` into `store`, with the entropy's sum
  /// `sum_i exp(x[i] - shift) * (x[i] - shift)` (0 for the elements whose exponential is 0).
  /// The sum and the side sum are the same bits as ``expSum(_:count:shift:store:side:_:)``'s:
  /// the same block function, with the entropy policy.
  @inline(__always)
  static func expSumWithEntropy<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, shift: Float, store: UnsafeMutablePointer<Float>,
    side: Side, _ e: E.Type
  ) -> (sum: Double, side: Double, entropy: Double) {
    let s = Store(pointer: store)
    switch side {
    case .none: return expSumWithEntropy(x, count, shift, s, NoSide(), e)
    case .plain: return expSumWithEntropy(x, count, shift, s, PlainSide(), e)
    case .weighted(let w):
      return expSumWithEntropy(x, count, shift, s, WeightedSide(weights: w), e)
    }
  }

  @inline(__always)
  static func expSumWithEntropy<E: KernelStorage, S: StorePolicy, T: SidePolicy>(
    _ x: UnsafePointer<E.Stored>, _ count: Int, _ shift: Float, _ store: S, _ side: T,
    _ e: E.Type
  ) -> (sum: Double, side: Double, entropy: Double) {
    var total = 0.0
    var sideTotal = 0.0
    var entropyTotal = 0.0
    var start = 0
    while start < count {
      let end = min(start + block, count)
      let (s, t, _, h) = expSumBlock(x, start, end, shift, shift, store, side, EntropySum(), e)
      total += Double(s)
      sideTotal += Double(t)
      entropyTotal += Double(h)
      start = end
    }
    return (total, sideTotal, entropyTotal)
  }

  /// `e * max(d, -greatestFiniteMagnitude)`: `e * d`, and 0 where `e` is 0 and `d` is -inf.
  @inline(__always)
  static func entropyTerm(_ e: Vector, _ d: Vector) -> Vector {
    e * VectorMath.maximum(d, Vector(repeating: -.greatestFiniteMagnitude))
  }

  /// The entropy's sum of the statistics, `sum e * d` (0 where `e` is 0).
  struct EntropySum: EntropyPolicy {
    @inline(__always) func accumulate(
      _ h: inout Vector, _ e0: Vector, _ d0: Vector, _ e1: Vector, _ d1: Vector
    ) {
      h += FusedRows.entropyTerm(e0, d0) + FusedRows.entropyTerm(e1, d1)
    }
    @inline(__always) func accumulate(_ h: inout Vector, _ e: Vector, _ d: Vector) {
      h += FusedRows.entropyTerm(e, d)
    }
  }

  /// The entropy's sum `sum_i exp(x[i] - shift) * (x[i] - shift)` of a row on its own (the
  /// online rows, whose exponentials are not kept): one more exp per element.
  @inline(never)
  static func entropySum<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, shift: Float, _: E.Type
  ) -> Double {
    let m = Vector(repeating: shift)
    var total = 0.0
    var start = 0
    while start < count {
      let end = min(start + block, count)
      var h0 = Vector.zero
      var h1 = Vector.zero
      var i = start
      while i + 32 <= end {
        let d0 = E.load(x, i) - m
        let d1 = E.load(x, i + 16) - m
        h0 += entropyTerm(VectorMath.exp(d0), d0)
        h1 += entropyTerm(VectorMath.exp(d1), d1)
        i += 32
      }
      while i + 16 <= end {
        let d = E.load(x, i) - m
        h0 += entropyTerm(VectorMath.exp(d), d)
        i += 16
      }
      if i < end {
        let d = E.loadPartial(x, i, count: end - i, fill: -.infinity) - m
        h1 += entropyTerm(VectorMath.exp(d), d)
      }
      total += Double(VectorMath.sum(h0 + h1))
      start = end
    }
    return total
  }
}

extension FusedSoftmax {
  /// The statistics of a row with a finite maximum from the fused passes: the log-sum-exp,
  /// the argmax, the label's logit, the sum of exponentials and the entropy's sum (both
  /// relative to the maximum). Per row, in Double; its own symbol, so that its `exp` is not in
  /// the object code of the hot loops (Scripts/check_codegen.sh exempts `scalar*Row`).
  @inline(never)
  static func scalarStatisticsRow(
    lse: Double, predicted: Int, labelLogit: Float?, sum: Double, entropySum: Double
  ) -> RowStatistics {
    RowStatistics(
      logSumExp: lse, predictedClass: predicted,
      targetProbability: labelLogit.map { .exp(Double($0) - lse) } ?? .nan,
      entropy: .log(sum) - entropySum / sum)
  }

  /// The statistics of a row whose maximum is not finite (or any row of the reference):
  /// the reference's formulas in Double.
  @inline(never)
  static func scalarStatisticsRow<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, label: Int?, _: E.Type
  ) -> RowStatistics {
    let row = (0..<count).map { Double(E.float(x[$0])) }
    return row.withUnsafeBufferPointer { Reference.rowStatistics($0, label: label) }
  }

  /// The statistics of a row with a finite maximum `m` and sum `sum` of `exp(x - m)`, whose
  /// argmax (`predicted`, found before the row could be overwritten) and entropy's sum are
  /// known; a row holding a NaN (its sum is NaN) predicts its first NaN, read by `value`.
  @inline(__always)
  static func finish(
    lse: Double, predicted: Int, labelLogit: Float?, sum: Double, entropySum: Double,
    count: Int, value: (Int) -> Float
  ) -> RowStatistics {
    let predicted = sum.isNaN ? FusedRows.firstNaN(count: count, value) : predicted
    return scalarStatisticsRow(
      lse: lse, predicted: predicted, labelLogit: labelLogit, sum: sum, entropySum: entropySum)
  }
}

extension Reference {
  /// The statistics of one row of logits in Double: `lse` as the loss computes it (NaN with a
  /// +inf logit), the argmax as `torch.argmax` (first maximum; a NaN is the maximum), `p_y`
  /// (NaN without a label) and the entropy `-sum_c p_c log p_c`.
  static func rowStatistics(_ row: UnsafeBufferPointer<Double>, label: Int?) -> RowStatistics {
    var (shift, logSum) = shiftAndLogSum(row)
    if shift + logSum == .infinity { (shift, logSum) = (.nan, .nan) }
    var predicted = 0
    for c in row.indices {
      if row[c].isNaN {
        predicted = c
        break
      }
      if row[c] > row[predicted] { predicted = c }
    }
    var entropy = 0.0
    for x in row {
      let logP = (x - shift) - logSum
      let p = Double.exp(logP)
      if p != 0 { entropy -= p * logP }
    }
    return RowStatistics(
      logSumExp: shift + logSum, predictedClass: predicted,
      targetProbability: label.map { .exp((row[$0] - shift) - logSum) } ?? .nan,
      entropy: entropy)
  }

  /// The statistics of every row of class-index labels (any layout, the soft cap applied as
  /// the loss applies it), into one ``RowStatistics`` per row.
  static func softmaxStatistics<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, labels: UnsafeBufferPointer<Int>, problem: SoftmaxProblem,
    into output: UnsafeMutablePointer<RowStatistics>
  ) {
    let layout = problem.layout
    var row = [Double](repeating: 0, count: layout.scratchClasses)
    for r in 0..<layout.rows {
      let base = layout.base(ofRow: r)
      for c in 0..<layout.classes { row[c] = Double(logits[base + c * layout.inner]) }
      if let cap = problem.logitSoftCap {
        for c in 0..<layout.classes { row[c] = cap * .tanh(row[c] / cap) }
      }
      let label = labels[r] == problem.ignoreIndex ? nil : labels[r]
      output[r] = row.withUnsafeBufferPointer { rowStatistics($0, label: label) }
    }
  }
}
