extension GEMM {
  /// `C (+)= op(A) · op(B)` in Double: blocks of `op(B)` packed row by row, each row of C
  /// updated one step of k at a time (a multiply and an add, vectorised along the row), on up to
  /// `threads` threads over ranges of rows. Each element is the sum of its products in
  /// ascending k, started from zero or from C: the order of the plain triple loop. A thread
  /// gets at least `minimumWorkPerThread` multiply-adds.
  @inline(never)
  static func blockedDouble(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Double>, lda: Int, transposeA: Bool,
    b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, threads: Int,
    minimumWorkPerThread: Int = Blocking.minimumWorkPerThread
  ) {
    guard m > 0, n > 0 else { return }
    if !accumulate {
      for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
    }
    guard k > 0 else { return }
    let (aRow, aStep) = transposeA ? (1, lda) : (lda, 1)
    let (bStep, bColumn) = transposeB ? (1, ldb) : (ldb, 1)
    let byWork = max(1, m * n * k / max(1, minimumWorkPerThread))
    let t = max(1, min(threads, byWork, m))
    let kcBlock = 256
    let ncBlock = 512
    Threads.forEachRange(rows: m, threads: t) { rows in
      let packed = UnsafeMutablePointer<Double>.allocate(
        capacity: min(kcBlock, k) * min(ncBlock, n))
      defer { packed.deallocate() }
      for jc in stride(from: 0, to: n, by: ncBlock) {
        let nc = min(ncBlock, n - jc)
        for pc in stride(from: 0, to: k, by: kcBlock) {
          let kc = min(kcBlock, k - pc)
          for p in 0..<kc {
            let source = b + (pc + p) * bStep + jc * bColumn
            let row = packed + p * nc
            for j in 0..<nc { row[j] = source[j * bColumn] }
          }
          for i in rows {
            let cRow = c + i * ldc + jc
            let aBase = a + i * aRow + pc * aStep
            for p in 0..<kc {
              let x = aBase[p * aStep]
              let bRow = packed + p * nc
              for j in 0..<nc { cRow[j] += x * bRow[j] }
            }
          }
        }
      }
    }
  }
}
