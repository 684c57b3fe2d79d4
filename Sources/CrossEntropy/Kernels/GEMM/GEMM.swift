/// Matrix products for the language-model head: `C = op(A) · op(B)`, or `C += op(A) · op(B)`.
///
/// `op(A)` is `m x k` and `op(B)` is `k x n`; both are read through their row strides:
///
/// - `op(A)[i, p]` is `a[i * lda + p]`, or `a[p * lda + i]` when `transposeA`;
/// - `op(B)[p, j]` is `b[p * ldb + j]`, or `b[j * ldb + p]` when `transposeB`;
/// - `C[i, j]` is `c[i * ldc + j]`.
///
/// The three products of the head are `logits = H · Wᵀ` (`transposeB`), `dH = G · W` and
/// `dW += Gᵀ · H` (`transposeA`, `accumulate`). Operands may be fp32, float16 or bfloat16
/// (`KernelStorage` says how each is widened); products and sums are formed in fp32. Each element
/// of `C` is computed by one thread in a fixed order, so results are bit-identical for every
/// thread count.
///
/// `threads` is the most threads a call may use (callers pass `Parallelism.effectiveThreadCount`
/// or fewer; below 1 counts as 1); small products use fewer. The fp32 path is blocked and packed
/// in the style of BLIS around a register micro-kernel in C chosen at run time (``Kernel``,
/// `GEMM+Blocked.swift`, `Kernels/README.md`).
enum GEMM {
  /// `C (+)= op(A) · op(B)` in fp32 with operands of any kernel storage type.
  static func multiply<SA: KernelStorage, SB: KernelStorage>(
    _: SA.Type, _: SB.Type, m: Int, n: Int, k: Int,
    a: UnsafePointer<SA.Stored>, lda: Int, transposeA: Bool,
    b: UnsafePointer<SB.Stored>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int
  ) {
    multiply(
      SA.self, SB.self, m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
      transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate, threads: threads,
      kernel: .selected)
  }

  /// `C (+)= op(A) · op(B)` in fp32 with a given micro-kernel, which the CPU must support
  /// (``Kernel/supported``): what the tests and `xent bench` use to run each one. A thread
  /// gets at least `minimumWorkPerThread` multiply-adds (the tests lower it to split small
  /// products).
  static func multiply<SA: KernelStorage, SB: KernelStorage>(
    _: SA.Type, _: SB.Type, m: Int, n: Int, k: Int,
    a: UnsafePointer<SA.Stored>, lda: Int, transposeA: Bool,
    b: UnsafePointer<SB.Stored>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int, kernel: Kernel,
    minimumWorkPerThread: Int = Blocking.minimumWorkPerThread
  ) {
    precondition(kernel.rawValue <= Kernel.best.rawValue, "GEMM kernel unsupported by this CPU")
    blocked(
      a: Operand<SA>(a: a, lda: lda, transposed: transposeA),
      b: Operand<SB>(b: b, ldb: ldb, transposed: transposeB), m: m, n: n, k: k, c: c, ldc: ldc,
      accumulate: accumulate, threads: threads, kernel: kernel,
      minimumWorkPerThread: minimumWorkPerThread)
  }

  /// `C (+)= op(A) · op(B)` in Double.
  static func multiply(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Double>, lda: Int, transposeA: Bool,
    b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, threads: Int
  ) {
    blockedDouble(
      m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
      transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate, threads: threads)
  }
}
