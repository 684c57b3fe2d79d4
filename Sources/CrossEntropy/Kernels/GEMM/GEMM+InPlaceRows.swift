extension GEMM {
  /// The most floats of packed `op(A)` the in-place path keeps (all of `op(A)`, 2 MB).
  static let inPlaceRowsPackedLimit = 1 << 19

  /// The most rows of `op(A)` the in-place path takes: one block of `op(A)` per step block (at
  /// most 128 KB, in L2 with the rows of W it meets). With more rows, the rows of W would be
  /// read once per block of rows, and the packed path, which reads them once, is as fast
  /// (the logits product of 512-row chunks runs at the same speed on both).
  static let inPlaceRowsLimit = 128

  /// Whether `C (+)= op(A) · op(B)` takes ``inPlaceRows(a:b:m:n:k:c:ldc:accumulate:threads:kernel:minimumWorkPerThread:)``:
  /// `op(B)` is fp32 with its columns contiguous along k (`transposeB`, the classifier of the
  /// logits product), the kernel has the variant, `m` is at most ``inPlaceRowsLimit`` and all
  /// of `op(A)` packed fits ``inPlaceRowsPackedLimit``.
  @inline(__always)
  static func takesInPlaceRows<SA: KernelStorage, SB: KernelStorage>(
    a: Operand<SA>, b: Operand<SB>, m: Int, k: Int, kernel: Kernel
  ) -> Bool {
    SB.self == FloatStorage.self && b.depthStride == 1 && kernel.readsRowsInPlace
      && m <= inPlaceRowsLimit && roundUp(m, kernel.columns) * k <= inPlaceRowsPackedLimit
  }

  /// `C (+)= op(A) · op(B)` computed as `Cᵀ = op(B)ᵀ · op(A)ᵀ`: the columns of `op(B)` (rows of
  /// the classifier) are read in place by the micro-kernel, six at a time, and all of `op(A)`
  /// is packed once, into panels of NR rows per block of `kc` steps. Groups of 48 rows of `Cᵀ`
  /// are summed in a small buffer and written to C once, transposed. When `n` is
  /// large and `m` small (the logits product of a row chunk), this reads the classifier once,
  /// straight from memory, with no copy: the packed path copies (and transposes) all of it
  /// before the kernel reads it again.
  ///
  /// The sums are those of ``blocked(a:b:m:n:k:c:ldc:accumulate:threads:kernel:minimumWorkPerThread:)``:
  /// one fp32 sum per block of `kc` steps in ascending order, from zero, added to C block after
  /// block, so the results are the same bits. Threads take disjoint ranges of six columns of C.
  @inline(never)
  static func inPlaceRows<SA: KernelStorage, SB: KernelStorage>(
    a: Operand<SA>, b: Operand<SB>, m: Int, n: Int, k: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int, kernel: Kernel,
    minimumWorkPerThread: Int
  ) {
    let mr = kernel.rows
    let nr = kernel.columns
    let padded = roundUp(m, nr)
    let blocks = (k + Blocking.kc - 1) / Blocking.kc
    let packed = UnsafeMutableRawPointer.allocate(
      byteCount: padded * k * MemoryLayout<Float>.stride, alignment: 64
    ).bindMemory(to: Float.self, capacity: padded * k)
    defer { packed.deallocate() }
    // Block `q` of `kc` steps starts at `q * kc * padded`.
    let packThreads = padded * k < 1 << 16 ? 1 : max(1, min(threads, blocks))
    let target = Unchecked(value: packed)
    Threads.forEachRange(rows: blocks, threads: packThreads) { range in
      for q in range {
        let pc = q * Blocking.kc
        let kc = min(Blocking.kc, k - pc)
        a.pack(rows: 0..<m, depth: pc..<pc + kc, width: nr, into: target.value + pc * padded)
      }
    }
    let rowTiles = (n + mr - 1) / mr
    // Eight tiles of six rows share each block of packed `op(A)` (in L2) and are written to C
    // together (whole cache lines).
    let groupTiles = 8
    let byWork = max(1, m * n * k / max(1, minimumWorkPerThread))
    let computeThreads = max(1, min(threads, byWork, rowTiles))
    let weight = UnsafeRawPointer(b.base).assumingMemoryBound(to: Float.self)
    let ldw = b.rowStride
    let output = Unchecked(value: c)
    Threads.forEachRange(rows: rowTiles, threads: computeThreads) { tiles in
      let c = output.value
      let panels = UnsafePointer(target.value)
      // A group of rows of Cᵀ, summed here block after block and written to C once, transposed.
      let rowsOfCt = UnsafeMutablePointer<Float>.allocate(capacity: groupTiles * mr * padded)
      defer { rowsOfCt.deallocate() }
      for group in stride(from: tiles.lowerBound, to: tiles.upperBound, by: groupTiles) {
        let first = group * mr
        let groupRows = min(min(groupTiles, tiles.upperBound - group) * mr, n - first)
        if accumulate {
          for i in 0..<m {
            let row = c + i * ldc + first
            for r in 0..<groupRows { rowsOfCt[r * padded + i] = row[r] }
          }
        }
        for pc in stride(from: 0, to: k, by: Blocking.kc) {
          let kc = min(Blocking.kc, k - pc)
          let add = accumulate || pc > 0
          let block = panels + pc * padded
          for r0 in stride(from: 0, to: groupRows, by: mr) {
            let a = weight + (first + r0) * ldw + pc
            let out = rowsOfCt + r0 * padded
            for jr in stride(from: 0, to: m, by: nr) {
              kernel.tileRows(
                kc: kc, a: a, lda: ldw, b: block + jr * kc, c: out + jr, ldc: padded,
                rows: min(mr, groupRows - r0), columns: min(nr, m - jr), accumulate: add)
            }
          }
        }
        for i in 0..<m {
          let row = c + i * ldc + first
          for r in 0..<groupRows { row[r] = rowsOfCt[r * padded + i] }
        }
      }
    }
  }
}
