import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The fp32 GEMM (`GEMM.multiply` with fp32, float16 and bfloat16 operands) against a Double
/// reference, with every micro-kernel this CPU supports: every layout, C overwritten and
/// accumulated, padded leading dimensions, sizes at and one past the tiles and cache blocks,
/// empty products, and bit-identical results for 1, 2, 3 and 7 threads. The tolerance is
/// `(k + 2) · Float.ulpOfOne · (Σ_p |a_ip| |b_pj| + |C_ij|)` per element (see
/// ``GEMMTestCase/expectMatches(_:_:_:)``); half-precision operands are widened exactly, so it
/// holds for them too.
@Suite struct GEMMTests {
  /// Sizes (m, n, k): single elements, a 6 x 8, 6 x 16 and 6 x 32 tile and one past them,
  /// k one past the 256-step block, m one past the 144-row block, n one past the 1024-column
  /// block, and one medium product.
  static let sizes: [(Int, Int, Int)] = [
    (1, 1, 1), (1, 5, 3), (4, 1, 2), (6, 8, 5), (7, 9, 4), (6, 16, 7), (7, 17, 3), (6, 32, 2),
    (5, 33, 9), (13, 31, 257), (145, 9, 4), (2, 1025, 2), (37, 45, 300),
  ]

  @Test(arguments: GEMM.Kernel.supported)
  func float32(kernel: GEMM.Kernel) {
    var seed: UInt64 = 1
    for (m, n, k) in Self.sizes {
      for (transposeA, transposeB) in gemmLayouts {
        seed += 1
        let problem = GEMMTestCase(
          m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
          padding: Int(seed % 2) * 3)
        let (a, b, c) = problem.values(seed: seed)
        let (a32, b32, c32) = (a.map(Float.init), b.map(Float.init), c.map(Float.init))
        for accumulate in [false, true] {
          let result = problem.run(
            FloatStorage.self, FloatStorage.self, a: a32, b: b32, c: c32,
            accumulate: accumulate, threads: 1, kernel: kernel)
          problem.expectMatches(
            result, problem.reference(a: a, b: b, c: c, accumulate: accumulate),
            "\(kernel.name) accumulate \(accumulate)")
        }
      }
    }
  }

  /// k = 0 writes zeros (or leaves C as it is when accumulating); m = 0 or n = 0 writes nothing.
  @Test(arguments: GEMM.Kernel.supported)
  func emptyProducts(kernel: GEMM.Kernel) {
    for (m, n, k) in [(3, 5, 0), (0, 5, 3), (4, 0, 3), (0, 0, 0)] {
      for (transposeA, transposeB) in gemmLayouts {
        let problem = GEMMTestCase(
          m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, padding: 2)
        let (a, b, c) = problem.values(seed: 7)
        for accumulate in [false, true] {
          let result = problem.run(
            FloatStorage.self, FloatStorage.self, a: a.map(Float.init), b: b.map(Float.init),
            c: c.map(Float.init), accumulate: accumulate, threads: 2, kernel: kernel)
          problem.expectMatches(
            result, problem.reference(a: a, b: b, c: c, accumulate: accumulate),
            "\(kernel.name) accumulate \(accumulate)")
        }
      }
    }
  }

  /// Each element is computed by one thread in one order: the bits do not depend on the thread
  /// count, whether the threads split the rows (m large) or the columns (n large).
  @Test(arguments: GEMM.Kernel.supported)
  func threadCountsGiveIdenticalBits(kernel: GEMM.Kernel) {
    for (m, n, k) in [(61, 37, 300), (13, 150, 40), (7, 1100, 3), (5, 3, 7)] {
      for (transposeA, transposeB) in gemmLayouts {
        let problem = GEMMTestCase(
          m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, padding: 1)
        let (a, b, c) = problem.values(seed: UInt64(m * n + k))
        let (a32, b32, c32) = (a.map(Float.init), b.map(Float.init), c.map(Float.init))
        for accumulate in [false, true] {
          let runs = kernelThreadCounts.map { threads in
            problem.run(
              FloatStorage.self, FloatStorage.self, a: a32, b: b32, c: c32,
              accumulate: accumulate, threads: threads, kernel: kernel)
          }
          problem.expectMatches(
            runs[0], problem.reference(a: a, b: b, c: c, accumulate: accumulate),
            "\(kernel.name) accumulate \(accumulate)")
          for (threads, run) in zip(kernelThreadCounts, runs).dropFirst() {
            #expect(
              bitPatterns(run) == bitPatterns(runs[0]),
              "\(kernel.name) \(problem) accumulate \(accumulate): \(threads) threads")
          }
        }
      }
    }
  }

  /// bfloat16 operands (either side or both), widened exactly, products in fp32.
  @Test(arguments: GEMM.Kernel.supported)
  func bfloat16Operands(kernel: GEMM.Kernel) {
    let round = { (x: Double) in Double(BFloat16Storage.float(BFloat16Storage.stored(Float(x)))) }
    let bits = { (x: Double) in BFloat16Storage.stored(Float(x)) }
    for (m, n, k) in [(7, 17, 20), (13, 33, 257), (1, 40, 3)] {
      for (transposeA, transposeB) in gemmLayouts {
        let problem = GEMMTestCase(
          m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, padding: 1)
        let (a, b, c) = problem.values(seed: 11, roundA: round, roundB: round)
        let reference = problem.reference(a: a, b: b, c: c, accumulate: true)
        let c32 = c.map(Float.init)
        let both = problem.run(
          BFloat16Storage.self, BFloat16Storage.self, a: a.map(bits), b: b.map(bits), c: c32,
          accumulate: true, threads: 3, kernel: kernel)
        problem.expectMatches(both, reference, "\(kernel.name) bfloat16 x bfloat16")
        let left = problem.run(
          BFloat16Storage.self, FloatStorage.self, a: a.map(bits), b: b.map(Float.init), c: c32,
          accumulate: true, threads: 3, kernel: kernel)
        #expect(bitPatterns(left) == bitPatterns(both), "\(kernel.name) \(problem)")
        let right = problem.run(
          FloatStorage.self, BFloat16Storage.self, a: a.map(Float.init), b: b.map(bits), c: c32,
          accumulate: true, threads: 3, kernel: kernel)
        #expect(bitPatterns(right) == bitPatterns(both), "\(kernel.name) \(problem)")
      }
    }
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// Float16 operands, widened exactly: the same bits as their fp32 values.
    @Test(arguments: GEMM.Kernel.supported)
    func float16Operands(kernel: GEMM.Kernel) {
      let round = { (x: Double) in Double(Float(Float16(x))) }
      for (m, n, k) in [(7, 17, 20), (13, 33, 257), (1, 40, 3)] {
        for (transposeA, transposeB) in gemmLayouts {
          let problem = GEMMTestCase(
            m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, padding: 2)
          let (a, b, c) = problem.values(seed: 12, roundA: round, roundB: round)
          let c32 = c.map(Float.init)
          let half = problem.run(
            HalfStorage.self, HalfStorage.self, a: a.map { Float16($0) }, b: b.map { Float16($0) },
            c: c32, accumulate: false, threads: 2, kernel: kernel)
          problem.expectMatches(
            half, problem.reference(a: a, b: b, c: c, accumulate: false),
            "\(kernel.name) float16")
          let single = problem.run(
            FloatStorage.self, FloatStorage.self, a: a.map(Float.init), b: b.map(Float.init),
            c: c32, accumulate: false, threads: 1, kernel: kernel)
          #expect(bitPatterns(half) == bitPatterns(single), "\(kernel.name) \(problem)")
        }
      }
    }
  #endif

  /// The entry without a kernel uses ``GEMM/Kernel/selected`` and the default thread split.
  @Test func defaultEntry() {
    let problem = GEMMTestCase(m: 20, n: 30, k: 40, transposeA: false, transposeB: true)
    let (a, b, c) = problem.values(seed: 3)
    var result = c.map(Float.init)
    let (a32, b32) = (a.map(Float.init), b.map(Float.init))
    result.withUnsafeMutableBufferPointer { out in
      GEMM.multiply(
        FloatStorage.self, FloatStorage.self, m: 20, n: 30, k: 40, a: a32, lda: problem.lda,
        transposeA: false, b: b32, ldb: problem.ldb, transposeB: true, c: out.baseAddress!,
        ldc: problem.ldc, accumulate: true, threads: 2)
    }
    problem.expectMatches(
      result, problem.reference(a: a, b: b, c: c, accumulate: true), "default entry")
    let selected = problem.run(
      FloatStorage.self, FloatStorage.self, a: a32, b: b32, c: c.map(Float.init),
      accumulate: true, threads: 1, kernel: .selected)
    #expect(bitPatterns(result) == bitPatterns(selected))
  }

  /// `XENT_GEMM_KERNEL` picks the kernel, never one the CPU lacks.
  @Test func kernelSelection() {
    #expect(GEMM.Kernel.supported.contains(.baseline))
    #expect(GEMM.Kernel.supported.last == GEMM.Kernel.best)
    #expect(GEMM.Kernel.selected.rawValue <= GEMM.Kernel.best.rawValue)
    let best = GEMM.Kernel.best
    let expected = GEMM.Kernel.requested.map { min($0.rawValue, best.rawValue) } ?? best.rawValue
    #expect(GEMM.Kernel.selected.rawValue == expected)
  }
}
