import Testing

// How close a computed value must be to the expected one. Two rules, each with a scalar test
// (`agrees`) and an array expectation (`expectClose`) that records one issue naming the first
// differing elements:
//
// - `relative:absolute:`: |actual - expected| <= relative * |expected| + absolute; NaN matches
//   NaN and an infinity only itself. For results checked against a reference or PyTorch.
// - `tolerance:`: |actual - expected| <= tolerance * max(1, |expected|) (relative above 1,
//   absolute below); NaN matches NaN and equal values match. For property sweeps and finite
//   differences.
//
// The scalar type is the arithmetic's: Float values are compared in Float.

/// Whether `actual` is within `relative * |expected| + absolute` of `expected`; NaN matches NaN
/// and an infinity only itself.
package func agrees<Scalar: FloatingPoint>(
  _ actual: Scalar, _ expected: Scalar, relative: Scalar, absolute: Scalar
) -> Bool {
  if expected.isNaN { return actual.isNaN }
  if expected.isInfinite { return actual == expected }
  return abs(actual - expected) <= relative * abs(expected) + absolute
}

/// Whether `actual` is within `tolerance * max(1, |expected|)` of `expected`; NaN matches NaN
/// and equal values (infinities included) match.
package func agrees<Scalar: FloatingPoint>(
  _ actual: Scalar, _ expected: Scalar, tolerance: Scalar
) -> Bool {
  (actual.isNaN && expected.isNaN) || actual == expected
    || abs(actual - expected) <= tolerance * max(1, abs(expected))
}

/// The largest magnitude among the finite `values`, or 0 if there is none.
package func largestFiniteMagnitude<Scalar: FloatingPoint>(_ values: [Scalar]) -> Scalar {
  values.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
}

/// Expects `actual` to have `expected`'s count and each element to agree with
/// ``agrees(_:_:relative:absolute:)``.
package func expectClose<Scalar: FloatingPoint>(
  _ actual: [Scalar], _ expected: [Scalar], relative: Scalar, absolute: Scalar,
  _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
  expectEach(actual, expected, what(), sourceLocation) {
    agrees($0, $1, relative: relative, absolute: absolute)
  }
}

/// Expects `actual` to have `expected`'s count and each element to agree with
/// ``agrees(_:_:tolerance:)``.
package func expectClose<Scalar: FloatingPoint>(
  _ actual: [Scalar], _ expected: [Scalar], tolerance: Scalar,
  _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
  expectEach(actual, expected, what(), sourceLocation) { agrees($0, $1, tolerance: tolerance) }
}

/// Records one issue (the count of differing elements and the first three) unless every pair
/// of elements is close.
private func expectEach<Scalar: FloatingPoint>(
  _ actual: [Scalar], _ expected: [Scalar], _ what: @autoclosure () -> String,
  _ sourceLocation: SourceLocation, close: (Scalar, Scalar) -> Bool
) {
  guard actual.count == expected.count else {
    Issue.record(
      "\(what()): \(actual.count) elements, expected \(expected.count)",
      sourceLocation: sourceLocation)
    return
  }
  let bad = actual.indices.filter { !close(actual[$0], expected[$0]) }
  guard !bad.isEmpty else { return }
  let shown = bad.prefix(3).map { "[\($0)] \(actual[$0]) vs \(expected[$0])" }
  let message =
    "\(what()) differs at \(bad.count) of \(expected.count) elements: "
    + shown.joined(separator: ", ")
  Issue.record("\(message)", sourceLocation: sourceLocation)
}

/// A tolerance of the `relative:absolute:` rule (see ``agrees(_:_:relative:absolute:)``).
package struct Tolerance: Sendable, Hashable {
  /// The bound's factor of the expected value's magnitude.
  package var relative: Double
  /// The bound's constant term (for a gradient, a fraction of its largest magnitude).
  package var absolute: Double

  /// A tolerance of `relative * |expected| + absolute`.
  package init(relative: Double, absolute: Double) {
    self.relative = relative
    self.absolute = absolute
  }
}

/// Expects a loss and, if given, a gradient to match a reference's: each loss element within
/// `lossTolerance`, each gradient element within `gradientTolerance.relative` relative plus
/// `gradientTolerance.absolute` times the reference gradient's largest finite magnitude.
///
/// - Parameters:
///   - gradient: The gradient, or nil for a forward-only result (also skipped when the
///     reference has none).
///   - what: The path or case, named in each issue.
package func expectClose<Scalar: BinaryFloatingPoint>(
  loss: [Scalar], gradient: [Scalar]?, reference: (loss: [Double], gradient: [Double]?),
  lossTolerance: Tolerance, gradientTolerance: Tolerance, _ what: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  expectClose(
    loss.map { Double($0) }, reference.loss, relative: lossTolerance.relative,
    absolute: lossTolerance.absolute, "\(what) loss", sourceLocation: sourceLocation)
  guard let gradient, let expected = reference.gradient else { return }
  expectClose(
    gradient.map { Double($0) }, expected, relative: gradientTolerance.relative,
    absolute: gradientTolerance.absolute * largestFiniteMagnitude(expected),
    "\(what) gradient", sourceLocation: sourceLocation)
}

/// ``expectClose(loss:gradient:reference:lossTolerance:gradientTolerance:_:sourceLocation:)``
/// for one path's forward + backward result and its forward-only loss (reported as `what` and
/// `what forward`), both against the same reference.
package func expectClose<Scalar: BinaryFloatingPoint>(
  loss: [Scalar], gradient: [Scalar], forward: [Scalar],
  reference: (loss: [Double], gradient: [Double]?), lossTolerance: Tolerance,
  gradientTolerance: Tolerance, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  expectClose(
    loss: loss, gradient: gradient, reference: reference, lossTolerance: lossTolerance,
    gradientTolerance: gradientTolerance, what, sourceLocation: sourceLocation)
  expectClose(
    loss: forward, gradient: nil, reference: reference, lossTolerance: lossTolerance,
    gradientTolerance: gradientTolerance, "\(what) forward", sourceLocation: sourceLocation)
}
