import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The in-place path of `C (+)= op(A) · Bᵀ` (fp32 B read in place, `GEMM+InPlaceRows.swift`)
/// past its groups of 48 columns, up to its 128 rows: against the Double reference, with the
/// same bits as the packed path (taken by a bfloat16 B with the same values) and for 1, 2, 3
/// and 7 threads.
@Suite struct GEMMInPlaceRowsTests {
  @Test(arguments: GEMM.Kernel.supported)
  func matchesThePackedPath(kernel: GEMM.Kernel) {
    let round = { (x: Double) in Double(BFloat16Storage.float(BFloat16Storage.stored(Float(x)))) }
    let bits = { (x: Double) in BFloat16Storage.stored(Float(x)) }
    for (m, n, k, transposeA) in [
      (128, 100, 260, false), (97, 55, 300, true), (13, 49, 7, false),
    ] {
      let problem = GEMMTestCase(
        m: m, n: n, k: k, transposeA: transposeA, transposeB: true, padding: 1)
      let (a, b, c) = problem.values(seed: UInt64(m), roundB: round)
      let (a32, b32, c32) = (a.map(Float.init), b.map(Float.init), c.map(Float.init))
      a32.withUnsafeBufferPointer { a in
        b32.withUnsafeBufferPointer { b in
          let takes = GEMM.takesInPlaceRows(
            a: GEMM.Operand<FloatStorage>(a: a.baseAddress!, lda: problem.lda, transposed: false),
            b: GEMM.Operand<FloatStorage>(b: b.baseAddress!, ldb: problem.ldb, transposed: true),
            m: m, k: k, kernel: kernel)
          #expect(takes == kernel.readsRowsInPlace, "\(kernel.name) \(problem)")
        }
      }
      for accumulate in [false, true] {
        let packed = problem.run(
          FloatStorage.self, BFloat16Storage.self, a: a32, b: b.map(bits), c: c32,
          accumulate: accumulate, threads: 1, kernel: kernel)
        for threads in [1, 2, 3, 7] {
          let inPlace = problem.run(
            FloatStorage.self, FloatStorage.self, a: a32, b: b32, c: c32,
            accumulate: accumulate, threads: threads, kernel: kernel)
          problem.expectMatches(
            inPlace, problem.reference(a: a, b: b, c: c, accumulate: accumulate),
            "\(kernel.name) accumulate \(accumulate) \(threads) threads")
          #expect(
            bitPatterns(inPlace) == bitPatterns(packed),
            "\(kernel.name) \(problem) accumulate \(accumulate) \(threads) threads")
        }
      }
    }
  }
}
