import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// One product `C (+)= op(A) · op(B)` for the GEMM tests: its sizes, layout and leading
/// dimensions (each `padding` past the smallest), and random operands whose padding holds NaN,
/// so that a read outside the matrices shows in the result. C's padding holds a sentinel that
/// must survive.
struct GEMMTestCase: CustomStringConvertible {
  var m: Int
  var n: Int
  var k: Int
  var transposeA: Bool
  var transposeB: Bool
  var padding = 0

  var lda: Int { (transposeA ? m : k) + padding }
  var ldb: Int { (transposeB ? k : n) + padding }
  var ldc: Int { n + padding }
  // One element past each matrix (NaN, or C's sentinel): never empty, and an overrun shows.
  var aCount: Int { (transposeA ? k : m) * lda + 1 }
  var bCount: Int { (transposeB ? n : k) * ldb + 1 }
  var cCount: Int { m * ldc + 1 }

  /// The index of `op(A)[i, p]` in A.
  func aIndex(_ i: Int, _ p: Int) -> Int { transposeA ? p * lda + i : i * lda + p }
  /// The index of `op(B)[p, j]` in B.
  func bIndex(_ p: Int, _ j: Int) -> Int { transposeB ? j * ldb + p : p * ldb + j }

  var description: String {
    "m \(m) n \(n) k \(k) \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") padding \(padding)"
  }

  /// C's padding value.
  static let sentinel: Float = 12345

  /// Operand values for A, B and the starting C (NaN and the sentinel in the padding), drawn
  /// from `seed` and rounded through `round` (to the operand types' values).
  func values(
    seed: UInt64, roundA: (Double) -> Double = { $0 }, roundB: (Double) -> Double = { $0 }
  ) -> (a: [Double], b: [Double], c: [Double]) {
    var generator = SeededGenerator(scrambledSeed: seed)
    var a = [Double](repeating: .nan, count: aCount)
    var b = [Double](repeating: .nan, count: bCount)
    var c = [Double](repeating: Double(Self.sentinel), count: cCount)
    let aValues = generator.normals(m * k)
    let bValues = generator.normals(k * n)
    let cValues = generator.normals(m * n, scale: 4)
    for i in 0..<m {
      for p in 0..<k { a[aIndex(i, p)] = roundA(aValues[i * k + p]) }
      for j in 0..<n { c[i * ldc + j] = Double(Float(cValues[i * n + j])) }
    }
    for p in 0..<k {
      for j in 0..<n { b[bIndex(p, j)] = roundB(bValues[p * n + j]) }
    }
    return (a, b, c)
  }

  /// The product in Double, and for each element the sum of the magnitudes of its terms
  /// (Σ|a||b|, plus |C| when accumulating): the scale of its rounding error.
  func reference(
    a: [Double], b: [Double], c: [Double], accumulate: Bool
  ) -> (product: [Double], scale: [Double]) {
    var product = c
    var scale = [Double](repeating: 0, count: cCount)
    for i in 0..<m {
      for j in 0..<n {
        var sum = accumulate ? c[i * ldc + j] : 0
        var magnitude = abs(sum)
        for p in 0..<k {
          let term = a[aIndex(i, p)] * b[bIndex(p, j)]
          sum += term
          magnitude += abs(term)
        }
        product[i * ldc + j] = sum
        scale[i * ldc + j] = magnitude
      }
    }
    return (product, scale)
  }

  /// Expects the fp32 result `c` within `(k + 2) · ε · scale` of the reference in every element
  /// (ε = `Float.ulpOfOne`: the bound of recursive fp32 summation with one more rounding for the
  /// start value and one per block of k), and C's padding unchanged.
  func expectMatches(
    _ c: [Float], _ reference: (product: [Double], scale: [Double]), _ what: String
  ) {
    var bad: [String] = []
    var badCount = 0
    for i in 0..<m {
      for j in 0..<ldc {
        let index = i * ldc + j
        let value = Double(c[index])
        let ok: Bool
        if j >= n {
          ok = c[index] == Self.sentinel
        } else {
          let bound = Double(k + 2) * Double(Float.ulpOfOne) * reference.scale[index]
          ok = abs(value - reference.product[index]) <= bound
        }
        if !ok {
          badCount += 1
          if bad.count < 3 {
            bad.append("[\(i), \(j)] \(value) vs \(reference.product[index])")
          }
        }
      }
    }
    if c[m * ldc] != Self.sentinel { badCount += 1 }
    #expect(badCount == 0, "\(what) \(self): \(badCount) elements differ: \(bad)")
  }

  /// Runs the fp32 GEMM on operands stored as `SA` and `SB`, starting from `c`.
  func run<SA: KernelStorage, SB: KernelStorage>(
    _: SA.Type, _: SB.Type, a: [SA.Stored], b: [SB.Stored], c: [Float], accumulate: Bool,
    threads: Int, kernel: GEMM.Kernel, minimumWorkPerThread: Int = 1
  ) -> [Float] {
    var c = c
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          GEMM.multiply(
            SA.self, SB.self, m: m, n: n, k: k, a: a.baseAddress!, lda: lda,
            transposeA: transposeA, b: b.baseAddress!, ldb: ldb, transposeB: transposeB,
            c: c.baseAddress!, ldc: ldc, accumulate: accumulate, threads: threads, kernel: kernel,
            minimumWorkPerThread: minimumWorkPerThread)
        }
      }
    }
    return c
  }
}

/// The four layouts of `op(A) · op(B)`: NN, NT (logits = H · Wᵀ), TN (dW += Gᵀ · H), TT.
let gemmLayouts = [(false, false), (false, true), (true, false), (true, true)]
