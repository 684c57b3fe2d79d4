// Loops of independent multiply-adds on each instruction set: the peak the micro-kernels are
// measured against (`xent bench --loss gemm`). Twelve independent accumulators cover the
// latency of the two FMA (or multiply and add) pipes of current x86 cores.

#include "CrossEntropyGEMMKernels.h"

typedef float xent_p4 __attribute__((vector_size(16)));

/// Twelve chains of `x = x * m + d` in four-lane vectors (a multiply and an add on x86-64).
static float xent_peak_baseline(ptrdiff_t iterations) {
  xent_p4 m = {0.999f, 0.999f, 0.999f, 0.999f}, d = {1e-3f, 1e-3f, 1e-3f, 1e-3f};
  xent_p4 x[12];
  for (int i = 0; i < 12; i++) {
    xent_p4 start = {(float)i, 1, 2, 3};
    x[i] = start;
  }
  for (ptrdiff_t n = 0; n < iterations; n++) {
    for (int i = 0; i < 12; i++) x[i] = x[i] * m + d;
    __asm__ volatile("" : : : "memory");
  }
  float sum = 0;
  for (int i = 0; i < 12; i++) sum += x[i][0] + x[i][1] + x[i][2] + x[i][3];
  return sum;
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define XENT_TWELVE(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11)

__attribute__((target("avx2,fma"))) static float xent_peak_avx2(ptrdiff_t iterations) {
  __m256 m = _mm256_set1_ps(0.999f), d = _mm256_set1_ps(1e-3f);
#define XENT_INIT(i) __m256 x##i = _mm256_set1_ps((float)(i));
  XENT_TWELVE(XENT_INIT)
#undef XENT_INIT
  for (ptrdiff_t n = 0; n < iterations; n++) {
#define XENT_STEP(i) x##i = _mm256_fmadd_ps(x##i, m, d);
    XENT_TWELVE(XENT_STEP)
#undef XENT_STEP
  }
  __m256 s = _mm256_setzero_ps();
#define XENT_SUM(i) s = _mm256_add_ps(s, x##i);
  XENT_TWELVE(XENT_SUM)
#undef XENT_SUM
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

__attribute__((target("avx512f,avx2,fma"))) static float xent_peak_avx512(ptrdiff_t iterations) {
  __m512 m = _mm512_set1_ps(0.999f), d = _mm512_set1_ps(1e-3f);
#define XENT_INIT(i) __m512 x##i = _mm512_set1_ps((float)(i));
  XENT_TWELVE(XENT_INIT)
#undef XENT_INIT
  for (ptrdiff_t n = 0; n < iterations; n++) {
#define XENT_STEP(i) x##i = _mm512_fmadd_ps(x##i, m, d);
    XENT_TWELVE(XENT_STEP)
#undef XENT_STEP
  }
  __m512 s = _mm512_setzero_ps();
#define XENT_SUM(i) s = _mm512_add_ps(s, x##i);
  XENT_TWELVE(XENT_SUM)
#undef XENT_SUM
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  float sum = 0;
  for (int i = 0; i < 16; i++) sum += lanes[i];
  return sum;
}
#endif

float xent_gemm_peak_loop(int kernel, ptrdiff_t iterations) {
  switch (kernel) {
#if defined(__x86_64__) || defined(_M_X64)
    case XENT_GEMM_KERNEL_AVX2: return xent_peak_avx2(iterations);
    case XENT_GEMM_KERNEL_AVX512: return xent_peak_avx512(iterations);
#endif
    default: return xent_peak_baseline(iterations);
  }
}

ptrdiff_t xent_gemm_peak_flops_per_iteration(int kernel) {
  switch (kernel) {
    case XENT_GEMM_KERNEL_AVX2: return 12 * 8 * 2;
    case XENT_GEMM_KERNEL_AVX512: return 12 * 16 * 2;
    default: return 12 * 4 * 2;
  }
}
