import Testing

@testable import CrossEntropy

/// The caller-buffer and in-place forms of ``InfoNCELoss``: bit for bit the array forms'
/// numbers, every error with its message, nothing written on error.
@Suite struct InfoNCELossBufferFormTests {
  @Test(arguments: [Reduction.mean, .sum, .none])
  func buffersMatchArrays(reduction: Reduction) throws {
    try check(Float.self, reduction: reduction)
    try check(Double.self, reduction: reduction)
  }

  func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, reduction: Reduction) throws {
    let criterion = InfoNCELoss(temperature: 0.1, reduction: reduction)
    for shape in [[3, 3], [3, 5], [0, 2]] {
      let values = spreadValues(shape[0] * shape[1], seed: 7, scale: 1).map { Scalar($0) }
      let expected = try criterion.lossAndGradient(
        similarities: ShapedArray(shape: shape, scalars: values))
      let what = "\(Scalar.self) \(shape) \(reduction)"
      var loss = [Scalar](repeating: .nan, count: expected.loss.scalars.count)
      try values.withUnsafeBufferPointer { s in
        try loss.withUnsafeMutableBufferPointer { l in
          try criterion.loss(similarities: s, shape: shape, into: l)
        }
      }
      #expect(identical(loss, expected.loss.scalars), "loss \(what)")
      var gradient = [Scalar](repeating: .nan, count: values.count)
      loss = [Scalar](repeating: .nan, count: loss.count)
      let temperatureGradient = try values.withUnsafeBufferPointer { s in
        try loss.withUnsafeMutableBufferPointer { l in
          try gradient.withUnsafeMutableBufferPointer { g in
            try criterion.lossAndGradient(similarities: s, shape: shape, loss: l, gradient: g)
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars), "separate \(what)")
      #expect(identical(gradient, expected.gradient.scalars), "separate \(what)")
      #expect(identical([temperatureGradient], [expected.temperatureGradient]), "τ \(what)")
      var inPlace = values
      loss = [Scalar](repeating: .nan, count: loss.count)
      let inPlaceTemperatureGradient = try inPlace.withUnsafeMutableBufferPointer { s in
        try loss.withUnsafeMutableBufferPointer { l in
          try criterion.lossAndGradient(overwriting: s, shape: shape, loss: l)
        }
      }
      #expect(identical(loss, expected.loss.scalars), "in place \(what)")
      #expect(identical(inPlace, expected.gradient.scalars), "in place \(what)")
      #expect(identical([inPlaceTemperatureGradient], [expected.temperatureGradient]), "\(what)")
    }
  }

  @Test func errorsWriteNothing() {
    let criterion = InfoNCELoss(temperature: 0.5)
    expectLossErrorWritingNothing(
      .shapeMismatch,
      "similarities shape [3, 2] is not an N × M matrix with M >= N; row i's positive is column i",
      counts: [6, 1]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try criterion.loss(similarities: UnsafeBufferPointer(b[0]), shape: [3, 2], into: b[1])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "similarities holds 5 elements but its shape [2, 3] needs 6",
      counts: [5, 1]
    ) { (b: [UnsafeMutableBufferPointer<Float>]) in
      try criterion.lossAndGradient(overwriting: b[0], shape: [2, 3], loss: b[1])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "gradient holds 5 elements but similarities shape [2, 3] holds 6",
      counts: [6, 1, 5]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try criterion.lossAndGradient(
        similarities: UnsafeBufferPointer(b[0]), shape: [2, 3], loss: b[1], gradient: b[2])
    }
    expectLossErrorWritingNothing(
      .shapeMismatch, "loss buffer holds 1 element but reduction none writes 2", counts: [6, 1]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try InfoNCELoss(temperature: 0.5, reduction: .none).lossAndGradient(
        overwriting: b[0], shape: [2, 3], loss: b[1])
    }
    expectLossErrorWritingNothing(
      .invalidOption, "temperature 0.0 is invalid; expected a finite value > 0", counts: [6, 1]
    ) { (b: [UnsafeMutableBufferPointer<Double>]) in
      try InfoNCELoss(temperature: 0).lossAndGradient(overwriting: b[0], shape: [2, 3], loss: b[1])
    }
  }
}
