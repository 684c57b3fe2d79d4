import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Per-sample weights and upstream gradients of softmax cross-entropy: PyTorch's values
// (Fixtures/row_scales.json), the identities that tie them to the plain loss, the fused
// kernels against the reference, and the shape errors.
//
// Tolerances of the kernel comparisons: as the fp32 kernel suites (loss within 2e-5 relative
// + 1e-6, gradient within 4e-5 relative + 2e-5 of the largest magnitude) and the Double kernel
// suite (1e-12 relative + 1e-12 absolute).

/// The reference kernel in Double with per-sample weights and an upstream gradient, as the
/// dispatch gives it the problem.
private func reference(
  _ criterion: SoftmaxCrossEntropy, logits: [Double], shape: [Int], labels: [Int],
  classWeights: [Double]?, sampleWeights: [Double]?, upstream: [Double]?
) throws -> (loss: [Double], gradient: [Double]) {
  let layout = try ClassLayout(shape: shape, classAxis: criterion.classAxis)
  var loss = [Double](repeating: .nan, count: criterion.reduction == .none ? layout.rows : 1)
  var gradient = [Double](repeating: .nan, count: logits.count)
  logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { y in
      withOptionalBuffer(classWeights) { w in
        withOptionalBuffer(sampleWeights) { s in
          withOptionalBuffer(upstream) { u in
            loss.withUnsafeMutableBufferPointer { l in
              gradient.withUnsafeMutableBufferPointer { g in
                RowScales.with(sampleWeights: s, upstreamGradient: u, rows: layout.rows) {
                  rowScales in
                  let problem = SoftmaxProblem(
                    layout: layout, ignoreIndex: criterion.ignoreIndex,
                    labelSmoothing: criterion.labelSmoothing, reduction: criterion.reduction,
                    zLossScale: criterion.zLossScale, logitSoftCap: criterion.logitSoftCap,
                    denominators: criterion.normalizer.map(MeanDenominators.init(normalizer:)),
                    rowScales: rowScales
                  ).weighingRows(target: .labels(y), classWeights: w)
                  Reference.softmaxCrossEntropy(
                    logits: x.baseAddress!, target: .labels(y), classWeights: w,
                    problem: problem, loss: l, gradient: g.baseAddress)
                }
              }
            }
          }
        }
      }
    }
  }
  return (loss, gradient)
}

/// A classes-last problem with sample weights (and an upstream gradient), every third row
/// ignored, a NaN and a -inf logit in two rows.
private struct RowScaleProblem: CustomTestStringConvertible {
  var rows: Int
  var classes: Int
  var criterion: SoftmaxCrossEntropy
  var weighted: Bool
  var withSampleWeights = true
  var withUpstream: Bool

  var testDescription: String {
    "\(rows)x\(classes) \(criterion.reduction) smoothing \(criterion.labelSmoothing)"
      + " z \(criterion.zLossScale) cap \(criterion.logitSoftCap ?? 0)"
      + " normalizer \(criterion.normalizer ?? 0) weighted \(weighted)"
      + " samples \(withSampleWeights) upstream \(withUpstream)"
  }

  var shape: [Int] { [rows, classes] }
  var logits: [Float] {
    var x = randomFloats(rows * classes, seed: UInt64(classes + rows), spread: 4, shift: 1)
    if rows > 4, classes > 2 {
      x[2 * classes + 1] = .nan
      x[4 * classes + 2] = -.infinity
    }
    return x
  }
  var labels: [Int] {
    (0..<rows).map { r in r % 3 == 1 ? criterion.ignoreIndex : (r * 7 + 3) % classes }
  }
  var classWeights: [Float]? {
    weighted ? randomFloats(classes, seed: 5, spread: 0.5, shift: 1) : nil
  }
  var sampleWeights: [Float]? { withSampleWeights ? randomSampleWeights(rows, seed: 9) : nil }
  var upstream: [Float]? {
    guard withUpstream else { return nil }
    return criterion.reduction == .none ? randomUpstreamGradient(rows, seed: 13) : [-1.5]
  }

  /// The public fp32 buffer form.
  func fast(wantsGradient: Bool) throws -> (loss: [Float], gradient: [Float]?) {
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? rows : 1)
    var gradient = [Float](repeating: .nan, count: rows * classes)
    let x = logits
    try x.withUnsafeBufferPointer { x in
      try labels.withUnsafeBufferPointer { y in
        try withOptionalBuffer(classWeights) { w in
          try withOptionalBuffer(sampleWeights) { s in
            try withOptionalBuffer(upstream) { u in
              try loss.withUnsafeMutableBufferPointer { l in
                if wantsGradient {
                  try gradient.withUnsafeMutableBufferPointer { g in
                    try criterion.lossAndGradient(
                      logits: x, shape: shape, labels: y, classWeights: w, sampleWeights: s,
                      upstreamGradient: u, loss: l, gradient: g)
                  }
                } else {
                  try criterion.loss(
                    logits: x, shape: shape, labels: y, classWeights: w, sampleWeights: s,
                    into: l)
                }
              }
            }
          }
        }
      }
    }
    return (loss, wantsGradient ? gradient : nil)
  }

  func referenceResult() throws -> (loss: [Double], gradient: [Double]) {
    try reference(
      criterion, logits: logits.map(Double.init), shape: shape, labels: labels,
      classWeights: classWeights?.map(Double.init),
      sampleWeights: sampleWeights?.map(Double.init), upstream: upstream?.map(Double.init))
  }

  static var all: [RowScaleProblem] {
    var problems: [RowScaleProblem] = []
    var criteria: [SoftmaxCrossEntropy] = []
    for reduction in [Reduction.none, .mean, .sum] {
      criteria.append(SoftmaxCrossEntropy(reduction: reduction))
      criteria.append(SoftmaxCrossEntropy(reduction: reduction, labelSmoothing: 0.1))
      criteria.append(
        SoftmaxCrossEntropy(reduction: reduction, zLossScale: 1e-3, logitSoftCap: 20))
    }
    criteria.append(SoftmaxCrossEntropy(labelSmoothing: 0.2, normalizer: 7))
    for criterion in criteria {
      for (rows, classes) in [(9, 5), (7, 40), (2, 70_000)] {
        for weighted in [false, true] {
          problems.append(
            RowScaleProblem(
              rows: rows, classes: classes, criterion: criterion, weighted: weighted,
              withUpstream: weighted))
        }
      }
    }
    problems.append(
      RowScaleProblem(
        rows: 9, classes: 5, criterion: SoftmaxCrossEntropy(reduction: .none), weighted: true,
        withSampleWeights: false, withUpstream: true))
    return problems
  }
}

@Suite struct SoftmaxCrossEntropyRowScaleTests {
  // MARK: PyTorch

  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try RowScaleFixtures.check(["cross_entropy"], Scalar.self, minimumCases: 60) { c in
      let criterion = SoftmaxCrossEntropy(
        reduction: c.reduction, classAxis: c.classAxis,
        labelSmoothing: c.option("labelSmoothing") ?? 0)
      return try criterion.lossAndGradient(
        logits: c.input, labels: c.labels, classWeights: c.classWeights,
        sampleWeights: c.sampleWeights, upstreamGradient: c.upstreamGradient)
    }
    try RowScaleFixtures.check(["probabilities"], Scalar.self, minimumCases: 40) { c in
      let criterion = SoftmaxCrossEntropy(
        reduction: c.reduction, classAxis: c.classAxis,
        labelSmoothing: c.option("labelSmoothing") ?? 0)
      return try criterion.lossAndGradient(
        logits: c.input, targets: c.targets, classWeights: c.classWeights,
        sampleWeights: c.sampleWeights, upstreamGradient: c.upstreamGradient)
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  /// The in-place buffer forms (labels and targets) give the array forms' values.
  @Test func inPlaceFormsMatchPyTorch() throws {
    try RowScaleFixtures.check(["cross_entropy", "probabilities"], Float.self, minimumCases: 100) {
      c in
      let criterion = SoftmaxCrossEntropy(
        reduction: c.reduction, classAxis: c.classAxis,
        labelSmoothing: c.option("labelSmoothing") ?? 0)
      let isLabels = c.fixture.options["loss"]?.string == "cross_entropy"
      var rowShape = c.input.shape
      rowShape.remove(at: c.classAxis < 0 ? c.classAxis + rowShape.count : c.classAxis)
      var gradient = c.input.scalars
      var loss = [Float](repeating: .nan, count: c.reduction == .none ? rowShape.reduce(1, *) : 1)
      let labels = isLabels ? c.labels.scalars : []
      let targets = isLabels ? [] : c.targets.scalars
      try labels.withUnsafeBufferPointer { y in
        try targets.withUnsafeBufferPointer { t in
          try withOptionalBuffer(c.classWeights) { w in
            try withOptionalBuffer(c.sampleWeights?.scalars) { s in
              try withOptionalBuffer(c.upstreamGradient?.scalars) { u in
                try gradient.withUnsafeMutableBufferPointer { g in
                  try loss.withUnsafeMutableBufferPointer { l in
                    if isLabels {
                      try criterion.lossAndGradient(
                        overwriting: g, shape: c.input.shape, labels: y, classWeights: w,
                        sampleWeights: s, upstreamGradient: u, loss: l)
                    } else {
                      try criterion.lossAndGradient(
                        overwriting: g, shape: c.input.shape, targets: t, classWeights: w,
                        sampleWeights: s, upstreamGradient: u, loss: l)
                    }
                  }
                }
              }
            }
          }
        }
      }
      return (
        try ShapedArray(shape: c.reduction == .none ? rowShape : [], scalars: loss),
        try ShapedArray(shape: c.input.shape, scalars: gradient)
      )
    }
  }

  // MARK: Identities

  /// Sample weights of 1 and an upstream gradient of ones give the plain results bit for bit.
  @Test(arguments: [Reduction.none, .mean, .sum])
  func weightsOfOneChangeNothing(reduction: Reduction) throws {
    for smoothing in [0.0, 0.15] {
      for weighted in [false, true] {
        for classAxis in [-1, 1] {
          let criterion = SoftmaxCrossEntropy(
            reduction: reduction, classAxis: classAxis, labelSmoothing: smoothing,
            zLossScale: classAxis == -1 ? 1e-3 : 0)
          let shape = classAxis == -1 ? [9, 40] : [3, 40, 3]
          let labelShape = classAxis == -1 ? [9] : [3, 3]
          let logits = try ShapedArray(
            shape: shape, scalars: randomFloats(360, seed: 3, spread: 5))
          let labels = try ShapedArray(
            shape: labelShape, scalars: (0..<9).map { $0 % 4 == 1 ? -100 : ($0 * 11) % 40 })
          let weights = weighted ? randomFloats(40, seed: 4, spread: 0.5, shift: 1) : nil
          let ones = try ShapedArray(shape: labelShape, scalars: [Float](repeating: 1, count: 9))
          let upstream =
            reduction == .none ? ones : try ShapedArray(shape: [], scalars: [Float(1)])
          let what = "smoothing \(smoothing) weighted \(weighted) axis \(classAxis)"
          let plain = try criterion.lossAndGradient(
            logits: logits, labels: labels, classWeights: weights)
          let scaled = try criterion.lossAndGradient(
            logits: logits, labels: labels, classWeights: weights, sampleWeights: ones,
            upstreamGradient: upstream)
          let targets = try ShapedArray(
            shape: shape, scalars: randomFloats(360, seed: 6, spread: 0.5, shift: 0.5))
          let plainTargets = try criterion.lossAndGradient(
            logits: logits, targets: targets, classWeights: weights)
          let scaledTargets = try criterion.lossAndGradient(
            logits: logits, targets: targets, classWeights: weights, sampleWeights: ones,
            upstreamGradient: upstream)
          if classAxis == -1 {
            // The same fused kernels, with a factor of 1: the same bits.
            #expect(bitPatterns(scaled.loss.scalars) == bitPatterns(plain.loss.scalars), "\(what)")
            #expect(
              bitPatterns(scaled.gradient.scalars) == bitPatterns(plain.gradient.scalars),
              "\(what)")
            #expect(
              bitPatterns(scaledTargets.loss.scalars) == bitPatterns(plainTargets.loss.scalars),
              "targets \(what)")
            #expect(
              bitPatterns(scaledTargets.gradient.scalars)
                == bitPatterns(plainTargets.gradient.scalars), "targets \(what)")
          } else {
            // Row scales on the spatial layout take the reference (Double), the plain problem
            // the fused spatial kernel: equal to its tolerance.
            for (a, b) in [(scaled, plain), (scaledTargets, plainTargets)] {
              expectClose(
                loss: a.loss.scalars, gradient: a.gradient.scalars,
                reference: (b.loss.scalars.map(Double.init), b.gradient.scalars.map(Double.init)),
                lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
                gradientTolerance: Tolerance(relative: 4e-5, absolute: 2e-5), what)
            }
          }
        }
      }
    }
  }

  /// With `.none`, a row's upstream gradient scales its gradient row and nothing else, and the
  /// loss does not depend on it.
  @Test func upstreamGradientScalesEachRow() throws {
    let criterion = SoftmaxCrossEntropy(reduction: .none, labelSmoothing: 0.1)
    let logits = try ShapedArray(
      shape: [6, 7], scalars: randomFloats(42, seed: 8, spread: 3).map(Double.init))
    let labels = ShapedArray([0, -100, 6, 3, 2, 5])
    let g: [Double] = [0, 2, -1.5, 0.25, 1, -3]
    let plain = try criterion.lossAndGradient(logits: logits, labels: labels)
    let chained = try criterion.lossAndGradient(
      logits: logits, labels: labels, upstreamGradient: ShapedArray(g))
    #expect(chained.loss.scalars == plain.loss.scalars)
    for r in 0..<6 {
      for c in 0..<7 {
        let expected = g[r] * plain.gradient.scalars[r * 7 + c]
        #expect(abs(chained.gradient.scalars[r * 7 + c] - expected) <= 1e-15, "row \(r)")
      }
    }
  }

  /// A normaliser still sets the mean's denominator when there are sample weights.
  @Test func normalizerOverridesTheWeightedDenominator() throws {
    let logits = try ShapedArray(
      shape: [4, 3], scalars: randomFloats(12, seed: 2, spread: 2).map(Double.init))
    let labels = ShapedArray([0, 2, -100, 1])
    let s = ShapedArray<Double>([0.5, 2, 7, 1.5])
    let sum = try SoftmaxCrossEntropy(reduction: .sum).lossAndGradient(
      logits: logits, labels: labels, sampleWeights: s)
    let mean = try SoftmaxCrossEntropy(normalizer: 8).lossAndGradient(
      logits: logits, labels: labels, sampleWeights: s)
    #expect(abs(mean.loss.scalar! - sum.loss.scalar! / 8) <= 1e-15)
    for (a, b) in zip(mean.gradient.scalars, sum.gradient.scalars) {
      #expect(abs(a - b / 8) <= 1e-16)
    }
  }

  /// An ignored row reads neither its sample weight nor its upstream gradient (NaN there
  /// changes nothing); a NaN weight on a kept row makes that row and the mean NaN.
  @Test func ignoredRowsReadNoWeight() throws {
    let logits = try ShapedArray(
      shape: [3, 4], scalars: randomFloats(12, seed: 1, spread: 2).map(Double.init))
    let labels = ShapedArray([1, -100, 3])
    let criterion = SoftmaxCrossEntropy(reduction: .none)
    let nanOnIgnored = try criterion.lossAndGradient(
      logits: logits, labels: labels, sampleWeights: ShapedArray([1, .nan, 1]),
      upstreamGradient: ShapedArray([1, .nan, 1]))
    let plain = try criterion.lossAndGradient(logits: logits, labels: labels)
    #expect(nanOnIgnored.loss.scalars == plain.loss.scalars)
    #expect(nanOnIgnored.gradient.scalars == plain.gradient.scalars)
    let nanOnKept = try SoftmaxCrossEntropy().loss(
      logits: logits, labels: labels, sampleWeights: ShapedArray([1, 1, .nan]))
    #expect(nanOnKept.scalar!.isNaN)
  }

  // MARK: Kernels

  /// The fused fp32 path (1, 2, 3 and 7 threads; bit-identical among them) against the
  /// reference in Double.
  @Test(arguments: RowScaleProblem.all)
  fileprivate func fusedKernelMatchesReference(problem: RowScaleProblem) throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let expected = try problem.referenceResult()
    expectKernelMatchesReference(
      (expected.loss, expected.gradient), lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 4e-5, absolute: 2e-5),
      { "\(problem.testDescription) threads \($0)" }
    ) { threads, wantsGradient in
      Parallelism.maximumThreadCount = threads
      return try! problem.fast(wantsGradient: wantsGradient)
    }
  }

  /// The fused Double path (and the reference it falls back to for weighted smoothing) against
  /// the reference, with 1, 2, 3 and 7 threads bit-identical.
  @Test func doubleKernelMatchesReference() throws {
    defer { Parallelism.maximumThreadCount = 0 }
    for problem in RowScaleProblem.all where problem.criterion.logitSoftCap == nil {
      let x = problem.logits.enumerated().map { Double($1) + Double($0 % 7) * 1e-9 }
      let w = problem.classWeights?.map { Double($0) + 1e-10 }
      let s = problem.sampleWeights?.map(Double.init)
      let u = problem.upstream?.map(Double.init)
      let expected = try reference(
        problem.criterion, logits: x, shape: problem.shape, labels: problem.labels,
        classWeights: w, sampleWeights: s, upstream: u)
      var first: (loss: [Double], gradient: [Double])? = nil
      for threads in kernelThreadCounts {
        Parallelism.maximumThreadCount = threads
        let result = try problem.criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: x),
          labels: ShapedArray(shape: [problem.rows], scalars: problem.labels), classWeights: w,
          sampleWeights: s.map { try ShapedArray(shape: [problem.rows], scalars: $0) },
          upstreamGradient: u.map {
            try ShapedArray(
              shape: problem.criterion.reduction == .none ? [problem.rows] : [], scalars: $0)
          })
        expectClose(
          loss: result.loss.scalars, gradient: result.gradient.scalars,
          reference: (expected.loss, expected.gradient),
          lossTolerance: Tolerance(relative: 1e-12, absolute: 1e-12),
          gradientTolerance: Tolerance(relative: 1e-12, absolute: 1e-12),
          "Double \(problem.testDescription) threads \(threads)")
        if let first {
          #expect(first.loss.map(\.bitPattern) == result.loss.scalars.map(\.bitPattern))
          #expect(first.gradient.map(\.bitPattern) == result.gradient.scalars.map(\.bitPattern))
        } else {
          first = (result.loss.scalars, result.gradient.scalars)
        }
      }
    }
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// Float16 logits (the fused kernel's half-precision storage) against the reference on the
    /// same values: loss within 1e-3 relative + 1e-3, gradient within 2e-3 relative + 2e-3 of the
    /// largest magnitude (the gradient is stored in Float16).
    @Test func float16MatchesReference() throws {
      for problem in RowScaleProblem.all where problem.classes <= 40 {
        let x = problem.logits.map { Float16($0) }
        let w = problem.classWeights?.map { Float16($0) }
        let s = problem.sampleWeights?.map { Float16($0) }
        let u = problem.upstream?.map { Float16($0) }
        let rowShape = problem.criterion.reduction == .none ? [problem.rows] : []
        let result = try problem.criterion.lossAndGradient(
          logits: ShapedArray(shape: problem.shape, scalars: x),
          labels: ShapedArray(shape: [problem.rows], scalars: problem.labels), classWeights: w,
          sampleWeights: s.map { try ShapedArray(shape: [problem.rows], scalars: $0) },
          upstreamGradient: u.map { try ShapedArray(shape: rowShape, scalars: $0) })
        let expected = try reference(
          problem.criterion, logits: x.map(Double.init), shape: problem.shape,
          labels: problem.labels, classWeights: w?.map(Double.init),
          sampleWeights: s?.map(Double.init), upstream: u?.map(Double.init))
        expectClose(
          loss: result.loss.scalars, gradient: result.gradient.scalars,
          reference: (expected.loss, expected.gradient),
          lossTolerance: Tolerance(relative: 1e-3, absolute: 1e-3),
          gradientTolerance: Tolerance(relative: 2e-3, absolute: 2e-3),
          "Float16 \(problem.testDescription)")
      }
    }
  #endif

  // MARK: Errors

  @Test func wrongShapesAreReported() throws {
    let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    let labels = ShapedArray([0, 2])
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy().loss(
          logits: logits, labels: labels, sampleWeights: ShapedArray<Float>([1, 2, 3]))
      }
        == "sample weights shape [3] does not match labels shape [2]; expected one weight per row"
    )
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy().loss(
          logits: logits, targets: logits, sampleWeights: ShapedArray<Float>([1]))
      }
        == "sample weights shape [1] does not match logits rows shape [2];"
        + " expected one weight per row")
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy().lossAndGradient(
          logits: logits, labels: labels, upstreamGradient: ShapedArray<Float>([1, 2]))
      } == "upstream gradient shape [2] does not match the loss shape [] of reduction mean")
    #expect(
      lossErrorMessage {
        _ = try SoftmaxCrossEntropy(reduction: .none).lossAndGradient(
          logits: logits, labels: labels,
          upstreamGradient: try ShapedArray<Float>(shape: [], scalars: [1]))
      } == "upstream gradient shape [] does not match the loss shape [2] of reduction none")
  }

  /// The buffer forms check the counts and write nothing (the logits stay whole in place).
  @Test func wrongCountsAreReportedAndNothingIsWritten() throws {
    var logits: [Float] = [0, 1, 2, 3, 4, 5]
    var loss: [Float] = [.nan]
    let labels = [0, 2]
    let three: [Float] = [1, 2, 3]
    let message = lossErrorMessage {
      try labels.withUnsafeBufferPointer { y in
        try three.withUnsafeBufferPointer { s in
          try logits.withUnsafeMutableBufferPointer { x in
            try loss.withUnsafeMutableBufferPointer { l in
              try SoftmaxCrossEntropy().lossAndGradient(
                overwriting: x, shape: [2, 3], labels: y, sampleWeights: s, loss: l)
            }
          }
        }
      }
    }
    #expect(message == "sample weights hold 3 elements but labels shape [2] needs 2, one per row")
    let upstreamMessage = lossErrorMessage {
      try labels.withUnsafeBufferPointer { y in
        try three.withUnsafeBufferPointer { u in
          try logits.withUnsafeMutableBufferPointer { x in
            try loss.withUnsafeMutableBufferPointer { l in
              try SoftmaxCrossEntropy().lossAndGradient(
                overwriting: x, shape: [2, 3], labels: y, upstreamGradient: u, loss: l)
            }
          }
        }
      }
    }
    #expect(
      upstreamMessage == "upstream gradient holds 3 elements but the loss of reduction mean holds 1"
    )
    #expect(logits == [0, 1, 2, 3, 4, 5])
    #expect(loss[0].isNaN)
  }
}
