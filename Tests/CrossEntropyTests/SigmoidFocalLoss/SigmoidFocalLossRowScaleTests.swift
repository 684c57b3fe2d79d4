import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights (one per leading row) and upstream gradients of the sigmoid focal loss:
// PyTorch's values (Fixtures/row_scales.json, torchvision's formula written out), the fused
// fp32 kernel against the Double reference at 1, 2, 3 and 7 threads, weights of 1 against the
// plain call, and the errors. Kernel tolerances as SigmoidFocalLossKernelTests.

/// A problem of `rows` leading rows of `rowLength` elements, a NaN and an infinite logit among
/// them, with sample weights and an upstream gradient.
private struct WeightedFocalCase {
  var rows: Int
  var rowLength: Int
  var criterion: SigmoidFocalLoss
  var logits: [Float]
  var targets: [Float]
  var sampleWeights: [Float]
  var upstream: [Float]

  init(rows: Int, rowLength: Int, criterion: SigmoidFocalLoss, seed: UInt64) {
    self.rows = rows
    self.rowLength = rowLength
    self.criterion = criterion
    let count = rows * rowLength
    logits = randomFloats(count, seed: seed, spread: 12)
    if count > 40 {
      logits[7] = .nan
      logits[33] = .infinity
    }
    targets = randomFloats(count, seed: seed + 1, spread: 0.5, shift: 0.5)
    sampleWeights = randomSampleWeights(rows, seed: seed + 2)
    upstream = randomUpstreamGradient(criterion.reduction == .none ? count : 1, seed: seed + 3)
  }

  var shape: [Int] { [rows, rowLength] }

  func fast(threads: Int, wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?) {
    let count = logits.count
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? count : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: count) : nil
    logits.withUnsafeBufferPointer { x in
      targets.withUnsafeBufferPointer { y in
        sampleWeights.withUnsafeBufferPointer { s in
          upstream.withUnsafeBufferPointer { u in
            ElementScales.with(
              sampleWeights: s, upstreamGradient: wantsGradient ? u : nil, count: count,
              rows: rows
            ) { scales in
              loss.withUnsafeMutableBufferPointer { l in
                func run(_ g: UnsafeMutablePointer<Float>?) {
                  FusedSigmoidFocal.run(
                    logits: x.baseAddress!, targets: y.baseAddress!, count: count,
                    alpha: criterion.alpha, gamma: criterion.gamma,
                    reduction: criterion.reduction, loss: l.baseAddress!, gradient: g,
                    scales: scales, threads: threads)
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

  /// The public API in Double, which takes the reference.
  func reference() throws -> (loss: [Double], gradient: [Double]?) {
    let result = try criterion.lossAndGradient(
      logits: ShapedArray(shape: shape, scalars: logits.map(Double.init)),
      targets: ShapedArray(shape: shape, scalars: targets.map(Double.init)),
      sampleWeights: ShapedArray(shape: [rows], scalars: sampleWeights.map(Double.init)),
      upstreamGradient: ShapedArray(
        shape: criterion.reduction == .none ? shape : [], scalars: upstream.map(Double.init)))
    return (result.loss.scalars, result.gradient.scalars)
  }
}

@Suite struct SigmoidFocalLossRowScaleTests {
  @Test func matchesPyTorch() throws {
    try check(Float.self)
    try check(Double.self)
  }

  private func check<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try RowScaleFixtures.check(["sigmoid_focal"], Scalar.self, minimumCases: 30) { c in
      let criterion = SigmoidFocalLoss(
        reduction: c.reduction, alpha: c.option("alpha")!, gamma: c.option("gamma")!)
      let forward = try criterion.loss(
        logits: c.input, targets: c.targets, sampleWeights: c.sampleWeights)
      let result = try criterion.lossAndGradient(
        logits: c.input, targets: c.targets, sampleWeights: c.sampleWeights,
        upstreamGradient: c.upstreamGradient)
      #expect(
        forward.scalars.map { Double($0).bitPattern }
          == result.loss.scalars.map { Double($0).bitPattern }, "\(c.fixture.name) forward")
      return result
    }
  }

  /// The fused kernel against the reference, several blocks, every thread count.
  @Test(arguments: [Reduction.mean, .sum, .none])
  func fusedMatchesTheReference(reduction: Reduction) throws {
    for (gamma, alpha) in [(2.0, 0.25), (0, -1), (1.5, 0.75)] {
      let criterion = SigmoidFocalLoss(reduction: reduction, alpha: alpha, gamma: gamma)
      for (rows, rowLength) in [(3, 7), (300, 17), (1, 5000)] {
        let problem = WeightedFocalCase(
          rows: rows, rowLength: rowLength, criterion: criterion, seed: UInt64(rows * rowLength))
        expectKernelMatchesReference(
          try problem.reference(), lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
          gradientTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
          { threads in
            "\(rows)x\(rowLength) gamma \(gamma) alpha \(alpha) \(reduction) threads \(threads)"
          }, run: problem.fast)
      }
    }
  }

  /// Sample weights of 1 and an upstream gradient of ones give the plain call's bits, on the
  /// fused kernel (Float) and the reference (Double).
  @Test(arguments: [Reduction.mean, .sum, .none])
  func onesAreThePlainCall(reduction: Reduction) throws {
    let criterion = SigmoidFocalLoss(reduction: reduction)
    let shape = [70, 40]
    let x = randomFloats(2800, seed: 3, spread: 8)
    let y = randomFloats(2800, seed: 4, spread: 0.5, shift: 0.5)
    func bits<Scalar: BinaryFloatingPoint>(_: Scalar.Type, ones: Bool) throws -> [UInt64] {
      let logits = try ShapedArray(shape: shape, scalars: x.map { Scalar($0) })
      let targets = try ShapedArray(shape: shape, scalars: y.map { Scalar($0) })
      let upstreamShape = reduction == .none ? shape : []
      let result = try criterion.lossAndGradient(
        logits: logits, targets: targets,
        sampleWeights: ones
          ? ShapedArray(shape: [70], scalars: Array(repeating: 1, count: 70)) : nil,
        upstreamGradient: ones
          ? ShapedArray(
            shape: upstreamShape,
            scalars: Array(repeating: 1, count: upstreamShape.reduce(1, *))) : nil)
      return (result.loss.scalars + result.gradient.scalars).map { Double($0).bitPattern }
    }
    #expect(try bits(Float.self, ones: true) == bits(Float.self, ones: false))
    #expect(try bits(Double.self, ones: true) == bits(Double.self, ones: false))
  }

  /// Wrong counts and shapes throw a message naming the value and what was expected, and
  /// nothing is written.
  @Test func errors() throws {
    let criterion = SigmoidFocalLoss(reduction: .none)
    let x: [Float] = [1, -2, 0.5, 3, 0, -1]
    let y: [Float] = [1, 0, 1, 0, 0, 1]
    var loss = [Float](repeating: .nan, count: 6)
    var gradient = [Float](repeating: .nan, count: 6)
    func call(samples: [Float]?, upstream: [Float]?) throws {
      try x.withUnsafeBufferPointer { x in
        try y.withUnsafeBufferPointer { y in
          try withOptionalBuffer(samples) { s in
            try withOptionalBuffer(upstream) { u in
              try loss.withUnsafeMutableBufferPointer { l in
                try gradient.withUnsafeMutableBufferPointer { g in
                  try criterion.lossAndGradient(
                    logits: x, shape: [2, 3], targets: y, sampleWeights: s, upstreamGradient: u,
                    loss: l, gradient: g)
                }
              }
            }
          }
        }
      }
    }
    expectLossError(
      .shapeMismatch,
      "sample weights hold 3 elements but logits rows shape [2] needs 2, one per row"
    ) { try call(samples: [1, 1, 1], upstream: nil) }
    expectLossError(
      .shapeMismatch,
      "upstream gradient holds 2 elements but the loss of reduction none holds 6"
    ) { try call(samples: [1, 1], upstream: [1, 1]) }
    #expect(loss.allSatisfy(\.isNaN) && gradient.allSatisfy(\.isNaN), "nothing written")
    let logits = try ShapedArray(shape: [2, 3], scalars: x)
    let targets = try ShapedArray(shape: [2, 3], scalars: y)
    expectLossError(
      .shapeMismatch,
      "sample weights shape [2, 3] does not match logits rows shape [2]; expected one weight"
        + " per row"
    ) {
      _ = try SigmoidFocalLoss().loss(logits: logits, targets: targets, sampleWeights: logits)
    }
    expectLossError(
      .shapeMismatch,
      "upstream gradient shape [2] does not match the loss shape [] of reduction sum"
    ) {
      _ = try SigmoidFocalLoss(reduction: .sum).lossAndGradient(
        logits: logits, targets: targets,
        upstreamGradient: ShapedArray(shape: [2], scalars: [1, 1]))
    }
  }
}
