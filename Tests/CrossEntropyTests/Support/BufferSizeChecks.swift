import Testing

@testable import CrossEntropy

// The size checks of the caller-buffer forms: a LossError whose message names both sizes, and
// an overwriting form leaves its input unchanged when it throws.

/// Runs `body` with buffers of the given sizes (filled with 0.5, labels 0), and expects the
/// input unchanged afterwards.
func withBuffers(
  input: Int, other: Int, labels: Int, loss: Int, gradient: Int,
  _ body: (
    UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Int>,
    UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>
  ) throws -> Void
) rethrows {
  var x = [Float](repeating: 0.5, count: input)
  defer { #expect(x.allSatisfy { $0 == 0.5 }, "the input is unchanged after a throw") }
  let y = [Float](repeating: 0.5, count: other)
  let l = [Int](repeating: 0, count: labels)
  var lossBuffer = [Float](repeating: 0, count: loss)
  var gradientBuffer = [Float](repeating: 0, count: gradient)
  try x.withUnsafeMutableBufferPointer { xb in
    try y.withUnsafeBufferPointer { yb in
      try l.withUnsafeBufferPointer { lb in
        try lossBuffer.withUnsafeMutableBufferPointer { lossb in
          try gradientBuffer.withUnsafeMutableBufferPointer { gb in
            try body(xb, yb, lb, lossb, gb)
          }
        }
      }
    }
  }
}
