import CrossEntropyGEMMKernels

extension GEMM {
  /// A register micro-kernel of the C target `CrossEntropyGEMMKernels`, chosen at run time.
  ///
  /// Swift compiles a whole module for one instruction set (the x86-64 baseline by default:
  /// no AVX, no FMA), so the micro-kernels live in C, one function per instruction set compiled
  /// with `__attribute__((target(...)))`; the packing, the blocking and the threads stay here.
  enum Kernel: Int, CaseIterable, Sendable {
    /// Portable C (SSE2 on x86-64, NEON on arm64): 6 x 8 tiles.
    case baseline
    /// AVX2 + FMA: 6 x 16 tiles.
    case avx2
    /// AVX-512F: 6 x 32 tiles.
    case avx512

    /// The kernel's name, as `XENT_GEMM_KERNEL` spells it.
    var name: String {
      switch self {
      case .baseline: "baseline"
      case .avx2: "avx2"
      case .avx512: "avx512"
      }
    }

    /// The best kernel this CPU and operating system support.
    static let best = Kernel(rawValue: Int(xent_gemm_supported_kernel())) ?? .baseline

    /// Every kernel this CPU supports, from the baseline up.
    static var supported: [Kernel] { allCases.filter { $0.rawValue <= best.rawValue } }

    /// The kernel the environment variable `XENT_GEMM_KERNEL` names (`baseline`, `avx2`,
    /// `avx512`), supported or not; nil when it is unset or names none of them.
    static var requested: Kernel? { Kernel(rawValue: Int(xent_gemm_requested_kernel())) }

    /// The kernel every product uses: ``requested`` if the CPU supports it, else the best
    /// supported one below it; ``best`` when nothing is requested. Read once per process.
    static let selected: Kernel = {
      guard let requested else { return best }
      return Kernel(rawValue: min(requested.rawValue, best.rawValue)) ?? best
    }()

    /// The tile rows (MR).
    var rows: Int { Int(xent_gemm_kernel_rows(Int32(rawValue))) }

    /// The tile columns (NR).
    var columns: Int { Int(xent_gemm_kernel_columns(Int32(rawValue))) }

    /// Whether the kernel has a variant that reads the rows of A in place
    /// (``tileRows(kc:a:lda:b:c:ldc:rows:columns:accumulate:)``).
    var readsRowsInPlace: Bool { xent_gemm_kernel_has_rows(Int32(rawValue)) != 0 }

    /// Computes one tile as ``tile(kc:a:b:c:ldc:rows:columns:accumulate:)`` does, from `rows`
    /// rows of A read in place (row `i` at `a + i * lda`, its `kc` steps contiguous) instead of
    /// a packed panel (the contract of `xent_gemm_tile_rows`).
    @inline(__always)
    func tileRows(
      kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
      c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool
    ) {
      xent_gemm_tile_rows(
        Int32(rawValue), kc, a, lda, b, c, ldc, rows, columns, accumulate ? 1 : 0)
    }

    /// Computes one tile: `rows x columns` elements of `C (+)= Ap · Bp` from `kc` steps of
    /// packed panels (the contract of `CrossEntropyGEMMKernels.h`).
    @inline(__always)
    func tile(
      kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
      c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool
    ) {
      xent_gemm_tile(
        Int32(rawValue), kc, a, b, c, ldc, rows, columns, accumulate ? 1 : 0)
    }
  }
}
