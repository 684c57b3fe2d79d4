// The AVX-512F micro-kernel: the AVX2 kernel with 16-lane registers, 6 x 32 tiles, twelve zmm
// accumulators. Compiled for AVX-512F whatever the build targets; called only where the CPU and
// the operating system support it. The machine this was written on has no AVX-512, so this
// kernel has not been executed there: its tests run wherever the CPU supports it.
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#include "CrossEntropyGEMMKernels.h"
#include "Tile.h"

#define XENT_AVX512_ROW(i)                       \
  do {                                           \
    __m512 x = _mm512_set1_ps(a[i]);             \
    c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);   \
    c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1);   \
  } while (0)

#define XENT_AVX512_STORE(i)                                                     \
  do {                                                                           \
    float *row = c + (i) * ldc;                                                  \
    if (accumulate) {                                                            \
      c##i##0 = _mm512_add_ps(_mm512_loadu_ps(row), c##i##0);                    \
      c##i##1 = _mm512_add_ps(_mm512_loadu_ps(row + 16), c##i##1);               \
    }                                                                            \
    _mm512_storeu_ps(row, c##i##0);                                              \
    _mm512_storeu_ps(row + 16, c##i##1);                                         \
  } while (0)

__attribute__((target("avx512f,avx2,fma"))) void xent_gemm_kernel_avx512(
    ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, ptrdiff_t rows,
    ptrdiff_t columns, int accumulate) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  // Fetch the tile of C while the products are formed (C is read or written only at the end).
  for (ptrdiff_t i = 0; i < rows; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
  }
  // Unrolled: the loop's own instructions otherwise cost a tenth of the throughput.
#pragma clang loop unroll_count(4)
  for (ptrdiff_t p = 0; p < kc; p++) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    XENT_AVX512_ROW(0);
    XENT_AVX512_ROW(1);
    XENT_AVX512_ROW(2);
    XENT_AVX512_ROW(3);
    XENT_AVX512_ROW(4);
    XENT_AVX512_ROW(5);
    a += 6;
    b += 32;
  }
  if (rows == 6 && columns == 32) {
    XENT_AVX512_STORE(0);
    XENT_AVX512_STORE(1);
    XENT_AVX512_STORE(2);
    XENT_AVX512_STORE(3);
    XENT_AVX512_STORE(4);
    XENT_AVX512_STORE(5);
    return;
  }
  float tile[6 * 32];
  __m512 all[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int v = 0; v < 12; v++) _mm512_storeu_ps(tile + 16 * v, all[v]);
  xent_gemm_store_edge(tile, 32, c, ldc, rows, columns, accumulate);
}

#endif
