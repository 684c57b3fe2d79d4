@testable import CrossEntropy

/// An empty batch of fp32 logits with an absurd class count (2^40) and its labels: it holds no
/// data, so a loss must neither allocate per-class scratch nor trap; the mean is NaN (0 / 0, as
/// PyTorch) and the sum 0.
func emptyBatchOfAHugeClassCount() throws -> (ShapedArray<Float>, ShapedArray<Int>) {
  (
    try ShapedArray<Float>(shape: [0, 1 << 40], scalars: []),
    try ShapedArray<Int>(shape: [0], scalars: [])
  )
}
