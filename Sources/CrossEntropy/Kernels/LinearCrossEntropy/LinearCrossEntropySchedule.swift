import RealModule

/// The language-model head, `loss = CE(H · Wᵀ + b, y)`, and its gradients, without ever holding
/// the `N x V` logits: Liger-Kernel's chunked schedule on the CPU.
///
/// Row chunks (``LinearCrossEntropyProblem/Blocking/rows(_:)``), sized so that one chunk's
/// logits fit in the scratch bound. Per chunk:
///
/// 1. `logits = H_chunk · Wᵀ (+ b)` into the scratch (the bias written first, the product added);
/// 2. the fused softmax cross-entropy row kernel over the chunk, with the whole batch's `.mean`
///    denominators, overwriting the logits with their gradient `G` (every option of the loss,
///    and each row's sample weight and upstream gradient, so that the products carry them);
/// 3. `dH_chunk = G · W`, `dW (+)= Gᵀ · H_chunk` and `db (+)= column sums of G`.
///
/// Three products per chunk, none recomputed. When even ``LinearCrossEntropyProblem/minimumRowBlock``
/// rows of logits exceed the bound, blocks of rows and classes take two passes over the
/// vocabulary (``vocabularyBlocks(_:)``): one for each row's log-sum-exp (and loss), one that
/// recomputes the logits and writes their gradient; four products per block.
///
/// The blocking depends only on the sizes and the bound, every product and row is computed in a
/// fixed order, and the chunks' losses and the bias gradient are summed in chunk and row order,
/// so results are bit-identical for every thread count.
struct LinearCrossEntropySchedule<A: LinearHeadArithmetic> {
  let hidden: UnsafePointer<A.Stored>
  let weight: UnsafePointer<A.Stored>
  let bias: UnsafePointer<A.Stored>?
  let labels: UnsafeBufferPointer<Int>
  let classWeights: UnsafeBufferPointer<A.Value>?
  let problem: LinearCrossEntropyProblem
  let loss: UnsafeMutableBufferPointer<A.Value>
  let hiddenGradient: UnsafeMutablePointer<A.Value>?
  let weightGradient: UnsafeMutablePointer<A.Value>?
  let biasGradient: UnsafeMutablePointer<A.Value>?
  let logSumExp: UnsafeMutablePointer<A.Value>?
  /// Where the statistics of each row go (log-sum-exp, argmax, target probability, entropy;
  /// ignored rows included), one per row, or nil: none. They change no other output.
  var statistics: UnsafeMutablePointer<RowStatistics>? = nil

  var wantsGradient: Bool {
    hiddenGradient != nil || weightGradient != nil || biasGradient != nil
  }

  /// Runs the schedule: writes the loss, each gradient that is not nil (the weight and bias
  /// gradients added to when ``LinearCrossEntropyProblem/accumulates``), the per-row
  /// log-sum-exp and the rows' statistics if asked.
  func run() {
    let (n, d, v) = (problem.rows, problem.hiddenSize, problem.classes)
    // The first product into the weight gradient overwrites it unless accumulating; the bias
    // gradient is a sum from its first row.
    if !problem.accumulates {
      biasGradient?.update(repeating: 0, count: v)
      if n == 0 { weightGradient?.update(repeating: 0, count: v * d) }
    }
    guard n > 0 else {
      if problem.reduction != .none {
        loss[0] = A.Value(problem.reduction == .mean ? 0 / problem.denominators.loss : 0)
      }
      return
    }
    switch problem.blocking(elementBytes: MemoryLayout<A.Value>.stride) {
    case .rows(let rows): rowChunks(rows)
    case .vocabulary(let rows, let classes): vocabularyBlocks((rows, classes))
    }
  }

  /// `c[i, j] = b[v0 + j]` (or 0) for `rows` rows of `columns`, then `c += H[r0...] · W[v0...]ᵀ`.
  func fillLogits(
    _ c: UnsafeMutablePointer<A.Value>, rows: Int, from r0: Int, columns: Int, from v0: Int
  ) {
    let d = problem.hiddenSize
    if let bias {
      for i in 0..<rows {
        for j in 0..<columns { c[i * columns + j] = A.value(bias[v0 + j]) }
      }
    }
    A.logits(
      m: rows, n: columns, k: d, hidden: hidden + r0 * d, lda: d, weight: weight + v0 * d,
      ldb: d, c: c, ldc: columns, accumulate: bias != nil)
  }

  /// `db[v0 + j] += sum_i g[i, j]` in row order, threads over disjoint column ranges.
  func addColumnSums(
    _ g: UnsafeMutablePointer<A.Value>, rows: Int, columns: Int,
    into db: UnsafeMutablePointer<A.Value>
  ) {
    let threads = Threads.count(rows: columns, elementsPerRow: rows)
    Threads.forEachRange(rows: columns, threads: threads) { range in
      for i in 0..<rows {
        let row = g + i * columns
        for j in range { db[j] += row[j] }
      }
    }
  }

  /// Liger-Kernel's schedule: chunks of `chunkRows` full rows.
  private func rowChunks(_ chunkRows: Int) {
    let (n, d, v) = (problem.rows, problem.hiddenSize, problem.classes)
    let scratch = UnsafeMutablePointer<A.Value>.allocate(capacity: chunkRows * v)
    defer { scratch.deallocate() }
    var chunkLoss: A.Value = 0
    var total = 0.0
    for r0 in stride(from: 0, to: n, by: chunkRows) {
      let rows = min(chunkRows, n - r0)
      fillLogits(scratch, rows: rows, from: r0, columns: v, from: 0)
      let chunkLabels = UnsafeBufferPointer(rebasing: labels[r0..<r0 + rows])
      if let logSumExp {
        let kept = chunkLabels.map { $0 != problem.ignoreIndex }
        let values = A.logSumExps(
          scratch, rows: rows, classes: v, softCap: problem.logitSoftCap, kept: kept)
        for i in 0..<rows { logSumExp[r0 + i] = A.Value(values[i]) }
      }
      withUnsafeMutablePointer(to: &chunkLoss) { single in
        A.softmaxCrossEntropy(
          logits: scratch, labels: chunkLabels, classWeights: classWeights,
          problem: problem.chunk(rows: rows, from: r0),
          loss: problem.reduction == .none
            ? UnsafeMutableBufferPointer(rebasing: loss[r0..<r0 + rows])
            : UnsafeMutableBufferPointer(start: single, count: 1),
          gradient: wantsGradient, statistics: statistics.map { $0 + r0 })
      }
      if problem.reduction != .none { total += Double(chunkLoss) }
      guard wantsGradient else { continue }
      let g = UnsafePointer(scratch)
      if let hiddenGradient {
        A.hiddenGradient(
          m: rows, n: d, k: v, g: g, lda: v, weight: weight, ldb: d,
          c: hiddenGradient + r0 * d, ldc: d, accumulate: false)
      }
      if let weightGradient {
        A.weightGradient(
          m: v, n: d, k: rows, g: g, lda: v, hidden: hidden + r0 * d, ldb: d, c: weightGradient,
          ldc: d, accumulate: problem.accumulates || r0 > 0)
      }
      if let biasGradient { addColumnSums(scratch, rows: rows, columns: v, into: biasGradient) }
    }
    if problem.reduction != .none { loss[0] = A.Value(total) }
  }
}
