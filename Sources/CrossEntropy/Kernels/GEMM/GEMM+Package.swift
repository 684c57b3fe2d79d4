/// The head's fp32 GEMM for the package's other targets (the demos' dense layers). Not API
/// (package access).
///
/// `C (+)= op(A) · op(B)` on row-major fp32 matrices, with the layouts and the thread-count
/// independence of the head's own products (see `GEMM`).
package enum MatrixProduct {
  /// `C = op(A) · op(B)`, or `C += op(A) · op(B)` when `accumulate`.
  ///
  /// `op(A)` is `m x k` and `op(B)` is `k x n`; `op(A)[i, p]` is `a[i * lda + p]`, or
  /// `a[p * lda + i]` when `transposeA`; likewise for `B`. `threads` is the most threads to use.
  package static func multiply(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
    b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int
  ) {
    GEMM.multiply(
      FloatStorage.self, FloatStorage.self, m: m, n: n, k: k, a: a, lda: lda,
      transposeA: transposeA, b: b,
      ldb: ldb, transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate, threads: threads)
  }
}
