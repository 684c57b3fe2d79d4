// Which micro-kernels the CPU supports, which one the environment asks for, and the dispatch.
#include <stdlib.h>
#include <string.h>

#include "CrossEntropyGEMMKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

/// XCR0, the register state the operating system saves on a context switch.
static unsigned long long xent_xgetbv0(void) {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

int xent_gemm_supported_kernel(void) {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return XENT_GEMM_KERNEL_BASELINE;
  int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
  if (!(fma && osxsave && avx)) return XENT_GEMM_KERNEL_BASELINE;
  unsigned long long xcr0 = xent_xgetbv0();
  // SSE (bit 1) and AVX (bit 2) state.
  if ((xcr0 & 0x6) != 0x6) return XENT_GEMM_KERNEL_BASELINE;
  if (__get_cpuid_max(0, 0) < 7) return XENT_GEMM_KERNEL_BASELINE;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  int avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1;
  if (!avx2) return XENT_GEMM_KERNEL_BASELINE;
  // Opmask (bit 5) and the upper ZMM halves and registers (bits 6 and 7) as well.
  if (avx512f && (xcr0 & 0xE6) == 0xE6) return XENT_GEMM_KERNEL_AVX512;
  return XENT_GEMM_KERNEL_AVX2;
}
#else
int xent_gemm_supported_kernel(void) { return XENT_GEMM_KERNEL_BASELINE; }
#endif

int xent_gemm_requested_kernel(void) {
  const char *name = getenv("XENT_GEMM_KERNEL");
  if (name == NULL) return -1;
  if (strcmp(name, "baseline") == 0) return XENT_GEMM_KERNEL_BASELINE;
  if (strcmp(name, "avx2") == 0) return XENT_GEMM_KERNEL_AVX2;
  if (strcmp(name, "avx512") == 0) return XENT_GEMM_KERNEL_AVX512;
  return -1;
}

int xent_gemm_kernel_rows(int kernel) {
  (void)kernel;
  return 6;
}

int xent_gemm_kernel_columns(int kernel) {
  switch (kernel) {
    case XENT_GEMM_KERNEL_AVX2: return 16;
    case XENT_GEMM_KERNEL_AVX512: return 32;
    default: return 8;
  }
}

void xent_gemm_tile(
    int kernel, ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
    ptrdiff_t rows, ptrdiff_t columns, int accumulate) {
  switch (kernel) {
#if defined(__x86_64__) || defined(_M_X64)
    case XENT_GEMM_KERNEL_AVX2:
      xent_gemm_kernel_avx2(kc, a, b, c, ldc, rows, columns, accumulate);
      return;
    case XENT_GEMM_KERNEL_AVX512:
      xent_gemm_kernel_avx512(kc, a, b, c, ldc, rows, columns, accumulate);
      return;
#endif
    default:
      xent_gemm_kernel_baseline(kc, a, b, c, ldc, rows, columns, accumulate);
      return;
  }
}

int xent_gemm_kernel_has_rows(int kernel) {
  return kernel == XENT_GEMM_KERNEL_AVX2 || kernel == XENT_GEMM_KERNEL_BASELINE;
}

void xent_gemm_tile_rows(
    int kernel, ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
    ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate) {
#if defined(__x86_64__) || defined(_M_X64)
  if (kernel == XENT_GEMM_KERNEL_AVX2) {
    xent_gemm_kernel_avx2_rows(kc, a, lda, b, c, ldc, rows, columns, accumulate);
    return;
  }
#endif
  xent_gemm_kernel_baseline_rows(kc, a, lda, b, c, ldc, rows, columns, accumulate);
}
