// Shared by the micro-kernels: storing an edge tile.
#ifndef CROSS_ENTROPY_GEMM_TILE_H
#define CROSS_ENTROPY_GEMM_TILE_H

#include <stddef.h>

/// Stores (or adds) the first `rows` x `columns` elements of `tile` (rows of `width` values) to
/// C: the edge of a product, one element at a time. Each element gets the same single fp32
/// addition as the vector stores of a full tile.
static inline void xent_gemm_store_edge(
    const float *tile, ptrdiff_t width, float *c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns,
    int accumulate) {
  for (ptrdiff_t i = 0; i < rows; i++) {
    for (ptrdiff_t j = 0; j < columns; j++) {
      float value = tile[i * width + j];
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + value : value;
    }
  }
}

#endif
