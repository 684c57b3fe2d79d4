import Testing

@testable import CrossEntropy

/// The caller-buffer and in-place forms of ``logSumExp(_:alongAxis:)``,
/// ``logSoftmax(_:alongAxis:)`` and ``softmax(_:alongAxis:)``: bit for bit the array forms'
/// numbers, every error with its message, nothing written on error.
@Suite struct SoftmaxBufferFormTests {
  @Test func buffersMatchArrays() throws {
    try check(Float.self)
    try check(Double.self)
  }

  func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for (shape, axis) in [([3, 5], -1), ([2, 4, 3], 1), ([2, 3], 0), ([0, 4], -1)] {
      var values = spreadValues(shape.reduce(1, *), seed: 9, scale: 20).map { Scalar($0) }
      if values.count > 4 {
        values[1] = .infinity
        values[4] = -.infinity
      }
      let x = try ShapedArray(shape: shape, scalars: values)
      let what = "\(Scalar.self) \(shape) axis \(axis)"

      let lse = try logSumExp(x, alongAxis: axis)
      var reduced = [Scalar](repeating: 7, count: lse.scalars.count)
      try values.withUnsafeBufferPointer { input in
        try reduced.withUnsafeMutableBufferPointer { output in
          try logSumExp(input, shape: shape, alongAxis: axis, into: output)
        }
      }
      #expect(identical(reduced, lse.scalars), "logSumExp \(what)")

      for log in [true, false] {
        let name = log ? "logSoftmax" : "softmax"
        let expected = try (log ? logSoftmax(x, alongAxis: axis) : softmax(x, alongAxis: axis))
          .scalars
        var output = [Scalar](repeating: 7, count: values.count)
        try values.withUnsafeBufferPointer { input in
          try output.withUnsafeMutableBufferPointer { output in
            if log {
              try logSoftmax(input, shape: shape, alongAxis: axis, into: output)
            } else {
              try softmax(input, shape: shape, alongAxis: axis, into: output)
            }
          }
        }
        #expect(identical(output, expected), "\(name) \(what)")
        var overwritten = values
        try overwritten.withUnsafeMutableBufferPointer { x in
          if log {
            try logSoftmax(overwriting: x, shape: shape, alongAxis: axis)
          } else {
            try softmax(overwriting: x, shape: shape, alongAxis: axis)
          }
        }
        #expect(identical(overwritten, expected), "\(name) in place \(what)")
      }
    }
  }

  @Test func errorsWriteNothing() {
    expectLossErrorWritingNothing(
      .shapeMismatch, "input holds 5 elements but its shape [2, 3] needs 6", counts: [5, 2]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try logSumExp(UnsafeBufferPointer(b[0]), shape: [2, 3], into: b[1])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "result holds 3 elements but input shape [2, 3] without axis 1 holds 2",
      counts: [6, 3]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try logSumExp(UnsafeBufferPointer(b[0]), shape: [2, 3], into: b[1])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "result holds 5 elements but input shape [2, 3] holds 6", counts: [6, 5]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try logSoftmax(UnsafeBufferPointer(b[0]), shape: [2, 3], into: b[1])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "result holds 7 elements but input shape [2, 3] holds 6", counts: [6, 7]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try softmax(UnsafeBufferPointer(b[0]), shape: [2, 3], alongAxis: 0, into: b[1])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "input holds 6 elements but its shape [2, 4] needs 8", counts: [6]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try softmax(overwriting: b[0], shape: [2, 4])
    }
    expectLossErrorWritingNothing(
      .invalidAxis, "class axis 2 is out of range for input of shape [2, 3] (expected -2..<2)",
      counts: [6]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try logSoftmax(overwriting: b[0], shape: [2, 3], alongAxis: 2)
    }
    expectLossErrorWritingNothing(
      .emptyClassDimension,
      "the class axis 1 of input shape [2, 0] is empty; expected at least 1 class", counts: [0]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try logSoftmax(overwriting: b[0], shape: [2, 0])
    }
  }
}
