import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The schedule's guarantees: bit-identical results for every thread count, micro-batches that
/// add up to the whole batch (accumulated gradients and the normaliser), and half-precision
/// inputs.
@Suite(.serialized) struct LinearCrossEntropyScheduleTests {
  /// Large enough for several threads in the row kernel and the bias sums (rows x classes over
  /// twice 64K), small enough for a debug build.
  static let large = HeadProblem.random(
    rows: 40, size: 3, classes: 3_500, bias: true, classWeights: true, ignoring: true, seed: 11)

  @Test(arguments: [
    LinearCrossEntropy(labelSmoothing: 0.1, zLossScale: 1e-3),
    LinearCrossEntropy(reduction: .none, logitSoftCap: 4),
    LinearCrossEntropy(scratchLimit: 20 * 3_500 * 8),
    LinearCrossEntropy(labelSmoothing: 0.1, scratchLimit: 8 * 900 * 8),
  ])
  func threadCountsAreBitIdentical(criterion: LinearCrossEntropy) throws {
    defer { Parallelism.maximumThreadCount = 0 }
    var firstFloat: [UInt64]? = nil
    var firstDouble: [UInt64]? = nil
    for threads in kernelThreadCounts {
      Parallelism.maximumThreadCount = threads
      let float = try Self.large.run(criterion, as: Float.self).0.bits
      let double = try Self.large.run(criterion, as: Double.self).0.bits
      #expect(float == (firstFloat ?? float), "Float, \(threads) threads")
      #expect(double == (firstDouble ?? double), "Double, \(threads) threads")
      firstFloat = firstFloat ?? float
      firstDouble = firstDouble ?? double
    }
  }

  /// Three micro-batches with the whole batch's normaliser, accumulating into one weight and
  /// bias gradient, give the whole batch's loss (summed) and gradients.
  @Test(arguments: [LinearCrossEntropy.defaultScratchLimit, 1])
  func microBatchesAddUpToTheBatch(scratchLimit: Int) throws {
    let problem = HeadProblem.random(
      rows: 12, size: 4, classes: 10, bias: true, ignoring: true, seed: 5)
    let whole = LinearCrossEntropy(zLossScale: 1e-2, scratchLimit: scratchLimit)
    let (expected, _) = try problem.run(whole, as: Double.self)
    let count = Double(problem.labels.filter { $0 != -100 }.count)
    let micro = LinearCrossEntropy(
      zLossScale: 1e-2, normalizer: count, scratchLimit: scratchLimit, accumulatesGradients: true)
    // The accumulated gradients start from earlier values, which they keep.
    let dw = buffer(Double(0.5), count: problem.weight.count)
    let db = buffer(Double(-0.25), count: problem.classes)
    defer { [dw, db].forEach { $0.deallocate() } }
    var dh: [Double] = []
    var loss = 0.0
    for range in [0..<5, 5..<6, 6..<12] {
      let part = buffer(Double.nan, count: range.count * problem.size)
      let partLoss = buffer(Double.nan, count: 1)
      defer { [part, partLoss].forEach { $0.deallocate() } }
      let hidden = Array(problem.hidden[range.lowerBound * 4..<range.upperBound * 4])
      let labels = Array(problem.labels[range])
      try hidden.withUnsafeBufferPointer { h in
        try problem.weight.withUnsafeBufferPointer { w in
          try problem.bias!.withUnsafeBufferPointer { b in
            try labels.withUnsafeBufferPointer { y in
              try micro.lossAndGradient(
                hidden: h, shape: [range.count, 4], weight: w, weightShape: [10, 4], bias: b,
                labels: y, loss: partLoss, hiddenGradient: part, weightGradient: dw,
                biasGradient: db)
            }
          }
        }
      }
      loss += partLoss[0]
      dh += Array(part)
    }
    expectClose([loss], expected.loss, relative: 1e-13, absolute: 0, "loss")
    expectClose(dh, expected.hidden, relative: 1e-13, absolute: 1e-16, "hidden gradient")
    expectClose(
      Array(dw).map { $0 - 0.5 }, expected.weight, relative: 1e-12, absolute: 1e-16,
      "weight gradient")
    expectClose(
      Array(db).map { $0 + 0.25 }, expected.bias!, relative: 1e-12, absolute: 1e-16, "bias gradient"
    )
  }

  /// A normaliser divides `.mean` as given: the sum over it.
  @Test func normalizerDividesTheSum() throws {
    let problem = HeadProblem.random(
      rows: 7, size: 3, classes: 6, bias: true, classWeights: true, ignoring: true)
    let (sum, _) = try problem.run(
      LinearCrossEntropy(reduction: .sum, zLossScale: 0.1), as: Double.self)
    let (mean, _) = try problem.run(
      LinearCrossEntropy(zLossScale: 0.1, normalizer: 2.5), as: Double.self)
    expectClose(mean.loss, sum.loss.map { $0 / 2.5 }, relative: 1e-14, absolute: 0, "loss")
    expectClose(mean.weight, sum.weight.map { $0 / 2.5 }, relative: 1e-13, absolute: 1e-16, "dW")
    // And .sum ignores it.
    let (summed, _) = try problem.run(
      LinearCrossEntropy(reduction: .sum, zLossScale: 0.1, normalizer: 2.5), as: Double.self)
    #expect(summed.loss == sum.loss)
  }

  /// float16 and bfloat16 hidden states and classifiers: fp32 results within the fp32
  /// tolerance of the Double reference on the same (rounded) values, on both schedules.
  @Test(arguments: [LinearCrossEntropy.defaultScratchLimit, 200])
  func halfPrecisionInputs(scratchLimit: Int) throws {
    var problem = HeadProblem.random(
      rows: 9, size: 5, classes: 21, bias: true, classWeights: true, ignoring: true, seed: 9)
    let criterion = LinearCrossEntropy(
      labelSmoothing: 0.1, zLossScale: 1e-3, logitSoftCap: 5, scratchLimit: scratchLimit)
    func bfloat16(_ x: Double) -> UInt16 { BFloat16Storage.stored(Float(x)) }
    let h = problem.hidden.map(bfloat16)
    let w = problem.weight.map(bfloat16)
    let b = problem.bias!.map(bfloat16)
    problem.hidden = h.map { Double(BFloat16Storage.float($0)) }
    problem.weight = w.map { Double(BFloat16Storage.float($0)) }
    problem.bias = b.map { Double(BFloat16Storage.float($0)) }
    let reference = try problem.reference(criterion)
    let weights = problem.classWeights!.map { Float($0) }
    let outputs = HeadBuffers<Float>(rows: 9, size: 5, classes: 21, lossCount: 1)
    defer { outputs.deallocate() }
    try h.withUnsafeBufferPointer { h in
      try w.withUnsafeBufferPointer { w in
        try b.withUnsafeBufferPointer { b in
          try problem.labels.withUnsafeBufferPointer { y in
            try weights.withUnsafeBufferPointer { cw in
              try criterion.lossAndGradient(
                bfloat16Hidden: h, shape: [9, 5], bfloat16Weight: w, weightShape: [21, 5],
                bfloat16Bias: b, labels: y, classWeights: cw, loss: outputs.loss,
                hiddenGradient: outputs.hidden, weightGradient: outputs.weight,
                biasGradient: outputs.bias, logSumExp: outputs.logSumExp)
            }
          }
        }
      }
    }
    expectHeadClose(outputs.result, reference, "bfloat16")
    let forward = buffer(Float.nan, count: 1)
    defer { forward.deallocate() }
    try h.withUnsafeBufferPointer { h in
      try w.withUnsafeBufferPointer { w in
        try problem.labels.withUnsafeBufferPointer { y in
          try LinearCrossEntropy(scratchLimit: scratchLimit).loss(
            bfloat16Hidden: h, shape: [9, 5], bfloat16Weight: w, weightShape: [21, 5],
            labels: y, into: forward)
        }
      }
    }
    var noBias = problem
    noBias.bias = nil
    noBias.classWeights = nil
    let plain = try noBias.reference(LinearCrossEntropy())
    expectClose([Double(forward[0])], plain.loss, relative: 2e-5, absolute: 0, "bfloat16 forward")

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      var half = HeadProblem.random(
        rows: 9, size: 5, classes: 21, bias: true, classWeights: true, ignoring: true, seed: 9)
      let hh = half.hidden.map { Float16($0) }
      let hw = half.weight.map { Float16($0) }
      let hb = half.bias!.map { Float16($0) }
      half.hidden = hh.map { Double($0) }
      half.weight = hw.map { Double($0) }
      half.bias = hb.map { Double($0) }
      let halfReference = try half.reference(criterion)
      let halfOutputs = HeadBuffers<Float>(rows: 9, size: 5, classes: 21, lossCount: 1)
      defer { halfOutputs.deallocate() }
      try hh.withUnsafeBufferPointer { h in
        try hw.withUnsafeBufferPointer { w in
          try hb.withUnsafeBufferPointer { b in
            try half.labels.withUnsafeBufferPointer { y in
              try weights.withUnsafeBufferPointer { cw in
                try criterion.lossAndGradient(
                  hidden: h, shape: [9, 5], weight: w, weightShape: [21, 5], bias: b, labels: y,
                  classWeights: cw, loss: halfOutputs.loss, hiddenGradient: halfOutputs.hidden,
                  weightGradient: halfOutputs.weight, biasGradient: halfOutputs.bias,
                  logSumExp: halfOutputs.logSumExp)
              }
            }
          }
        }
      }
      expectHeadClose(halfOutputs.result, halfReference, "float16")
    #endif
  }
}
