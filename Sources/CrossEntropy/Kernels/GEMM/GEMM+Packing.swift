import CrossEntropyGEMMKernels

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
      var rows = rows
      if rowStride == 1 && depthStride != 1 && width % 16 == 0 && rows.count >= width {
        let full = rows.count / width * width
        packSteps(first: rows.lowerBound, count: full, depth: depth, width: width, into: panel)
        panel += full * depth.count
        rows = rows.lowerBound + full..<rows.upperBound
      }
      for first in stride(from: rows.lowerBound, to: rows.upperBound, by: width) {
        let count = min(width, rows.upperBound - first)
        packPanel(first: first, count: count, depth: depth, width: width, into: panel)
        panel += width * depth.count
      }
    }

    /// Full panels of `count` (a multiple of `width`) rows from row `first`, when each step is
    /// contiguous along the rows (`rowStride == 1`: the classifier of `dH = G · W`): one step
    /// at a time across all the panels, so that each row of memory is read in order, with the
    /// step `prefetchSteps` ahead requested from memory meanwhile (the rows are far apart, so
    /// the hardware's prefetcher, which stops at page boundaries, does not run ahead of them).
    @inline(__always)
    func packSteps(
      first: Int, count: Int, depth: Range<Int>, width: Int,
      into destination: UnsafeMutablePointer<Float>
    ) {
      let prefetchSteps = 4
      let kc = depth.count
      let panelSize = width * kc
      var step = base + depth.lowerBound * depthStride + first
      for p in 0..<kc {
        let ahead = p + prefetchSteps < kc ? step + prefetchSteps * depthStride : nil
        var out = destination + p * width
        var lane = 0
        while lane < count {
          if let ahead { xent_gemm_prefetch(ahead + lane) }
          for offset in stride(from: 0, to: width, by: 16) {
            VectorMath.store(S.load(step, lane + offset), out, offset)
          }
          lane += width
          out += panelSize
        }
        step += depthStride
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
        // Each row is contiguous along k: 16 steps of four rows per round of loads, stored
        // four rows at a time (a 4 x 4 transpose per step), then two, then one.
        var r = 0
        while r + 4 <= count {
          let row = base + (first + r) * rowStride + depth.lowerBound
          let (row1, row2, row3) = (row + rowStride, row + 2 * rowStride, row + 3 * rowStride)
          var out = panel + r
          var p = 0
          while p + 16 <= kc {
            let (v0, v1, v2, v3) = (
              S.load(row, p), S.load(row1, p), S.load(row2, p), S.load(row3, p)
            )
            for lane in 0..<16 {
              UnsafeMutableRawPointer(out).storeBytes(
                of: SIMD4(v0[lane], v1[lane], v2[lane], v3[lane]), as: SIMD4<Float>.self)
              out += width
            }
            p += 16
          }
          while p < kc {
            out[0] = S.float(row[p])
            out[1] = S.float(row1[p])
            out[2] = S.float(row2[p])
            out[3] = S.float(row3[p])
            out += width
            p += 1
          }
          r += 4
        }
        if r + 2 <= count {
          // Two rows left (a 6-row panel): pairs of values.
          let row = base + (first + r) * rowStride + depth.lowerBound
          let row1 = row + rowStride
          var out = panel + r
          var p = 0
          while p + 16 <= kc {
            let (v0, v1) = (S.load(row, p), S.load(row1, p))
            for lane in 0..<16 {
              UnsafeMutableRawPointer(out).storeBytes(
                of: SIMD2(v0[lane], v1[lane]), as: SIMD2<Float>.self)
              out += width
            }
            p += 16
          }
          while p < kc {
            out[0] = S.float(row[p])
            out[1] = S.float(row1[p])
            out += width
            p += 1
          }
          r += 2
        }
        while r < count {
          let row = base + (first + r) * rowStride + depth.lowerBound
          var out = panel + r
          for p in 0..<kc {
            out.pointee = S.float(row[p])
            out += width
          }
          r += 1
        }
      } else if rowStride == 1 && count == width && width % 16 == 0 {
        // Each step is contiguous along the rows: whole vectors.
        var step = base + depth.lowerBound * depthStride + first
        var out = panel
        for _ in 0..<kc {
          for lane in stride(from: 0, to: width, by: 16) {
            VectorMath.store(S.load(step, lane), out, lane)
          }
          step += depthStride
          out += width
        }
        return
      } else {
        var step = base + depth.lowerBound * depthStride + first * rowStride
        var out = panel
        for _ in 0..<kc {
          for r in 0..<count { out[r] = S.float(step[r &* rowStride]) }
          step += depthStride
          out += width
        }
      }
      if count < width {
        var out = panel
        for _ in 0..<kc {
          for r in count..<width { out[r] = 0 }
          out += width
        }
      }
    }
  }
}
