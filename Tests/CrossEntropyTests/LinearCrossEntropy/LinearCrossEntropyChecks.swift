import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The problems and the reference the linear cross-entropy suites share: the logits materialised
// in Double, ``SoftmaxCrossEntropy`` on them, and the gradients as explicit matrix products.

/// One language-model head problem: `rows` hidden states of `size`, `classes` classifier rows,
/// every value exact in fp32 (so that the Float and Double runs see the same inputs).
struct HeadProblem: Sendable, CustomTestStringConvertible {
  var rows: Int
  var size: Int
  var classes: Int
  var hidden: [Double]
  var weight: [Double]
  var bias: [Double]?
  var labels: [Int]
  var classWeights: [Double]?
  /// Per-sample weights, one per row (nil: none).
  var sampleWeights: [Double]? = nil
  /// The upstream gradient, one per row for `.none`, one value otherwise (nil: none).
  var upstreamGradient: [Double]? = nil

  var testDescription: String {
    "N=\(rows) D=\(size) V=\(classes)" + (bias == nil ? "" : " bias")
      + (classWeights == nil ? "" : " class weights")
      + (sampleWeights == nil ? "" : " sample weights")
      + (upstreamGradient == nil ? "" : " upstream gradient")
  }

  /// A seeded random problem; every third label is `ignoreIndex` when `ignoring`.
  static func random(
    rows: Int, size: Int, classes: Int, bias: Bool = false, classWeights: Bool = false,
    ignoring: Bool = false, scale: Double = 1, seed: UInt64 = 1
  ) -> HeadProblem {
    var generator = SeededGenerator(scrambledSeed: seed)
    func exact(_ values: [Double]) -> [Double] { values.map { Double(Float($0)) } }
    let hidden = exact(generator.normals(rows * size, scale: scale))
    let weight = exact(generator.normals(classes * size, scale: 1 / Double(size).squareRoot()))
    let biasValues = bias ? exact(generator.normals(classes, scale: 0.5)) : nil
    var labels = (0..<rows).map { _ in Int.random(in: 0..<classes, using: &generator) }
    if ignoring {
      for r in stride(from: 1, to: rows, by: 3) { labels[r] = -100 }
    }
    let weights =
      classWeights
      ? (0..<classes).map { _ in Double(Float(Double.random(in: 0.5..<2, using: &generator))) }
      : nil
    return HeadProblem(
      rows: rows, size: size, classes: classes, hidden: hidden, weight: weight, bias: biasValues,
      labels: labels, classWeights: weights)
  }

  /// `hidden · weightᵀ + bias` in Double, `rows x classes`.
  var logits: [Double] {
    var result = [Double](repeating: 0, count: rows * classes)
    for n in 0..<rows {
      for v in 0..<classes {
        var sum = bias?[v] ?? 0
        for d in 0..<size { sum += hidden[n * size + d] * weight[v * size + d] }
        result[n * classes + v] = sum
      }
    }
    return result
  }

  /// The softmax cross-entropy criterion with `criterion`'s options.
  static func softmax(_ criterion: LinearCrossEntropy) -> SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: criterion.reduction, ignoreIndex: criterion.ignoreIndex,
      labelSmoothing: criterion.labelSmoothing, zLossScale: criterion.zLossScale,
      logitSoftCap: criterion.logitSoftCap, normalizer: criterion.normalizer)
  }

  /// The reference: ``SoftmaxCrossEntropy`` in Double on the materialised logits, then
  /// `dH = G · W`, `dW = Gᵀ · H`, `db = column sums of G` and each row's log-sum-exp, in
  /// Double.
  func reference(_ criterion: LinearCrossEntropy) throws -> HeadResult<Double> {
    let logits = self.logits
    let (loss, g) = try Self.softmax(criterion).lossAndGradient(
      logits: ShapedArray(shape: [rows, classes], scalars: logits),
      labels: ShapedArray(shape: [rows], scalars: labels), classWeights: classWeights,
      sampleWeights: sampleWeights.map { try ShapedArray(shape: [rows], scalars: $0) },
      upstreamGradient: upstreamGradient.map {
        try ShapedArray(shape: criterion.reduction == .none ? [rows] : [], scalars: $0)
      })
    let gradient = g.scalars
    var dh = [Double](repeating: 0, count: rows * size)
    var dw = [Double](repeating: 0, count: classes * size)
    var db = [Double](repeating: 0, count: classes)
    for n in 0..<rows {
      for v in 0..<classes {
        let gv = gradient[n * classes + v]
        db[v] += gv
        for d in 0..<size {
          dh[n * size + d] += gv * weight[v * size + d]
          dw[v * size + d] += gv * hidden[n * size + d]
        }
      }
    }
    let lse = (0..<rows).map { n -> Double in
      guard labels[n] != criterion.ignoreIndex else { return 0 }
      let row = (0..<classes).map { v -> Double in
        let x = logits[n * classes + v]
        return criterion.logitSoftCap.map { $0 * .tanh(x / $0) } ?? x
      }
      let m = row.max()!
      return m + .log(row.reduce(0) { $0 + .exp($1 - m) })
    }
    return HeadResult(loss: loss.scalars, hidden: dh, weight: dw, bias: db, logSumExp: lse)
  }

  /// Runs the buffer form of `criterion` in `Scalar` (every output starting as NaN, the bias
  /// gradient always requested), and its forward-only form.
  func run<Scalar: BinaryFloatingPoint>(
    _ criterion: LinearCrossEntropy, as _: Scalar.Type
  ) throws -> (HeadResult<Scalar>, forward: [Scalar]) {
    let h = hidden.map { Scalar($0) }
    let w = weight.map { Scalar($0) }
    let b = bias?.map { Scalar($0) }
    let cw = classWeights?.map { Scalar($0) }
    let sw = sampleWeights?.map { Scalar($0) }
    let ug = upstreamGradient?.map { Scalar($0) }
    let lossCount = criterion.reduction == .none ? rows : 1
    var result = HeadResult<Scalar>(
      loss: .init(repeating: .nan, count: lossCount),
      hidden: .init(repeating: .nan, count: rows * size),
      weight: .init(repeating: .nan, count: classes * size),
      bias: .init(repeating: .nan, count: classes),
      logSumExp: .init(repeating: .nan, count: rows))
    var forward = [Scalar](repeating: .nan, count: lossCount)
    var forwardLogSumExp = [Scalar](repeating: .nan, count: rows)
    try h.withUnsafeBufferPointer { h in
      try w.withUnsafeBufferPointer { w in
        try withOptionalBuffer(b) { b in
          try labels.withUnsafeBufferPointer { y in
            try withOptionalBuffer(cw) { cw in
              try withOptionalBuffer(sw) { sw in
                try withOptionalBuffer(ug) { ug in
                  try result.loss.withUnsafeMutableBufferPointer { l in
                    try result.hidden.withUnsafeMutableBufferPointer { dh in
                      try result.weight.withUnsafeMutableBufferPointer { dw in
                        try result.bias!.withUnsafeMutableBufferPointer { db in
                          try result.logSumExp.withUnsafeMutableBufferPointer { lse in
                            try criterion.lossAndGradient(
                              hidden: h, shape: [rows, size], weight: w,
                              weightShape: [classes, size],
                              bias: b, labels: y, classWeights: cw, sampleWeights: sw,
                              upstreamGradient: ug, loss: l, hiddenGradient: dh,
                              weightGradient: dw, biasGradient: db, logSumExp: lse)
                          }
                        }
                      }
                    }
                  }
                  try forward.withUnsafeMutableBufferPointer { l in
                    try forwardLogSumExp.withUnsafeMutableBufferPointer { lse in
                      try criterion.loss(
                        hidden: h, shape: [rows, size], weight: w, weightShape: [classes, size],
                        bias: b, labels: y, classWeights: cw, sampleWeights: sw, into: l,
                        logSumExp: lse)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    #expect(
      forwardLogSumExp.map { Double($0).bitPattern }
        == result.logSumExp.map { Double($0).bitPattern }, "log-sum-exp with and without gradients")
    return (result, forward)
  }
}

/// The outputs of one run: the loss, the three gradients and the per-row log-sum-exp.
struct HeadResult<Scalar: BinaryFloatingPoint> {
  var loss: [Scalar]
  var hidden: [Scalar]
  var weight: [Scalar]
  var bias: [Scalar]?
  var logSumExp: [Scalar]

  /// Every output's bit patterns, for comparisons across thread counts.
  var bits: [UInt64] {
    (loss + hidden + weight + (bias ?? []) + logSumExp).map { Double($0).bitPattern }
  }
}

/// The tolerances of a precision against the Double reference. Double: 1e-12 (relative, plus
/// that fraction of the larger of 1 and each array's largest magnitude); measured at most 9e-16.
/// fp32: the loss within 1e-6 relative plus 1e-7, each gradient within 1e-5 relative plus 2e-6
/// of its scale; measured at most 9.3e-8 (loss, relative) and 2.7e-7 (gradients, of their
/// largest magnitude). The inputs are exact in fp32, so the difference is fp32 products and
/// the fp32 row kernel.
func headTolerance<Scalar: BinaryFloatingPoint>(
  _: Scalar.Type
) -> (loss: Tolerance, gradient: Tolerance) {
  Scalar.significandBitCount > 30
    ? (Tolerance(relative: 1e-12, absolute: 1e-13), Tolerance(relative: 1e-12, absolute: 1e-12))
    : (Tolerance(relative: 1e-6, absolute: 1e-7), Tolerance(relative: 1e-5, absolute: 2e-6))
}

/// Expects `result` to match `reference` within `tolerance` (see ``headTolerance(_:)``),
/// naming `what` in each issue.
func expectHeadClose<Scalar: BinaryFloatingPoint>(
  _ result: HeadResult<Scalar>, forward: [Scalar]? = nil, _ reference: HeadResult<Double>,
  tolerance: (loss: Tolerance, gradient: Tolerance)? = nil, _ what: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let (lossTolerance, gradientTolerance) = tolerance ?? headTolerance(Scalar.self)
  func close(_ actual: [Scalar], _ expected: [Double], _ tolerance: Tolerance, _ name: String) {
    expectClose(
      actual.map { Double($0) }, expected, relative: tolerance.relative,
      absolute: tolerance.absolute * max(1, largestFiniteMagnitude(expected)),
      "\(what): \(name)", sourceLocation: sourceLocation)
  }
  close(result.loss, reference.loss, lossTolerance, "loss")
  if let forward { close(forward, reference.loss, lossTolerance, "forward-only loss") }
  close(result.hidden, reference.hidden, gradientTolerance, "hidden gradient")
  close(result.weight, reference.weight, gradientTolerance, "weight gradient")
  if let bias = result.bias, let expected = reference.bias {
    close(bias, expected, gradientTolerance, "bias gradient")
  }
  close(result.logSumExp, reference.logSumExp, lossTolerance, "log-sum-exp")
}

/// A buffer of `count` elements, each `value`, for the caller to deallocate.
func buffer<Scalar>(_ value: Scalar, count: Int) -> UnsafeMutableBufferPointer<Scalar> {
  let result = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: count)
  result.initialize(repeating: value)
  return result
}

/// The output buffers of one run, each starting as NaN.
struct HeadBuffers<Scalar: BinaryFloatingPoint> {
  let loss: UnsafeMutableBufferPointer<Scalar>
  let hidden: UnsafeMutableBufferPointer<Scalar>
  let weight: UnsafeMutableBufferPointer<Scalar>
  let bias: UnsafeMutableBufferPointer<Scalar>
  let logSumExp: UnsafeMutableBufferPointer<Scalar>

  init(rows: Int, size: Int, classes: Int, lossCount: Int) {
    loss = buffer(.nan, count: lossCount)
    hidden = buffer(.nan, count: rows * size)
    weight = buffer(.nan, count: classes * size)
    bias = buffer(.nan, count: classes)
    logSumExp = buffer(.nan, count: rows)
  }

  var result: HeadResult<Scalar> {
    HeadResult(
      loss: Array(loss), hidden: Array(hidden), weight: Array(weight), bias: Array(bias),
      logSumExp: Array(logSumExp))
  }

  func deallocate() { [loss, hidden, weight, bias, logSumExp].forEach { $0.deallocate() } }
}
