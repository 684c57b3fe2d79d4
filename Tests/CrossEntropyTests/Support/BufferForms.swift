import Testing

@testable import CrossEntropy

// The checks of the caller-buffer forms (`loss(...into:)`, `lossAndGradient(...loss:gradient:)`
// and `lossAndGradient(overwriting:...)`): the same numbers as the array forms, bit for bit, in
// fp32 (the fused kernels where there are some) and in Double (the reference), the gradient
// written over the input equal to the separate one.

/// The bit patterns of values, widened to Double (NaN payloads survive the widening alike).
func widenedBitPatterns<Scalar: BinaryFloatingPoint>(_ values: [Scalar]) -> [UInt64] {
  values.map { Double($0).bitPattern }
}

/// The three caller-buffer forms of one loss, over an input of `input.count` elements.
struct BufferForms<Scalar: BinaryFloatingPoint> {
  var input: [Scalar]
  var lossCount: Int
  var loss: (UnsafeBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) throws -> Void
  var both:
    (
      UnsafeBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>,
      UnsafeMutableBufferPointer<Scalar>
    ) throws -> Void
  var overwriting:
    (UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) throws -> Void

  /// Checks the forms against the array form's loss and gradient, bit for bit; the loss-only
  /// form against `forward` when given (the array form's loss-only result, where the kernel's
  /// forward-only path sums differently).
  func check(
    against expected: (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>),
    forward: ShapedArray<Scalar>? = nil, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var lossOnly = [Scalar](repeating: .nan, count: lossCount)
    var lossBoth = lossOnly
    var lossInPlace = lossOnly
    var gradient = [Scalar](repeating: .nan, count: input.count)
    var inPlace = input
    try input.withUnsafeBufferPointer { x in
      try lossOnly.withUnsafeMutableBufferPointer { try loss(x, $0) }
      try lossBoth.withUnsafeMutableBufferPointer { l in
        try gradient.withUnsafeMutableBufferPointer { g in try both(x, l, g) }
      }
    }
    try inPlace.withUnsafeMutableBufferPointer { x in
      try lossInPlace.withUnsafeMutableBufferPointer { l in try overwriting(x, l) }
    }
    let expectedLoss = widenedBitPatterns(expected.loss.scalars)
    #expect(
      widenedBitPatterns(lossOnly) == widenedBitPatterns((forward ?? expected.loss).scalars),
      "\(what): loss only",
      sourceLocation: sourceLocation)
    #expect(
      widenedBitPatterns(lossBoth) == expectedLoss, "\(what): loss", sourceLocation: sourceLocation)
    #expect(
      widenedBitPatterns(lossInPlace) == expectedLoss, "\(what): loss",
      sourceLocation: sourceLocation)
    let expectedGradient = widenedBitPatterns(expected.gradient.scalars)
    #expect(
      widenedBitPatterns(gradient) == expectedGradient, "\(what): gradient",
      sourceLocation: sourceLocation)
    #expect(
      widenedBitPatterns(inPlace) == expectedGradient, "\(what): in place",
      sourceLocation: sourceLocation)
  }
}
