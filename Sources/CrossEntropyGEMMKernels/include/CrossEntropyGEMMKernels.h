// The register micro-kernels of the GEMM (Sources/CrossEntropy/Kernels/GEMM), one per
// instruction set, and the run-time test of which ones this CPU and operating system support.
//
// A micro-kernel computes one tile of C from packed panels: `rows <= MR` rows and
// `columns <= NR` columns of `C (+)= Ap · Bp`, where `Ap` holds `kc` steps of MR values (column
// p of the A panel at `a + p * MR`) and `Bp` holds `kc` steps of NR values (row p of the B panel
// at `b + p * NR`). Each element is the fp32 sum of its products in ascending p, started from
// zero, then stored (`accumulate == 0`) or added to C. Lanes beyond `rows` x `columns` are
// computed from the zero padding of the panels and never stored.
//
// The kernels are compiled with `__attribute__((target(...)))`, so one portable build holds all
// of them; the caller must pick only one that `xent_gemm_supported_kernel` allows.
#ifndef CROSS_ENTROPY_GEMM_KERNELS_H
#define CROSS_ENTROPY_GEMM_KERNELS_H

#include <stddef.h>

/// The micro-kernels, in order of preference from the lowest.
enum {
  /// Portable C: SSE2 on x86-64, NEON on arm64, scalar code elsewhere (no FMA on x86-64).
  XENT_GEMM_KERNEL_BASELINE = 0,
  /// x86-64 AVX2 + FMA, 6 x 16 tiles.
  XENT_GEMM_KERNEL_AVX2 = 1,
  /// x86-64 AVX-512F, 6 x 32 tiles (the AVX2 kernel with 16-lane registers).
  XENT_GEMM_KERNEL_AVX512 = 2,
};

/// The best micro-kernel this CPU and operating system support (cpuid, and xgetbv for the
/// saved register state); XENT_GEMM_KERNEL_BASELINE off x86-64.
int xent_gemm_supported_kernel(void);

/// The kernel named by the environment variable XENT_GEMM_KERNEL (`baseline`, `avx2` or
/// `avx512`), or -1 when it is unset or names none of them.
int xent_gemm_requested_kernel(void);

/// The tile rows MR of `kernel`.
int xent_gemm_kernel_rows(int kernel);

/// The tile columns NR of `kernel`.
int xent_gemm_kernel_columns(int kernel);

/// One tile with `kernel` (see the top of this file). `kernel` must be supported.
void xent_gemm_tile(
    int kernel, ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
    ptrdiff_t rows, ptrdiff_t columns, int accumulate);

/// Whether `kernel` has a variant for `xent_gemm_tile_rows` (the baseline and AVX2 kernels).
int xent_gemm_kernel_has_rows(int kernel);

/// One tile with the rows of A read in place: as `xent_gemm_tile`, but row `i < rows` of A is
/// read at `a + i * lda`, its `kc` steps contiguous, instead of from a packed panel. `kernel`
/// must be supported and have the variant. It serves `C = A · Wᵀ` computed as `Cᵀ = W · Aᵀ`,
/// where the rows of W stream from memory unpacked.
void xent_gemm_tile_rows(
    int kernel, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
    ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate);

/// The portable micro-kernel (6 x 8 tiles).
void xent_gemm_kernel_baseline(
    ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, ptrdiff_t rows,
    ptrdiff_t columns, int accumulate);

/// The portable micro-kernel with rows of A in place (`xent_gemm_tile_rows`).
void xent_gemm_kernel_baseline_rows(
    ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
    ptrdiff_t rows, ptrdiff_t columns, int accumulate);

#if defined(__x86_64__) || defined(_M_X64)
/// The AVX2 + FMA micro-kernel with rows of A in place (`xent_gemm_tile_rows`).
void xent_gemm_kernel_avx2_rows(
    ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
    ptrdiff_t rows, ptrdiff_t columns, int accumulate);

/// The AVX2 + FMA micro-kernel (6 x 16 tiles). Needs XENT_GEMM_KERNEL_AVX2.
void xent_gemm_kernel_avx2(
    ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, ptrdiff_t rows,
    ptrdiff_t columns, int accumulate);

/// The AVX-512F micro-kernel (6 x 32 tiles). Needs XENT_GEMM_KERNEL_AVX512.
void xent_gemm_kernel_avx512(
    ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, ptrdiff_t rows,
    ptrdiff_t columns, int accumulate);
#endif

/// Asks for the cache line at `address` ahead of its use (a hint: no fault, no effect on
/// results); the packing routines call it to stream the classifier from memory.
static inline void xent_gemm_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Runs `iterations` rounds of independent multiply-adds on `kernel`'s instruction set (fused
/// FMAs for AVX2 and AVX-512, a multiply and an add for the baseline) and returns a value that
/// depends on all of them. The peak a GEMM kernel could reach: time it and multiply
/// `iterations` by `xent_gemm_peak_flops_per_iteration(kernel)`.
float xent_gemm_peak_loop(int kernel, ptrdiff_t iterations);

/// The floating-point operations of one round of `xent_gemm_peak_loop`.
ptrdiff_t xent_gemm_peak_flops_per_iteration(int kernel);

#endif
