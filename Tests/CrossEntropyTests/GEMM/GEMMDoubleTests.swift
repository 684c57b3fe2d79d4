import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The Double GEMM: every layout, C overwritten and accumulated, padded leading dimensions,
/// block edges, empty products and thread counts. It adds each element's products in ascending
/// k (a multiply and an add, no FMA), the order of the plain triple loop, so it must give that
/// loop's bits exactly.
@Suite struct GEMMDoubleTests {
  /// The plain triple loop.
  func naive(
    _ problem: GEMMTestCase, a: [Double], b: [Double], c: [Double], accumulate: Bool
  ) -> [Double] {
    var c = c
    for i in 0..<problem.m {
      for j in 0..<problem.n {
        var sum = accumulate ? c[i * problem.ldc + j] : 0
        for p in 0..<problem.k { sum += a[problem.aIndex(i, p)] * b[problem.bIndex(p, j)] }
        c[i * problem.ldc + j] = sum
      }
    }
    return c
  }

  func run(
    _ problem: GEMMTestCase, a: [Double], b: [Double], c: [Double], accumulate: Bool,
    threads: Int
  ) -> [Double] {
    var c = c
    c.withUnsafeMutableBufferPointer { out in
      GEMM.blockedDouble(
        m: problem.m, n: problem.n, k: problem.k, a: a, lda: problem.lda,
        transposeA: problem.transposeA, b: b, ldb: problem.ldb, transposeB: problem.transposeB,
        c: out.baseAddress!, ldc: problem.ldc, accumulate: accumulate, threads: threads,
        minimumWorkPerThread: 1)
    }
    return c
  }

  @Test func matchesTheTripleLoop() {
    var seed: UInt64 = 100
    let sizes = [
      (1, 1, 1), (3, 5, 0), (0, 4, 3), (4, 0, 2), (7, 9, 4), (13, 31, 257), (5, 513, 3),
      (30, 20, 70),
    ]
    for (m, n, k) in sizes {
      for (transposeA, transposeB) in gemmLayouts {
        seed += 1
        let problem = GEMMTestCase(
          m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
          padding: Int(seed % 2) * 2)
        let (a, b, c) = problem.values(seed: seed)
        for accumulate in [false, true] {
          let expected = naive(problem, a: a, b: b, c: c, accumulate: accumulate)
          for threads in kernelThreadCounts {
            let result = run(problem, a: a, b: b, c: c, accumulate: accumulate, threads: threads)
            #expect(
              result.map(\.bitPattern) == expected.map(\.bitPattern),
              "\(problem) accumulate \(accumulate) threads \(threads)")
          }
        }
      }
    }
  }

  /// The entry the head calls.
  @Test func entry() {
    let problem = GEMMTestCase(m: 9, n: 11, k: 13, transposeA: true, transposeB: false)
    let (a, b, c) = problem.values(seed: 5)
    var result = c
    result.withUnsafeMutableBufferPointer { out in
      GEMM.multiply(
        m: 9, n: 11, k: 13, a: a, lda: problem.lda, transposeA: true, b: b, ldb: problem.ldb,
        transposeB: false, c: out.baseAddress!, ldc: problem.ldc, accumulate: true, threads: 2)
    }
    let expected = naive(problem, a: a, b: b, c: c, accumulate: true)
    #expect(result.map(\.bitPattern) == expected.map(\.bitPattern))
  }
}
