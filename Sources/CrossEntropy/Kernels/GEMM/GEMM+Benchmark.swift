import CrossEntropyGEMMKernels

/// One GEMM of the language-model head on deterministic operands, for `xent bench --loss gemm`:
/// the product, the micro-kernel that runs it, and the multiply-add peak of that kernel's
/// instruction set. Not API (package access).
package final class GEMMBenchmark {
  /// The three products of the head.
  package enum Layout: String, CaseIterable, Sendable {
    /// `C = A · Bᵀ`, the logits `H · Wᵀ` (A m x k, B n x k).
    case nt
    /// `C = A · B`, the hidden gradient `G · W` (A m x k, B k x n).
    case nn
    /// `C += Aᵀ · B`, the weight gradient `Gᵀ · H` (A k x m, B k x n).
    case tn
  }

  /// The operands' element type. For `nt` both operands have it (H and W); for `nn` and `tn`
  /// only B (W, H): A is the logit gradient, which the head keeps in fp32.
  package enum Operands: String, CaseIterable, Sendable {
    case float32, float16, bfloat16
  }

  package let m: Int
  package let n: Int
  package let k: Int
  package let layout: Layout
  package let operands: Operands
  private var a32: [Float]
  private var b32: [Float]
  private var a16: [UInt16]
  private var b16: [UInt16]
  private var c: [Float]

  /// Whether this platform has the operand type (no Float16 on macOS x86-64).
  package static func supports(_ operands: Operands) -> Bool {
    #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
      return operands != .float16
    #else
      return true
    #endif
  }

  /// A product of `m x n` outputs over `k`, with values in [-1, 1).
  package init(m: Int, n: Int, k: Int, layout: Layout, operands: Operands) {
    self.m = m
    self.n = n
    self.k = k
    self.layout = layout
    self.operands = operands
    var state: UInt32 = 12345
    func values(_ count: Int) -> [Float] {
      (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return Float(state >> 8) / Float(1 << 23) - 1
      }
    }
    a32 = values(m * k)
    b32 = values(k * n)
    c = [Float](repeating: 0, count: m * n)
    let halfA = layout == .nt && operands != .float32
    let halfB = operands != .float32
    a16 = halfA ? a32.map { Self.bits($0, operands) } : []
    b16 = halfB ? b32.map { Self.bits($0, operands) } : []
  }

  private static func bits(_ x: Float, _ operands: Operands) -> UInt16 {
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      if operands == .float16 { return HalfStorage.stored(x).bitPattern }
    #endif
    return BFloat16Storage.stored(x)
  }

  /// The micro-kernel the products use (``GEMM/Kernel/selected``).
  package var kernel: String { Self.activeKernel }

  /// The name of the micro-kernel every product of this process uses.
  package static var activeKernel: String { GEMM.Kernel.selected.name }

  /// The floating-point operations of one product: 2 m n k.
  package var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

  /// Runs the product once on up to `threads` threads.
  package func run(threads: Int) {
    let transposeA = layout == .tn
    let transposeB = layout == .nt
    let lda = transposeA ? m : k
    let ldb = transposeB ? k : n
    let (m, n, k) = (m, n, k)
    c.withUnsafeMutableBufferPointer { c in
      let c = c.baseAddress!
      func product<SA: KernelStorage, SB: KernelStorage>(
        _: SA.Type, _ a: [SA.Stored], _: SB.Type, _ b: [SB.Stored]
      ) {
        GEMM.multiply(
          SA.self, SB.self, m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b,
          ldb: ldb, transposeB: transposeB, c: c, ldc: n, accumulate: layout == .tn,
          threads: threads)
      }
      switch (operands, layout) {
      case (.float32, _): product(FloatStorage.self, a32, FloatStorage.self, b32)
      case (.bfloat16, .nt): product(BFloat16Storage.self, a16, BFloat16Storage.self, b16)
      case (.bfloat16, _): product(FloatStorage.self, a32, BFloat16Storage.self, b16)
      case (.float16, _):
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
          let b = b16.map { Float16(bitPattern: $0) }
          if layout == .nt {
            product(HalfStorage.self, a16.map { Float16(bitPattern: $0) }, HalfStorage.self, b)
          } else {
            product(FloatStorage.self, a32, HalfStorage.self, b)
          }
        #endif
      }
    }
  }

  /// Runs `iterations` rounds of independent multiply-adds on the selected kernel's instruction
  /// set (FMAs for AVX2 and AVX-512, a multiply and an add for the baseline), in C: time it to
  /// measure the peak a micro-kernel could reach.
  package static func peakLoop(iterations: Int) {
    _ = xent_gemm_peak_loop(Int32(GEMM.Kernel.selected.rawValue), iterations)
  }

  /// The floating-point operations of one round of ``peakLoop(iterations:)``.
  package static var peakFlopsPerIteration: Double {
    Double(xent_gemm_peak_flops_per_iteration(Int32(GEMM.Kernel.selected.rawValue)))
  }
}
