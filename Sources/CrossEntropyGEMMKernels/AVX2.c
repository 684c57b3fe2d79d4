// The AVX2 + FMA micro-kernel: 6 x 16 tiles, twelve ymm accumulators (two per row), one
// broadcast of A and two loads of B per step of k. Compiled for AVX2 + FMA whatever the build
// targets; called only where the CPU supports it.
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#include "CrossEntropyGEMMKernels.h"
#include "Tile.h"

#define XENT_AVX2_ROW(i)                         \
  do {                                           \
    __m256 x = _mm256_broadcast_ss(a + (i));     \
    c##i##0 = _mm256_fmadd_ps(x, b0, c##i##0);   \
    c##i##1 = _mm256_fmadd_ps(x, b1, c##i##1);   \
  } while (0)

#define XENT_AVX2_STORE(i)                                                       \
  do {                                                                           \
    float *row = c + (i) * ldc;                                                  \
    if (accumulate) {                                                            \
      c##i##0 = _mm256_add_ps(_mm256_loadu_ps(row), c##i##0);                    \
      c##i##1 = _mm256_add_ps(_mm256_loadu_ps(row + 8), c##i##1);                \
    }                                                                            \
    _mm256_storeu_ps(row, c##i##0);                                              \
    _mm256_storeu_ps(row + 8, c##i##1);                                          \
  } while (0)

__attribute__((target("avx2,fma"))) void xent_gemm_kernel_avx2(
    ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, ptrdiff_t rows,
    ptrdiff_t columns, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  // Fetch the tile of C while the products are formed (C is read or written only at the end).
  for (ptrdiff_t i = 0; i < rows; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
  }
  // Unrolled: the loop's own instructions otherwise cost a tenth of the throughput.
#pragma clang loop unroll_count(4)
  for (ptrdiff_t p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    XENT_AVX2_ROW(0);
    XENT_AVX2_ROW(1);
    XENT_AVX2_ROW(2);
    XENT_AVX2_ROW(3);
    XENT_AVX2_ROW(4);
    XENT_AVX2_ROW(5);
    a += 6;
    b += 16;
  }
  if (rows == 6 && columns == 16) {
    XENT_AVX2_STORE(0);
    XENT_AVX2_STORE(1);
    XENT_AVX2_STORE(2);
    XENT_AVX2_STORE(3);
    XENT_AVX2_STORE(4);
    XENT_AVX2_STORE(5);
    return;
  }
  float tile[6 * 16];
  __m256 all[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int v = 0; v < 12; v++) _mm256_storeu_ps(tile + 8 * v, all[v]);
  xent_gemm_store_edge(tile, 16, c, ldc, rows, columns, accumulate);
}

// The AVX2 kernel with the rows of A read in place (row i at `a + i * lda`): the contract of
// `xent_gemm_tile_rows`.
#define XENT_AVX2_ROW_IN_PLACE(i)                \
  do {                                           \
    __m256 x = _mm256_broadcast_ss(a##i + p);    \
    c##i##0 = _mm256_fmadd_ps(x, b0, c##i##0);   \
    c##i##1 = _mm256_fmadd_ps(x, b1, c##i##1);   \
  } while (0)

__attribute__((target("avx2,fma"))) void xent_gemm_kernel_avx2_rows(
    ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
    ptrdiff_t rows, ptrdiff_t columns, int accumulate) {
  // Rows beyond `rows` repeat row 0: computed, never stored.
  const float *a0 = a, *a1 = rows > 1 ? a + lda : a, *a2 = rows > 2 ? a + 2 * lda : a;
  const float *a3 = rows > 3 ? a + 3 * lda : a, *a4 = rows > 4 ? a + 4 * lda : a;
  const float *a5 = rows > 5 ? a + 5 * lda : a;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma clang loop unroll_count(4)
  for (ptrdiff_t p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    XENT_AVX2_ROW_IN_PLACE(0);
    XENT_AVX2_ROW_IN_PLACE(1);
    XENT_AVX2_ROW_IN_PLACE(2);
    XENT_AVX2_ROW_IN_PLACE(3);
    XENT_AVX2_ROW_IN_PLACE(4);
    XENT_AVX2_ROW_IN_PLACE(5);
    b += 16;
  }
  if (rows == 6 && columns == 16) {
    XENT_AVX2_STORE(0);
    XENT_AVX2_STORE(1);
    XENT_AVX2_STORE(2);
    XENT_AVX2_STORE(3);
    XENT_AVX2_STORE(4);
    XENT_AVX2_STORE(5);
    return;
  }
  float tile[6 * 16];
  __m256 all[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int v = 0; v < 12; v++) _mm256_storeu_ps(tile + 8 * v, all[v]);
  xent_gemm_store_edge(tile, 16, c, ldc, rows, columns, accumulate);
}

#endif
