import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// A random softmax cross-entropy problem: any rank 1...4, any class axis, random options.
struct RandomClassProblem<Scalar: BinaryFloatingPoint> {
  var shape: [Int]
  var classAxis: Int
  var logits: ShapedArray<Scalar>
  var labels: ShapedArray<Int>
  var probabilities: ShapedArray<Scalar>
  var weights: [Scalar]?
  var ignoreIndex: Int
  var smoothing: Double
  var reduction: Reduction

  var layout: ClassLayout { try! ClassLayout(shape: shape, classAxis: classAxis) }

  var criterion: SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: reduction, classAxis: classAxis, ignoreIndex: ignoreIndex,
      labelSmoothing: smoothing)
  }

  /// The same criterion for probability targets (whose ignore index must be negative).
  var probabilityCriterion: SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(reduction: reduction, classAxis: classAxis, labelSmoothing: smoothing)
  }

  init(seed: UInt64, scale: Double = 3) {
    var random = SeededGenerator(scrambledSeed: seed)
    let rank = Int.random(in: 1...4, using: &random)
    shape = (0..<rank).map { _ in Int.random(in: 1...4, using: &random) }
    let axis = Int.random(in: 0..<rank, using: &random)
    let classes = shape[axis]
    classAxis = Bool.random(using: &random) ? axis : axis - rank
    let count = shape.reduce(1, *)
    logits = try! ShapedArray(
      shape: shape,
      scalars: (0..<count).map { _ in
        // Multiples of 2^-10, so that shifting by a small power of two is exact even in Float.
        Scalar((Double.random(in: -scale...scale, using: &random) * 1024).rounded() / 1024)
      })
    var labelShape = shape
    labelShape.remove(at: axis)
    let rows = count / classes
    let ignore = [-100, -1, Int.random(in: 0..<classes, using: &random)].randomElement(
      using: &random)!
    ignoreIndex = ignore
    let labelValues = (0..<rows).map { _ in
      Int.random(in: 0..<5, using: &random) == 0
        ? ignore : Int.random(in: 0..<classes, using: &random)
    }
    labels = try! ShapedArray(shape: labelShape, scalars: labelValues)
    // Distributions along the class axis.
    var targets = (0..<count).map { _ in Double.random(in: 0...1, using: &random) }
    let layout = try! ClassLayout(shape: shape, classAxis: axis)
    for r in 0..<rows {
      let base = layout.base(ofRow: r)
      let total = (0..<classes).reduce(0.0) { $0 + targets[base + $1 * layout.inner] }
      for c in 0..<classes { targets[base + c * layout.inner] /= total }
    }
    probabilities = try! ShapedArray(shape: shape, scalars: targets.map { Scalar($0) })
    weights =
      Bool.random(using: &random)
      ? (0..<classes).map { _ in Scalar(Double.random(in: 0.1...2, using: &random)) } : nil
    smoothing = [0, 0, 0.1, 0.5, 1].randomElement(using: &random)!
    reduction = Reduction.allCases.randomElement(using: &random)!
  }
}

/// The gradient of `f` at `x` by central differences, `(f(x + h) - f(x - h)) / 2h` per element.
func centralDifferences(
  _ x: [Double], step: Double = 1e-5, _ f: ([Double]) throws -> Double
) rethrows -> [Double] {
  var result = [Double](repeating: 0, count: x.count)
  var probe = x
  for i in x.indices {
    let h = step * Swift.max(1, abs(x[i]))
    probe[i] = x[i] + h
    let up = try f(probe)
    probe[i] = x[i] - h
    let down = try f(probe)
    probe[i] = x[i]
    result[i] = (up - down) / (2 * h)
  }
  return result
}

/// The sum of a loss array (the scalar of a reduced loss; the total of `.none` losses).
func total<Scalar: BinaryFloatingPoint>(_ loss: ShapedArray<Scalar>) -> Double {
  loss.scalars.reduce(0.0) { $0 + Double($1) }
}
