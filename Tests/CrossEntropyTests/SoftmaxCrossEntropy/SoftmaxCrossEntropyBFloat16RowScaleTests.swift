import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights and upstream gradients of the bfloat16 forms of softmax cross-entropy:
// the fp32 forms on the same (widened) values, the gradient rounded to bfloat16; weights of 1
// give the plain call's bits; the spatial layout (fp32 copies); errors.

@Suite struct SoftmaxCrossEntropyBFloat16RowScaleTests {
  /// The bfloat16 run of `criterion` with sample weights and an upstream gradient, and the fp32
  /// run on the widened logits, its gradient rounded to bfloat16.
  private func runs(
    _ criterion: SoftmaxCrossEntropy, shape: [Int], rows: Int, seed: UInt64,
    samples: [Float]?, upstream: [Float]?
  ) throws -> (
    bfloat16: (loss: [Float], gradient: [UInt16]), float: (loss: [Float], gradient: [UInt16])
  ) {
    let count = shape.reduce(1, *)
    let logits = randomFloats(count, seed: seed, spread: 4).map { BFloat16Storage.stored($0) }
    let wide = logits.map { BFloat16Storage.float($0) }
    let classes = shape[criterion.classAxis < 0 ? shape.count - 1 : criterion.classAxis]
    let labels = (0..<rows).map { r in r % 3 == 1 ? criterion.ignoreIndex : (r * 5 + 1) % classes }
    let classWeights = (0..<classes).map { Float(0.5 + Double($0 % 3) * 0.5) }
    let lossCount = criterion.reduction == .none ? rows : 1
    var loss = [Float](repeating: .nan, count: lossCount)
    var gradient = [UInt16](repeating: 0xFFFF, count: count)
    var floatLoss = [Float](repeating: .nan, count: lossCount)
    var floatGradient = [Float](repeating: .nan, count: count)
    try logits.withUnsafeBufferPointer { x in
      try labels.withUnsafeBufferPointer { y in
        try classWeights.withUnsafeBufferPointer { w in
          try withOptionalBuffer(samples) { s in
            try withOptionalBuffer(upstream) { u in
              try loss.withUnsafeMutableBufferPointer { l in
                try gradient.withUnsafeMutableBufferPointer { g in
                  try criterion.lossAndGradient(
                    bfloat16Logits: x, shape: shape, labels: y, classWeights: w,
                    sampleWeights: s, upstreamGradient: u, loss: l, gradient: g)
                }
              }
              try wide.withUnsafeBufferPointer { xw in
                try floatLoss.withUnsafeMutableBufferPointer { l in
                  try floatGradient.withUnsafeMutableBufferPointer { g in
                    try criterion.lossAndGradient(
                      logits: xw, shape: shape, labels: y, classWeights: w, sampleWeights: s,
                      upstreamGradient: u, loss: l, gradient: g)
                  }
                }
              }
            }
          }
        }
      }
    }
    return ((loss, gradient), (floatLoss, floatGradient.map { BFloat16Storage.stored($0) }))
  }

  @Test(arguments: [Reduction.mean, .sum, .none])
  func matchesTheFloatForms(reduction: Reduction) throws {
    for (criterion, shape, rows) in [
      (SoftmaxCrossEntropy(reduction: reduction, labelSmoothing: 0.1), [40, 300], 40),
      (SoftmaxCrossEntropy(reduction: reduction, zLossScale: 1e-2, logitSoftCap: 5), [9, 7], 9),
      (SoftmaxCrossEntropy(reduction: reduction, classAxis: 1), [2, 7, 3], 6),
    ] {
      let samples = randomSampleWeights(rows, seed: 5)
      let upstream = randomUpstreamGradient(reduction == .none ? rows : 1, seed: 6)
      let (b, f) = try runs(
        criterion, shape: shape, rows: rows, seed: 7, samples: samples, upstream: upstream)
      expectClose(
        b.loss.map(Double.init), f.loss.map(Double.init), relative: 2e-5, absolute: 1e-6,
        "\(shape) \(reduction) loss")
      // Within one bfloat16 step of the fp32 gradient rounded to bfloat16.
      for i in b.gradient.indices {
        let (x, y) = (BFloat16Storage.float(b.gradient[i]), BFloat16Storage.float(f.gradient[i]))
        #expect(
          abs(x - y) <= abs(y) / 128 + 1e-7, "\(shape) \(reduction) gradient \(i): \(x) vs \(y)")
      }
    }
  }

  @Test(arguments: [Reduction.mean, .sum, .none])
  func onesAreThePlainCall(reduction: Reduction) throws {
    let criterion = SoftmaxCrossEntropy(reduction: reduction, labelSmoothing: 0.1)
    let ones = [Float](repeating: 1, count: 30)
    let (plain, _) = try runs(
      criterion, shape: [30, 50], rows: 30, seed: 9, samples: nil, upstream: nil)
    let (weighted, _) = try runs(
      criterion, shape: [30, 50], rows: 30, seed: 9, samples: ones,
      upstream: Array(ones.prefix(reduction == .none ? 30 : 1)))
    #expect(plain.loss.map(\.bitPattern) == weighted.loss.map(\.bitPattern))
    #expect(plain.gradient == weighted.gradient)
  }

  @Test func errors() throws {
    let criterion = SoftmaxCrossEntropy(reduction: .none)
    var logits = [UInt16](repeating: 0x3F80, count: 6)
    let labels = [0, 2]
    var loss = [Float](repeating: .nan, count: 2)
    func call(samples: [Float]?, upstream: [Float]?) throws {
      try logits.withUnsafeMutableBufferPointer { x in
        try labels.withUnsafeBufferPointer { y in
          try withOptionalBuffer(samples) { s in
            try withOptionalBuffer(upstream) { u in
              try loss.withUnsafeMutableBufferPointer { l in
                try criterion.lossAndGradient(
                  overwritingBFloat16: x, shape: [2, 3], labels: y, sampleWeights: s,
                  upstreamGradient: u, loss: l)
              }
            }
          }
        }
      }
    }
    expectLossError(
      .shapeMismatch, "sample weights hold 3 elements but labels shape [2] needs 2, one per row"
    ) { try call(samples: [1, 1, 1], upstream: nil) }
    expectLossError(
      .shapeMismatch, "upstream gradient holds 1 element but the loss of reduction none holds 2"
    ) { try call(samples: nil, upstream: [1]) }
    #expect(loss.allSatisfy(\.isNaN) && logits.allSatisfy { $0 == 0x3F80 }, "nothing written")
  }
}
