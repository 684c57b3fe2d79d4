import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights and upstream gradients of the softmax focal loss: PyTorch's values
// (Fixtures/row_scales.json), weights of 1 and an upstream gradient of ones change nothing,
// the fused fp32 kernel against the reference (tolerances of SoftmaxFocalLossKernelTests), and
// the shape errors.
@Suite struct SoftmaxFocalLossRowScaleTests {
  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try RowScaleFixtures.check(["softmax_focal"], Scalar.self, minimumCases: 18) { c in
      try SoftmaxFocalLoss(reduction: c.reduction, gamma: c.option("gamma")!).lossAndGradient(
        logits: c.input, labels: c.labels, classWeights: c.classWeights,
        sampleWeights: c.sampleWeights, upstreamGradient: c.upstreamGradient)
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test(arguments: [Reduction.none, .mean, .sum])
  func weightsOfOneChangeNothing(reduction: Reduction) throws {
    let logits = try ShapedArray(shape: [5, 4], scalars: randomFloats(20, seed: 3, spread: 3))
    let labels = ShapedArray([0, -100, 3, 2, 1])
    let ones = ShapedArray<Float>([1, 1, 1, 1, 1])
    let upstream = reduction == .none ? ones : try ShapedArray(shape: [], scalars: [Float(1)])
    let criterion = SoftmaxFocalLoss(reduction: reduction, gamma: 1.5)
    let plain = try criterion.lossAndGradient(
      logits: logits, labels: labels, classWeights: [0.5, 1, 2, 1])
    let scaled = try criterion.lossAndGradient(
      logits: logits, labels: labels, classWeights: [0.5, 1, 2, 1], sampleWeights: ones,
      upstreamGradient: upstream)
    #expect(bitPatterns(scaled.loss.scalars) == bitPatterns(plain.loss.scalars))
    #expect(bitPatterns(scaled.gradient.scalars) == bitPatterns(plain.gradient.scalars))
  }

  /// The fused fp32 kernel with sample weights and an upstream gradient, 1, 2, 3 and 7
  /// threads (bit-identical), against the reference in Double.
  @Test(arguments: [Reduction.none, .mean, .sum])
  func fusedKernelMatchesReference(reduction: Reduction) throws {
    for (rows, classes) in [(9, 6), (2, 70_000)] {
      let logits = randomFloats(rows * classes, seed: UInt64(classes), spread: 4, shift: 2)
      let labels = (0..<rows).map { $0 % 3 == 1 ? -100 : ($0 * 5) % classes }
      let s = randomSampleWeights(rows, seed: 4)
      let u = reduction == .none ? randomUpstreamGradient(rows, seed: 5) : [Float(-1.5)]
      let criterion = SoftmaxFocalLoss(reduction: reduction, gamma: 2)
      let reference = try criterion.lossAndGradient(
        logits: ShapedArray(shape: [rows, classes], scalars: logits.map(Double.init)),
        labels: ShapedArray(shape: [rows], scalars: labels),
        sampleWeights: ShapedArray(shape: [rows], scalars: s.map(Double.init)),
        upstreamGradient: ShapedArray(
          shape: reduction == .none ? [rows] : [], scalars: u.map(Double.init)))
      expectKernelMatchesReference(
        (reference.loss.scalars, reference.gradient.scalars),
        lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
        gradientTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
        { "\(rows)x\(classes) \(reduction) threads \($0)" }
      ) { threads, wantsGradient in
        var loss = [Float](repeating: .nan, count: reduction == .none ? rows : 1)
        var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: logits.count) : nil
        logits.withUnsafeBufferPointer { x in
          labels.withUnsafeBufferPointer { y in
            s.withUnsafeBufferPointer { sw in
              u.withUnsafeBufferPointer { uw in
                loss.withUnsafeMutableBufferPointer { l in
                  RowScales.with(
                    sampleWeights: sw, upstreamGradient: wantsGradient ? uw : nil, rows: rows
                  ) { rowScales in
                    func run(_ g: UnsafeMutablePointer<Float>?) {
                      FusedSoftmaxFocal.run(
                        logits: x.baseAddress!, labels: y, alpha: nil, classes: classes,
                        ignoreIndex: -100, gamma: 2, reduction: reduction,
                        loss: l.baseAddress!, gradient: g, rowScales: rowScales,
                        threads: threads)
                    }
                    if gradient != nil {
                      gradient!.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
                    } else {
                      run(nil)
                    }
                  }
                }
              }
            }
          }
        }
        return (loss, gradient)
      }
    }
  }

  @Test func wrongCountsAreReported() throws {
    let logits: [Float] = [0, 1, 2, 3, 4, 5]
    var loss: [Float] = [0]
    let message = lossErrorMessage {
      try logits.withUnsafeBufferPointer { x in
        try [0, 1].withUnsafeBufferPointer { y in
          try [Float(1)].withUnsafeBufferPointer { s in
            try loss.withUnsafeMutableBufferPointer { l in
              try SoftmaxFocalLoss().loss(
                logits: x, shape: [2, 3], labels: y, sampleWeights: s, into: l)
            }
          }
        }
      }
    }
    #expect(message == "sample weights hold 1 element but labels shape [2] needs 2, one per row")
  }
}
