extension GEMM {
  /// The cache blocks, for a core with 32 KB of L1 data cache, 512 KB of L2 and a shared L3
  /// of several MB (AMD Zen 3; the blocks also suit larger caches):
  ///
  /// - `kc` steps of k per packed panel: a 6 x 16 AVX2 tile streams a 16 KB B micro-panel
  ///   (256 x 16 fp32) that stays in L1 while the A micro-panels (6 KB each) pass through;
  /// - `mc` rows of A per packed block: 144 x 256 fp32 is 144 KB, well inside L2;
  /// - `nc` columns of B per packed block: 256 x 1024 fp32 is 1 MB, in L3 (with 4 MB blocks the
  ///   logits product, where n is large, reaches 63% of the FMA peak on Zen 3 instead of 70%).
  ///
  /// `kc` alone decides the order of the sums (each element adds one fp32 partial sum per block
  /// of `kc` steps, in ascending order), and it depends on nothing but this constant.
  enum Blocking {
    static let kc = 256
    static let mc = 144
    static let nc = 1024
    /// The fewest multiply-adds worth a thread of their own.
    static let minimumWorkPerThread = 1 << 22
  }

  /// `C (+)= op(A) · op(B)` in fp32 with `kernel`, blocked and packed, on up to `threads`
  /// threads over disjoint blocks of C.
  @inline(never)
  static func blocked<SA: KernelStorage, SB: KernelStorage>(
    a: Operand<SA>, b: Operand<SB>, m: Int, n: Int, k: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int, kernel: Kernel,
    minimumWorkPerThread: Int
  ) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      if !accumulate {
        for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
      }
      return
    }
    if takesInPlaceRows(a: a, b: b, m: m, k: k, kernel: kernel) {
      inPlaceRows(
        a: a, b: b, m: m, n: n, k: k, c: c, ldc: ldc, accumulate: accumulate, threads: threads,
        kernel: kernel, minimumWorkPerThread: minimumWorkPerThread)
      return
    }
    let split = Split(
      m: m, n: n, k: k, threads: threads, minimumWork: minimumWorkPerThread, kernel: kernel)
    Threads.forEachRange(rows: split.tiles, threads: split.threads) { tiles in
      let (rows, columns) = split.block(tiles)
      blockedRange(
        a: a, b: b, rows: rows, columns: columns, k: k, c: c, ldc: ldc, accumulate: accumulate,
        kernel: kernel)
    }
  }

  /// How the output is split over threads: into contiguous ranges of tile rows, or of tile
  /// columns, whichever packs less. A thread packs the B blocks of its columns for its own rows,
  /// so splitting rows packs all of B once per thread, and splitting columns packs A once per
  /// thread and block of `nc` columns.
  struct Split {
    var m: Int
    var n: Int
    var splitsRows: Bool
    var tiles: Int
    var threads: Int
    var tileSize: Int

    init(m: Int, n: Int, k: Int, threads requested: Int, minimumWork: Int, kernel: Kernel) {
      self.m = m
      self.n = n
      let byWork = max(1, m * n * k / max(1, minimumWork))
      let t = max(1, min(requested, byWork))
      let nc = GEMM.columnBlock(k: k)
      let rowPacking = t * n + m * ((n + nc - 1) / nc)
      let columnPacking = n + t * m * ((n + t * nc - 1) / (t * nc))
      splitsRows = rowPacking <= columnPacking
      tileSize = splitsRows ? kernel.rows : kernel.columns
      tiles = ((splitsRows ? m : n) + tileSize - 1) / tileSize
      threads = min(t, tiles)
    }

    /// The rows and columns of C for a range of tiles.
    func block(_ range: Range<Int>) -> (rows: Range<Int>, columns: Range<Int>) {
      let lower = range.lowerBound * tileSize
      if splitsRows { return (lower..<min(m, range.upperBound * tileSize), 0..<n) }
      return (0..<m, lower..<min(n, range.upperBound * tileSize))
    }
  }

  /// One thread's block of C, with its own packing buffers: the BLIS loops (columns by `nc`,
  /// k by `kc` with B packed, rows by `mc` with A packed, then tiles).
  @inline(__always)
  static func blockedRange<SA: KernelStorage, SB: KernelStorage>(
    a: Operand<SA>, b: Operand<SB>, rows: Range<Int>, columns: Range<Int>, k: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: Kernel
  ) {
    let mr = kernel.rows
    let nr = kernel.columns
    let depth = min(Blocking.kc, k)
    let columnBlock = columnBlock(k: k)
    let aCount = roundUp(min(Blocking.mc, rows.count), mr) * depth
    let bCount = roundUp(min(columnBlock, columns.count), nr) * depth
    let buffer = UnsafeMutableRawPointer.allocate(
      byteCount: (aCount + bCount) * MemoryLayout<Float>.stride, alignment: 64)
    defer { buffer.deallocate() }
    let packedA = buffer.bindMemory(to: Float.self, capacity: aCount + bCount)
    let packedB = packedA + aCount
    for jc in stride(from: columns.lowerBound, to: columns.upperBound, by: columnBlock) {
      let nc = min(columnBlock, columns.upperBound - jc)
      for pc in stride(from: 0, to: k, by: Blocking.kc) {
        let kc = min(Blocking.kc, k - pc)
        b.pack(rows: jc..<jc + nc, depth: pc..<pc + kc, width: nr, into: packedB)
        let add = accumulate || pc > 0
        for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: Blocking.mc) {
          let mc = min(Blocking.mc, rows.upperBound - ic)
          a.pack(rows: ic..<ic + mc, depth: pc..<pc + kc, width: mr, into: packedA)
          for jr in stride(from: 0, to: nc, by: nr) {
            for ir in stride(from: 0, to: mc, by: mr) {
              kernel.tile(
                kc: kc, a: packedA + ir * kc, b: packedB + jr * kc,
                c: c + (ic + ir) * ldc + jc + jr, ldc: ldc, rows: min(mr, mc - ir),
                columns: min(nr, nc - jr), accumulate: add)
            }
          }
        }
      }
    }
  }

  /// The columns of B packed at once for an inner dimension `k`: ``Blocking/nc``, or more when
  /// `k` is shorter than ``Blocking/kc``, so that the packed block holds up to `nc · kc` floats
  /// (1 MB) either way. With the short k of `dW += Gᵀ · H` over a row chunk, a block then spans
  /// all of D and each thread packs only its own rows of `Gᵀ`, once.
  @inline(__always)
  static func columnBlock(k: Int) -> Int {
    Blocking.nc * (Blocking.kc / max(1, min(Blocking.kc, k)))
  }

  /// `value` rounded up to a multiple of `multiple`.
  @inline(__always)
  static func roundUp(_ value: Int, _ multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
  }
}
