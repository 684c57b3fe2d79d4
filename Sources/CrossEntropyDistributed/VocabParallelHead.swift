import CrossEntropy
import RealModule

/// The schedule of ``VocabParallelLinearCrossEntropy`` on one rank, after the ranks agreed on
/// the input: the logits block by block (twice when streamed), the step's exchanges in between,
/// the gradient products, and the all-reduce of `dH`.
struct VocabParallelHead<Scalar: DistributedScalar> {
  let step: VocabParallelStep<Scalar>
  /// The hidden size `D`.
  let size: Int
  let hidden: UnsafeBufferPointer<Scalar>
  let weight: UnsafeBufferPointer<Scalar>
  let bias: UnsafeBufferPointer<Scalar>?
  let blocks: LogitBlocks

  /// Every block of the slice's logits: rows and the slice's classes.
  private var tiles: [(rows: Range<Int>, columns: Range<Int>)] {
    let width = step.slice.count
    guard step.rows > 0, width > 0 else { return [] }
    return stride(from: 0, to: step.rows, by: blocks.rows).flatMap { r in
      stride(from: 0, to: width, by: blocks.classes).map { c in
        (r..<min(r + blocks.rows, step.rows), c..<min(c + blocks.classes, width))
      }
    }
  }

  func run(
    vocabulary: any Communicator, data: (any Communicator)?,
    loss: UnsafeMutableBufferPointer<Scalar>, hiddenGradient: UnsafeMutableBufferPointer<Scalar>,
    weightGradient: UnsafeMutableBufferPointer<Scalar>,
    biasGradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(CommunicatorError) {
    let capacity = blocks.rows * blocks.classes
    let cap = step.criterion.logitSoftCap.map { Scalar($0) }
    // The block's logits, and with a soft cap the capped ones beside them (the gradient's
    // place): at most the scratch limit together.
    let raw = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: capacity)
    let capped = cap == nil ? raw : UnsafeMutableBufferPointer<Scalar>.allocate(capacity: capacity)
    defer {
      raw.deallocate()
      if cap != nil { capped.deallocate() }
    }
    let tiles = self.tiles
    // Pass 1: the per-row statistics of every block.
    var local = step.emptyLocalRows()
    for (rows, columns) in tiles {
      let z = logits(rows: rows, columns: columns, raw: raw, capped: capped, cap: cap)
      step.accumulate(UnsafeBufferPointer(z), rows: rows, columns: columns, into: &local)
    }
    let shared = try step.exchange(local, vocabulary: vocabulary)
    let global = try step.finish(shared, data: data, loss: loss)
    // Pass 2: the gradient of every block (of the logits still held when unstreamed), and the
    // products dH += G · W_r, dW_r += Gᵀ · H, db_r += column sums of G.
    for (rows, columns) in tiles {
      let count = rows.count * columns.count
      let z =
        blocks.streamed
        ? logits(rows: rows, columns: columns, raw: raw, capped: capped, cap: cap)
        : UnsafeMutableBufferPointer(rebasing: capped[0..<count])
      step.writeGradient(
        z: UnsafeBufferPointer(z), raw: UnsafePointer(raw.baseAddress), rows: rows,
        columns: columns, shared: shared, global: global, gradient: z)
      let g = UnsafePointer(z.baseAddress!)
      let w = weight.baseAddress! + columns.lowerBound * size
      let h = hidden.baseAddress! + rows.lowerBound * size
      product(
        m: rows.count, n: size, k: columns.count, g, lda: columns.count, transposeA: false, w,
        ldb: size, transposeB: false, into: hiddenGradient.baseAddress! + rows.lowerBound * size)
      product(
        m: columns.count, n: size, k: rows.count, g, lda: columns.count, transposeA: true, h,
        ldb: size, transposeB: false,
        into: weightGradient.baseAddress! + columns.lowerBound * size)
      for i in 0..<rows.count {
        for j in 0..<columns.count {
          biasGradient[columns.lowerBound + j] += g[i * columns.count + j]
        }
      }
    }
    try vocabulary.allReduce(hiddenGradient, .sum)
  }

  /// Computes the logits of one block, `H_rows · W_columnsᵀ + b_columns`, into `raw`, and with
  /// a cap `c * tanh(x / c)` into `capped`; returns the block's (capped) logits.
  private func logits(
    rows: Range<Int>, columns: Range<Int>, raw: UnsafeMutableBufferPointer<Scalar>,
    capped: UnsafeMutableBufferPointer<Scalar>, cap: Scalar?
  ) -> UnsafeMutableBufferPointer<Scalar> {
    let count = rows.count * columns.count
    let x = raw.baseAddress!
    x.update(repeating: 0, count: count)
    product(
      m: rows.count, n: columns.count, k: size, hidden.baseAddress! + rows.lowerBound * size,
      lda: size, transposeA: false, weight.baseAddress! + columns.lowerBound * size, ldb: size,
      transposeB: true, into: x)
    if let bias {
      for i in 0..<rows.count {
        for j in 0..<columns.count { x[i * columns.count + j] += bias[columns.lowerBound + j] }
      }
    }
    guard let cap else { return UnsafeMutableBufferPointer(rebasing: raw[0..<count]) }
    for i in 0..<count { capped[i] = cap * Scalar.tanh(x[i] / cap) }
    return UnsafeMutableBufferPointer(rebasing: capped[0..<count])
  }

  /// `C += op(A) · op(B)` (`m x n`, inner size `k`, row-major with leading dimensions `lda`,
  /// `ldb` and `n`, `op` a transpose when asked): the package's fp32 GEMM for Float (on
  /// ``Parallelism/effectiveThreadCount`` threads; its results are the same bits for every
  /// thread count), a plain loop for Double.
  private func product(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<Scalar>, lda: Int, transposeA: Bool,
    _ b: UnsafePointer<Scalar>, ldb: Int, transposeB: Bool, into c: UnsafeMutablePointer<Scalar>
  ) {
    guard m > 0, n > 0, k > 0 else { return }
    if Scalar.self == Float.self {
      // Scalar is Float: the same memory, bound to Float.
      MatrixProduct.multiply(
        m: m, n: n, k: k, a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
        transposeA: transposeA, b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
        ldb: ldb, transposeB: transposeB,
        c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: n,
        accumulate: true, threads: Parallelism.effectiveThreadCount)
      return
    }
    for i in 0..<m {
      for j in 0..<n {
        var sum = Scalar.zero
        for p in 0..<k {
          sum +=
            a[transposeA ? p * lda + i : i * lda + p] * b[transposeB ? j * ldb + p : p * ldb + j]
        }
        c[i * n + j] += sum
      }
    }
  }
}
