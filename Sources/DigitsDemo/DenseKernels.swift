/// The three small matrix products a dense layer needs, on row-major `Float` matrices.
///
/// Loops run in the order that keeps the innermost loop contiguous in memory (i-k-j), so the
/// compiler vectorises it. These are plain and single-threaded: the demo's matrices are tiny.
enum DenseKernels {
  /// `output[i, :] = bias + sum_k input[i, k] * weights[k, :]` for `rows` rows.
  ///
  /// Shapes: input `rows x inner`, weights `inner x columns`, bias `columns`, output
  /// `rows x columns`.
  static func affine(
    _ input: UnsafePointer<Float>, rows: Int, inner: Int, weights: UnsafePointer<Float>,
    bias: UnsafePointer<Float>, columns: Int, into output: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<rows {
      let out = output + row * columns
      out.update(from: bias, count: columns)
      let inputRow = input + row * inner
      for k in 0..<inner {
        let a = inputRow[k]
        if a == 0 { continue }
        let weightRow = weights + k * columns
        for column in 0..<columns {
          out[column] += a * weightRow[column]
        }
      }
    }
  }

  /// `weights[k, :] = sum_i input[i, k] * upstream[i, :]` (the weight gradient `inputᵀ·upstream`)
  /// and `bias[:] = sum_i upstream[i, :]`; both outputs are overwritten.
  ///
  /// Shapes: input `rows x inner`, upstream `rows x columns`, weights `inner x columns`.
  static func weightGradient(
    input: UnsafePointer<Float>, upstream: UnsafePointer<Float>, rows: Int, inner: Int,
    columns: Int, weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>
  ) {
    weights.update(repeating: 0, count: inner * columns)
    bias.update(repeating: 0, count: columns)
    for row in 0..<rows {
      let upstreamRow = upstream + row * columns
      for column in 0..<columns { bias[column] += upstreamRow[column] }
      let inputRow = input + row * inner
      for k in 0..<inner {
        let a = inputRow[k]
        if a == 0 { continue }
        let weightRow = weights + k * columns
        for column in 0..<columns {
          weightRow[column] += a * upstreamRow[column]
        }
      }
    }
  }

  /// `output[i, k] = sum_j upstream[i, j] * weights[k, j]` (the input gradient
  /// `upstream·weightsᵀ`), then zeroed where `mask[i, k] <= 0` (the ReLU's derivative).
  ///
  /// Shapes: upstream `rows x columns`, weights `inner x columns`, mask and output `rows x inner`.
  static func inputGradientThroughReLU(
    upstream: UnsafePointer<Float>, weights: UnsafePointer<Float>, rows: Int, inner: Int,
    columns: Int, mask: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<rows {
      let upstreamRow = upstream + row * columns
      for k in 0..<inner {
        let index = row * inner + k
        guard mask[index] > 0 else {
          output[index] = 0
          continue
        }
        let weightRow = weights + k * columns
        var sum: Float = 0
        for column in 0..<columns { sum += upstreamRow[column] * weightRow[column] }
        output[index] = sum
      }
    }
  }

  /// Replaces every negative element by 0.
  static func relu(_ values: UnsafeMutablePointer<Float>, count: Int) {
    for index in 0..<count { values[index] = max(values[index], 0) }
  }
}
