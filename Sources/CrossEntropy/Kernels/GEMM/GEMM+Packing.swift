extension GEMM {
  /// A matrix operand as a packing routine reads it: element `(r, p)` of a panel (`r` a row of
  /// `op(A)` or a column of `op(B)`, `p` a step of k) is `base[r * rowStride + p * depthStride]`.
  struct Operand<S: KernelStorage> {
    var base: UnsafePointer<S.Stored>
    var rowStride: Int
    var depthStride: Int

    /// `op(A)` of `C = op(A) · op(B)`: rows of `op(A)`.
    init(a: UnsafePointer<S.Stored>, lda: Int, transposed: Bool) {
      base = a
      (rowStride, depthStride) = transposed ? (1, lda) : (lda, 1)
    }

    /// `op(B)` of `C = op(A) · op(B)`: columns of `op(B)`.
    init(b: UnsafePointer<S.Stored>, ldb: Int, transposed: Bool) {
      base = b
      (rowStride, depthStride) = transposed ? (ldb, 1) : (1, ldb)
    }

    /// Packs rows `rows` and steps `depth` into panels of `width` rows: panel `q` at
    /// `destination + q * width * depth.count` holds step `p` of its rows at `p * width`, widened
    /// to fp32; the rows of the last panel beyond `rows` are zeros.
    @inline(__always)
    func pack(
      rows: Range<Int>, depth: Range<Int>, width: Int, into destination: UnsafeMutablePointer<Float>
    ) {
      var panel = destination
      for first in stride(from: rows.lowerBound, to: rows.upperBound, by: width) {
        let count = min(width, rows.upperBound - first)
        packPanel(first: first, count: count, depth: depth, width: width, into: panel)
        panel += width * depth.count
      }
    }

    /// One panel of `count <= width` rows from row `first`.
    @inline(__always)
    func packPanel(
      first: Int, count: Int, depth: Range<Int>, width: Int,
      into panel: UnsafeMutablePointer<Float>
    ) {
      let kc = depth.count
      if depthStride == 1 {
        // Each row is contiguous along k: 16 steps of a row per load, stored at stride `width`.
        for r in 0..<count {
          let row = base + (first + r) * rowStride + depth.lowerBound
          var p = 0
          while p + 16 <= kc {
            let v = S.load(row, p)
            for lane in 0..<16 { panel[(p + lane) * width + r] = v[lane] }
            p += 16
          }
          while p < kc {
            panel[p * width + r] = S.float(row[p])
            p += 1
          }
        }
      } else if rowStride == 1 && count == width && width % 16 == 0 {
        // Each step is contiguous along the rows: whole vectors.
        for p in 0..<kc {
          let step = base + (depth.lowerBound + p) * depthStride + first
          for lane in stride(from: 0, to: width, by: 16) {
            VectorMath.store(S.load(step, lane), panel + p * width, lane)
          }
        }
        return
      } else {
        for p in 0..<kc {
          let step = base + (depth.lowerBound + p) * depthStride + first * rowStride
          for r in 0..<count { panel[p * width + r] = S.float(step[r * rowStride]) }
        }
      }
      if count < width {
        for p in 0..<kc {
          for r in count..<width { panel[p * width + r] = 0 }
        }
      }
    }
  }
}
