import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights and upstream gradients of the linear cross-entropy: PyTorch's values
// (Fixtures/row_scales.json) on both schedules, the schedules against the Double reference
// (softmax cross-entropy on the materialised logits) at several thread counts, weights of 1
// against the plain call, half-precision inputs, and the errors.

/// The scratch limits of the three ways the schedule cuts 20 rows of 11 classes in `Scalar`:
/// one chunk, two row chunks of 10, and vocabulary blocks of 16 rows and 6 classes.
private func scratchLimits<Scalar>(_: Scalar.Type) -> [Int] {
  let bytes = MemoryLayout<Scalar>.stride
  return [LinearCrossEntropy.defaultScratchLimit, 16 * 11 * bytes, 100 * bytes]
}

/// A problem of `rows` rows with sample weights (a 0 and a negative one among them) and, if
/// asked, an upstream gradient for `reduction`.
private func weightedProblem(
  rows: Int, size: Int, classes: Int, reduction: Reduction, upstream: Bool,
  samples: Bool = true, seed: UInt64
) -> HeadProblem {
  var problem = HeadProblem.random(
    rows: rows, size: size, classes: classes, bias: true, classWeights: true, ignoring: true,
    seed: seed)
  if samples { problem.sampleWeights = randomSampleWeights(rows, seed: seed).map { Double($0) } }
  if upstream {
    problem.upstreamGradient = randomUpstreamGradient(
      reduction == .none ? rows : 1, seed: seed + 1
    ).map { Double($0) }
  }
  return problem
}

@Suite(.serialized) struct LinearCrossEntropyRowScaleTests {
  /// The PyTorch cases, through the array forms, on each of the schedule's cuts.
  @Test func matchesPyTorch() throws {
    try check(Float.self)
    try check(Double.self)
  }

  private func check<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    var checked = 0
    for c in RowScaleFixtures.file.cases
    where c.options["loss"]?.string == "linear_cross_entropy" {
      let fixture = RowScaleCase<Scalar>(fixture: c)
      let expected = c.expected(Scalar.self)
      for scratchLimit in scratchLimits(Scalar.self) {
        let criterion = LinearCrossEntropy(
          reduction: fixture.reduction, labelSmoothing: fixture.option("labelSmoothing") ?? 0,
          zLossScale: fixture.option("zLossScale") ?? 0,
          logitSoftCap: fixture.option("logitSoftCap"),
          normalizer: fixture.option("normalizer"), scratchLimit: scratchLimit)
        let result = try criterion.lossAndGradient(
          hidden: fixture.input, weight: c.inputs["linearWeight"]!.shaped(),
          bias: c.inputs["bias"]?.shaped(), labels: fixture.labels,
          classWeights: fixture.classWeights, sampleWeights: fixture.sampleWeights,
          upstreamGradient: fixture.upstreamGradient)
        let what = "\(c.name) \(Scalar.self) scratch \(scratchLimit)"
        expectClose(result.loss, expected["loss"], "\(what) loss")
        expectClose(result.hiddenGradient, expected["gradient"], "\(what) hidden gradient")
        expectClose(result.weightGradient, expected["weightGradient"], "\(what) weight gradient")
        if let bias = result.biasGradient {
          expectClose(bias, expected["biasGradient"], "\(what) bias gradient")
        }
        let loss = try criterion.loss(
          hidden: fixture.input, weight: c.inputs["linearWeight"]!.shaped(),
          bias: c.inputs["bias"]?.shaped(), labels: fixture.labels,
          classWeights: fixture.classWeights, sampleWeights: fixture.sampleWeights)
        expectClose(loss, expected["loss"], "\(what) forward-only loss")
      }
      checked += 1
    }
    #expect(checked >= 35)
  }

  /// Both schedules against the Double reference, bit-identical at 1, 2, 3 and 7 threads.
  @Test(arguments: [Reduction.mean, .sum, .none])
  func schedulesAgreeWithTheReference(reduction: Reduction) throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let problem = weightedProblem(
      rows: 40, size: 3, classes: 700, reduction: reduction, upstream: true, seed: 21)
    for options in [
      LinearCrossEntropy(reduction: reduction, labelSmoothing: 0.1, zLossScale: 1e-2),
      LinearCrossEntropy(reduction: reduction, logitSoftCap: 4),
    ] {
      let reference = try problem.reference(options)
      for elementBytes in [4, 8] {
        // Default (one chunk), two row chunks, vocabulary blocks.
        for scratchLimit in [
          LinearCrossEntropy.defaultScratchLimit, 20 * 700 * elementBytes, 800 * elementBytes,
        ] {
          var criterion = options
          criterion.scratchLimit = scratchLimit
          var first: [UInt64]? = nil
          for threads in kernelThreadCounts {
            Parallelism.maximumThreadCount = threads
            let what = "\(reduction) \(elementBytes) bytes, scratch \(scratchLimit), \(threads)"
            let bits: [UInt64]
            if elementBytes == 4 {
              let (result, forward) = try problem.run(criterion, as: Float.self)
              expectHeadClose(result, forward: forward, reference, what)
              bits = result.bits
            } else {
              let (result, forward) = try problem.run(criterion, as: Double.self)
              expectHeadClose(result, forward: forward, reference, what)
              bits = result.bits
            }
            #expect(bits == (first ?? bits), "\(what): bits vs 1 thread")
            first = first ?? bits
          }
        }
      }
    }
  }

  /// Sample weights of 1 and an upstream gradient of ones give the plain call's bits.
  @Test(arguments: [Reduction.mean, .sum, .none])
  func onesAreThePlainCall(reduction: Reduction) throws {
    var problem = weightedProblem(
      rows: 30, size: 4, classes: 50, reduction: reduction, upstream: false, samples: false,
      seed: 31)
    for scratchLimit in [LinearCrossEntropy.defaultScratchLimit, 30 * 50 * 4, 300] {
      let criterion = LinearCrossEntropy(
        reduction: reduction, labelSmoothing: 0.1, zLossScale: 1e-2, scratchLimit: scratchLimit)
      problem.sampleWeights = nil
      problem.upstreamGradient = nil
      let (plainFloat, _) = try problem.run(criterion, as: Float.self)
      let (plainDouble, _) = try problem.run(criterion, as: Double.self)
      problem.sampleWeights = [Double](repeating: 1, count: 30)
      problem.upstreamGradient = [Double](repeating: 1, count: reduction == .none ? 30 : 1)
      let (onesFloat, _) = try problem.run(criterion, as: Float.self)
      let (onesDouble, _) = try problem.run(criterion, as: Double.self)
      #expect(onesFloat.bits == plainFloat.bits, "Float, scratch \(scratchLimit)")
      #expect(onesDouble.bits == plainDouble.bits, "Double, scratch \(scratchLimit)")
    }
  }

  /// Micro-batches with their sample weights, the whole batch's weighted denominator as the
  /// normaliser and accumulated gradients add up to the whole batch's weighted mean.
  @Test func weightedMicroBatchesAddUp() throws {
    let problem = weightedProblem(
      rows: 12, size: 4, classes: 10, reduction: .mean, upstream: false, seed: 41)
    let whole = LinearCrossEntropy(zLossScale: 0)
    let (expected, _) = try problem.run(whole, as: Double.self)
    var denominator = 0.0
    for r in 0..<12 where problem.labels[r] != -100 {
      denominator += problem.sampleWeights![r] * problem.classWeights![problem.labels[r]]
    }
    let micro = LinearCrossEntropy(normalizer: denominator, accumulatesGradients: true)
    let dw = buffer(Double(0), count: problem.weight.count)
    let db = buffer(Double(0), count: problem.classes)
    defer { [dw, db].forEach { $0.deallocate() } }
    var loss = 0.0
    for range in [0..<5, 5..<12] {
      let dh = buffer(Double.nan, count: range.count * 4)
      let partLoss = buffer(Double.nan, count: 1)
      defer { [dh, partLoss].forEach { $0.deallocate() } }
      let hidden = Array(problem.hidden[range.lowerBound * 4..<range.upperBound * 4])
      let labels = Array(problem.labels[range])
      let samples = Array(problem.sampleWeights![range])
      try hidden.withUnsafeBufferPointer { h in
        try problem.weight.withUnsafeBufferPointer { w in
          try problem.bias!.withUnsafeBufferPointer { b in
            try labels.withUnsafeBufferPointer { y in
              try problem.classWeights!.withUnsafeBufferPointer { cw in
                try samples.withUnsafeBufferPointer { s in
                  try micro.lossAndGradient(
                    hidden: h, shape: [range.count, 4], weight: w, weightShape: [10, 4],
                    bias: b, labels: y, classWeights: cw, sampleWeights: s, loss: partLoss,
                    hiddenGradient: dh, weightGradient: dw, biasGradient: db)
                }
              }
            }
          }
        }
      }
      loss += partLoss[0]
    }
    expectClose([loss], expected.loss, relative: 1e-13, absolute: 0, "loss")
    expectClose(Array(dw), expected.weight, relative: 1e-12, absolute: 1e-16, "weight gradient")
    expectClose(Array(db), expected.bias!, relative: 1e-12, absolute: 1e-16, "bias gradient")
  }

  /// float16 and bfloat16 hidden states and classifiers with fp32 sample weights and upstream
  /// gradient, against the Double reference on the same (rounded) values, on both schedules.
  @Test(arguments: [LinearCrossEntropy.defaultScratchLimit, 200])
  func halfPrecisionInputs(scratchLimit: Int) throws {
    var problem = weightedProblem(
      rows: 9, size: 5, classes: 21, reduction: .none, upstream: true, seed: 51)
    let criterion = LinearCrossEntropy(
      reduction: .none, labelSmoothing: 0.1, zLossScale: 1e-3, scratchLimit: scratchLimit)
    func bfloat16(_ x: Double) -> UInt16 { BFloat16Storage.stored(Float(x)) }
    let h = problem.hidden.map(bfloat16)
    let w = problem.weight.map(bfloat16)
    problem.hidden = h.map { Double(BFloat16Storage.float($0)) }
    problem.weight = w.map { Double(BFloat16Storage.float($0)) }
    problem.bias = nil
    let reference = try problem.reference(criterion)
    let classWeights = problem.classWeights!.map { Float($0) }
    let samples = problem.sampleWeights!.map { Float($0) }
    let upstream = problem.upstreamGradient!.map { Float($0) }
    let outputs = HeadBuffers<Float>(rows: 9, size: 5, classes: 21, lossCount: 9)
    defer { outputs.deallocate() }
    try h.withUnsafeBufferPointer { h in
      try w.withUnsafeBufferPointer { w in
        try problem.labels.withUnsafeBufferPointer { y in
          try classWeights.withUnsafeBufferPointer { cw in
            try samples.withUnsafeBufferPointer { s in
              try upstream.withUnsafeBufferPointer { u in
                try criterion.lossAndGradient(
                  bfloat16Hidden: h, shape: [9, 5], bfloat16Weight: w, weightShape: [21, 5],
                  labels: y, classWeights: cw, sampleWeights: s, upstreamGradient: u,
                  loss: outputs.loss, hiddenGradient: outputs.hidden,
                  weightGradient: outputs.weight, biasGradient: outputs.bias,
                  logSumExp: outputs.logSumExp)
              }
            }
          }
        }
      }
    }
    expectHeadClose(outputs.result, reference, "bfloat16")
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      let hh = problem.hidden.map { Float16($0) }
      let ww = problem.weight.map { Float16($0) }
      let half = HeadBuffers<Float>(rows: 9, size: 5, classes: 21, lossCount: 9)
      defer { half.deallocate() }
      try hh.withUnsafeBufferPointer { h in
        try ww.withUnsafeBufferPointer { w in
          try problem.labels.withUnsafeBufferPointer { y in
            try classWeights.withUnsafeBufferPointer { cw in
              try samples.withUnsafeBufferPointer { s in
                try upstream.withUnsafeBufferPointer { u in
                  try criterion.lossAndGradient(
                    hidden: h, shape: [9, 5], weight: w, weightShape: [21, 5], labels: y,
                    classWeights: cw, sampleWeights: s, upstreamGradient: u, loss: half.loss,
                    hiddenGradient: half.hidden, weightGradient: half.weight,
                    biasGradient: half.bias, logSumExp: half.logSumExp)
                }
              }
            }
          }
        }
      }
      // The float16 run against the reference on its own (rounded) values.
      var halfProblem = problem
      halfProblem.hidden = hh.map { Double($0) }
      halfProblem.weight = ww.map { Double($0) }
      expectHeadClose(half.result, try halfProblem.reference(criterion), "float16")
    #endif
  }

  /// Wrong counts and shapes throw a message naming the value and what was expected, and
  /// nothing is written.
  @Test func errors() throws {
    let problem = HeadProblem.random(rows: 4, size: 3, classes: 5, bias: true, seed: 61)
    let criterion = LinearCrossEntropy(reduction: .none)
    let outputs = HeadBuffers<Float>(rows: 4, size: 3, classes: 5, lossCount: 4)
    defer { outputs.deallocate() }
    let h = problem.hidden.map { Float($0) }
    let w = problem.weight.map { Float($0) }
    func call(samples: [Float]?, upstream: [Float]?, normalizer: Double? = nil) throws {
      var criterion = criterion
      criterion.normalizer = normalizer
      try h.withUnsafeBufferPointer { h in
        try w.withUnsafeBufferPointer { w in
          try problem.labels.withUnsafeBufferPointer { y in
            try withOptionalBuffer(samples) { s in
              try withOptionalBuffer(upstream) { u in
                try criterion.lossAndGradient(
                  hidden: h, shape: [4, 3], weight: w, weightShape: [5, 3], labels: y,
                  sampleWeights: s, upstreamGradient: u, loss: outputs.loss,
                  hiddenGradient: outputs.hidden, weightGradient: outputs.weight,
                  biasGradient: outputs.bias, logSumExp: outputs.logSumExp)
              }
            }
          }
        }
      }
    }
    expectLossError(
      .shapeMismatch, "sample weights hold 3 elements but labels shape [4] needs 4, one per row"
    ) { try call(samples: [1, 1, 1], upstream: nil) }
    expectLossError(
      .shapeMismatch,
      "upstream gradient holds 1 element but the loss of reduction none holds 4"
    ) { try call(samples: nil, upstream: [1]) }
    expectLossError(
      .invalidOption, "normalizer nan is invalid; expected a finite value > 0"
    ) { try call(samples: [1, 1, 1, 1], upstream: nil, normalizer: .nan) }
    #expect(outputs.result.bits.allSatisfy { Double(bitPattern: $0).isNaN }, "nothing written")
    // The array forms: sample weights shaped like the labels, the upstream gradient like the
    // loss.
    let hidden = try ShapedArray(shape: [2, 2, 3], scalars: h)
    let weight = try ShapedArray(shape: [5, 3], scalars: w)
    let labels = try ShapedArray(shape: [2, 2], scalars: problem.labels)
    expectLossError(
      .shapeMismatch,
      "sample weights shape [4] does not match labels shape [2, 2]; expected one weight per row"
    ) {
      _ = try LinearCrossEntropy().loss(
        hidden: hidden, weight: weight, labels: labels,
        sampleWeights: ShapedArray(shape: [4], scalars: [1, 1, 1, 1]))
    }
    expectLossError(
      .shapeMismatch,
      "upstream gradient shape [2, 2] does not match the loss shape [] of reduction mean"
    ) {
      _ = try LinearCrossEntropy().lossAndGradient(
        hidden: hidden, weight: weight, labels: labels,
        upstreamGradient: ShapedArray(shape: [2, 2], scalars: [1, 1, 1, 1]))
    }
  }
}
