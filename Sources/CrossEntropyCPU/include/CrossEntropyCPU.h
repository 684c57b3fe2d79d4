// Compile-time facts about the instruction set the package is being compiled for.
//
// The functions are `static inline`, so Swift sees each as a constant that the optimiser folds:
// `swift build -c release` (portable) and
// `swift build -c release -Xswiftc -target-cpu -Xswiftc native` get different answers without
// any unsafe flags in the manifest.
#ifndef CROSS_ENTROPY_CPU_H
#define CROSS_ENTROPY_CPU_H

#if !defined(_WIN32)
#include <unistd.h>
#endif

/// 1 when a fused multiply-add instruction may be used (x86 FMA3, or any AArch64), else 0.
static inline int xent_cpu_has_fma(void) {
#if defined(__FMA__) || defined(__aarch64__) || defined(__ARM_FEATURE_FMA)
  return 1;
#else
  return 0;
#endif
}

/// 1 when the target converts between IEEE half and single precision in hardware, a vector at a
/// time (x86 F16C, or any AArch64), else 0. Without it, Swift's `Float16` <-> `Float`
/// conversions become one library call per lane on x86-64.
static inline int xent_cpu_has_half_conversion(void) {
#if defined(__F16C__) || defined(__aarch64__)
  return 1;
#else
  return 0;
#endif
}

/// 1 when the compiler targets AVX-512F, else 0.
static inline int xent_cpu_has_avx512f(void) {
#if defined(__AVX512F__)
  return 1;
#else
  return 0;
#endif
}

/// 1 when the code is compiled for a specific host CPU beyond the portable baseline
/// (on x86-64: AVX2, FMA or AVX-512 enabled), else 0.
static inline int xent_cpu_is_native_build(void) {
#if defined(__AVX512F__) || defined(__FMA__) || defined(__AVX2__)
  return 1;
#else
  return 0;
#endif
}

/// The number of processors currently online (at least 1).
static inline int xent_cpu_online_count(void) {
#if defined(_WIN32)
  return 1;
#else
  long count = sysconf(_SC_NPROCESSORS_ONLN);
  return count < 1 ? 1 : (int)count;
#endif
}

#endif
