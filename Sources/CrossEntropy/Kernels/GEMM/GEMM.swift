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
enum GEMM {
  /// `C (+)= op(A) · op(B)` in fp32 with operands of any kernel storage type.
  static func multiply<SA: KernelStorage, SB: KernelStorage>(
    _: SA.Type, _: SB.Type, m: Int, n: Int, k: Int,
    a: UnsafePointer<SA.Stored>, lda: Int, transposeA: Bool,
    b: UnsafePointer<SB.Stored>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int
  ) {
    // Unblocked placeholder: one dot product per element.
    for i in 0..<m {
      for j in 0..<n {
        var sum: Float = accumulate ? c[i * ldc + j] : 0
        for p in 0..<k {
          let x = SA.float(transposeA ? a[p * lda + i] : a[i * lda + p])
          let y = SB.float(transposeB ? b[j * ldb + p] : b[p * ldb + j])
          sum += x * y
        }
        c[i * ldc + j] = sum
      }
    }
  }

  /// `C (+)= op(A) · op(B)` in Double.
  static func multiply(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Double>, lda: Int, transposeA: Bool,
    b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, threads: Int
  ) {
    for i in 0..<m {
      for j in 0..<n {
        var sum: Double = accumulate ? c[i * ldc + j] : 0
        for p in 0..<k {
          let x = transposeA ? a[p * lda + i] : a[i * lda + p]
          let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
          sum += x * y
        }
        c[i * ldc + j] = sum
      }
    }
  }
}
