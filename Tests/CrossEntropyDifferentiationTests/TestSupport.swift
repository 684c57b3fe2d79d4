#if Differentiation
  import _Differentiation
  import CrossEntropy
  import CrossEntropyDifferentiation
  import Testing
  import _CrossEntropyTestSupport

  // Seeded inputs, a differentiable weighted sum, and the comparison of an autodiff gradient
  // with the library's.

  /// An array of `shape` with standard normal elements times `scale`.
  func randomArray(
    _ shape: [Int], scale: Double = 1, using generator: inout SeededGenerator
  ) -> ShapedArray<Double> {
    try! ShapedArray(
      shape: shape, scalars: generator.normals(shape.reduce(1, *), scale: scale))
  }

  /// Class indices in `0..<classes` for every element of `shape`.
  func randomLabels(
    _ shape: [Int], classes: Int, using generator: inout SeededGenerator
  ) -> ShapedArray<Int> {
    try! ShapedArray(
      shape: shape,
      scalars: (0..<shape.reduce(1, *)).map { _ in Int.random(in: 0..<classes, using: &generator) })
  }

  /// Rows of `shape` (classes on the last axis) that are probability distributions.
  func randomDistributions(
    _ shape: [Int], using generator: inout SeededGenerator
  ) -> ShapedArray<Double> {
    try! softmax(randomArray(shape, using: &generator), alongAxis: -1)
  }

  /// Uniform values in `range` for every element of `shape`.
  func randomUniform(
    _ shape: [Int], in range: Range<Double>, using generator: inout SeededGenerator
  ) -> ShapedArray<Double> {
    try! ShapedArray(
      shape: shape,
      scalars: (0..<shape.reduce(1, *)).map { _ in Double.random(in: range, using: &generator) })
  }

  /// `sum_i weights[i] * values[i]`: turns an unreduced loss into a scalar whose gradient
  /// seeds the loss's pullback with `weights`.
  @differentiable(reverse,wrt: values)
  func weightedSum(_ values: ShapedArray<Double>, _ weights: ShapedArray<Double>) -> Double {
    precondition(values.shape == weights.shape)
    return zip(values.scalars, weights.scalars).reduce(0) { $0 + $1.0 * $1.1 }
  }

  @derivative(of: weightedSum, wrt: values)
  func vjpWeightedSum(_ values: ShapedArray<Double>, _ weights: ShapedArray<Double>) -> (
    value: Double, pullback: (Double) -> ShapedArray<Double>
  ) {
    (
      weightedSum(values, weights),
      { seed in try! ShapedArray(shape: weights.shape, scalars: weights.scalars.map { $0 * seed }) }
    )
  }

  /// `gradient` scaled element by element by `upstream`, each row of `classes` elements on the
  /// last axis by one value (`classes` 1: element by element): the unreduced derivative's
  /// expectation, written as a plain loop.
  func scaledRows(
    _ gradient: ShapedArray<Double>, by upstream: ShapedArray<Double>, classes: Int
  ) -> [Double] {
    gradient.scalars.indices.map { gradient.scalars[$0] * upstream.scalars[$0 / classes] }
  }

  /// Expects an autodiff gradient to equal the library's within 1e-12 relative, plus 1e-12 of
  /// the largest magnitude of the library's gradient.
  func expectGradient(
    _ actual: ShapedArray<Double>, _ expected: ShapedArray<Double>, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(actual.shape == expected.shape, "\(what) shape", sourceLocation: sourceLocation)
    expectGradient(actual.scalars, expected.scalars, what, sourceLocation: sourceLocation)
  }

  /// Expects gradients as arrays of elements to agree within 1e-12 (see the other overload).
  func expectGradient(
    _ actual: [Double], _ expected: [Double], _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    expectClose(
      actual, expected, relative: 1e-12, absolute: 1e-12 * largestFiniteMagnitude(expected),
      what, sourceLocation: sourceLocation)
  }
#endif
