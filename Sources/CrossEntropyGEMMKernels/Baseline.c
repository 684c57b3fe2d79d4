// The portable micro-kernel: 6 x 8 tiles in four-lane vectors of the compiler's generic vector
// extension, which is SSE2 on x86-64 (a multiply and an add: the baseline has no FMA), NEON on
// arm64 and scalar code on targets without vectors.
#include "CrossEntropyGEMMKernels.h"
#include "Tile.h"

typedef float xent_v4 __attribute__((vector_size(16)));

static inline xent_v4 load4(const float *p) {
  xent_v4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

static inline void store4(float *p, xent_v4 v) { __builtin_memcpy(p, &v, sizeof v); }

#define XENT_BASELINE_ROW(i)                  \
  do {                                        \
    float s = a[i];                           \
    xent_v4 x = {s, s, s, s};                 \
    c##i##0 += x * b0;                        \
    c##i##1 += x * b1;                        \
  } while (0)

#define XENT_BASELINE_STORE(i)                                   \
  do {                                                           \
    float *row = c + (i) * ldc;                                  \
    if (accumulate) {                                            \
      store4(row, load4(row) + c##i##0);                         \
      store4(row + 4, load4(row + 4) + c##i##1);                 \
    } else {                                                     \
      store4(row, c##i##0);                                      \
      store4(row + 4, c##i##1);                                  \
    }                                                            \
  } while (0)

void xent_gemm_kernel_baseline(
    ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, ptrdiff_t rows,
    ptrdiff_t columns, int accumulate) {
  xent_v4 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
  xent_v4 c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
#pragma clang loop unroll_count(4)
  for (ptrdiff_t p = 0; p < kc; p++) {
    xent_v4 b0 = load4(b), b1 = load4(b + 4);
    XENT_BASELINE_ROW(0);
    XENT_BASELINE_ROW(1);
    XENT_BASELINE_ROW(2);
    XENT_BASELINE_ROW(3);
    XENT_BASELINE_ROW(4);
    XENT_BASELINE_ROW(5);
    a += 6;
    b += 8;
  }
  if (rows == 6 && columns == 8) {
    XENT_BASELINE_STORE(0);
    XENT_BASELINE_STORE(1);
    XENT_BASELINE_STORE(2);
    XENT_BASELINE_STORE(3);
    XENT_BASELINE_STORE(4);
    XENT_BASELINE_STORE(5);
    return;
  }
  float tile[6 * 8];
  xent_v4 all[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int v = 0; v < 12; v++) store4(tile + 4 * v, all[v]);
  xent_gemm_store_edge(tile, 8, c, ldc, rows, columns, accumulate);
}

#define XENT_BASELINE_ROW_IN_PLACE(i)         \
  do {                                        \
    float s = a##i[p];                        \
    xent_v4 x = {s, s, s, s};                 \
    c##i##0 += x * b0;                        \
    c##i##1 += x * b1;                        \
  } while (0)

void xent_gemm_kernel_baseline_rows(
    ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,
    ptrdiff_t rows, ptrdiff_t columns, int accumulate) {
  // Rows beyond `rows` repeat row 0: computed, never stored.
  const float *a0 = a, *a1 = rows > 1 ? a + lda : a, *a2 = rows > 2 ? a + 2 * lda : a;
  const float *a3 = rows > 3 ? a + 3 * lda : a, *a4 = rows > 4 ? a + 4 * lda : a;
  const float *a5 = rows > 5 ? a + 5 * lda : a;
  xent_v4 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
  xent_v4 c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
#pragma clang loop unroll_count(4)
  for (ptrdiff_t p = 0; p < kc; p++) {
    xent_v4 b0 = load4(b), b1 = load4(b + 4);
    XENT_BASELINE_ROW_IN_PLACE(0);
    XENT_BASELINE_ROW_IN_PLACE(1);
    XENT_BASELINE_ROW_IN_PLACE(2);
    XENT_BASELINE_ROW_IN_PLACE(3);
    XENT_BASELINE_ROW_IN_PLACE(4);
    XENT_BASELINE_ROW_IN_PLACE(5);
    b += 8;
  }
  if (rows == 6 && columns == 8) {
    XENT_BASELINE_STORE(0);
    XENT_BASELINE_STORE(1);
    XENT_BASELINE_STORE(2);
    XENT_BASELINE_STORE(3);
    XENT_BASELINE_STORE(4);
    XENT_BASELINE_STORE(5);
    return;
  }
  float tile[6 * 8];
  xent_v4 all[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int v = 0; v < 12; v++) store4(tile + 4 * v, all[v]);
  xent_gemm_store_edge(tile, 8, c, ldc, rows, columns, accumulate);
}
