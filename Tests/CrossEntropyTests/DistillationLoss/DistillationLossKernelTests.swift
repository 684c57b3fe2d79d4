import Testing

@testable import CrossEntropy

// The fused fp32 kernels of the wider family (distillation, sigmoid and softmax focal) against
// the reference kernels evaluated in Double on the same values (the public API with Double
// inputs takes the reference). Each kernel is also run directly with 1, 2, 3 and 7 threads.
//
// Tolerances (fp32 fast path vs Double reference):
// - softmax focal, sigmoid focal: loss within 2e-5 relative + 1e-6 absolute (per element for
//   .none); gradient within 2e-5 relative + 1e-6 of the largest gradient magnitude.
// - distillation: loss within 5e-5 relative + 2e-6 * T^2 absolute (KL cancels between the
//   cross term and the log-normalisers); gradient within 2e-5 relative + 2e-6 of the largest
//   gradient magnitude (q - p cancels).
// NaN must match NaN and infinities exactly.

private let threadCounts = [1, 2, 3, 7]

/// Uniform floats in -spread...spread (offset by `shift`), from a seeded generator.
private func randomFloats(_ count: Int, seed: UInt64, spread: Float, shift: Float = 0) -> [Float] {
  var generator = SplitMix(state: seed)
  return (0..<count).map { _ in Float.random(in: -spread...spread, using: &generator) + shift }
}

/// Checks fast loss and gradient against the reference's, recording at most 3 failures each.
private func expectClose(
  loss: [Float], gradient: [Float]?, reference: (loss: [Double], gradient: [Double]?),
  lossTolerance: (relative: Double, absolute: Double), gradientTolerance: (Double, Double),
  _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  var failures = 0
  for i in loss.indices
  where !agrees(
    Double(loss[i]), reference.loss[i], relative: lossTolerance.relative,
    absolute: lossTolerance.absolute)
  {
    failures += 1
    if failures <= 3 {
      Issue.record(
        "\(what): loss[\(i)] \(loss[i]) vs \(reference.loss[i])", sourceLocation: sourceLocation)
    }
  }
  guard let gradient, let expected = reference.gradient else { return }
  let largest = expected.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
  failures = 0
  for i in gradient.indices
  where !agrees(
    Double(gradient[i]), expected[i], relative: gradientTolerance.0,
    absolute: gradientTolerance.1 * largest)
  {
    failures += 1
    if failures <= 3 {
      Issue.record(
        "\(what): gradient[\(i)] \(gradient[i]) vs \(expected[i])", sourceLocation: sourceLocation)
    }
  }
}

/// The bit patterns of a result, for bit-identity across thread counts.
private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

// MARK: - Softmax focal

private struct SoftmaxFocalCase {
  var rows: Int
  var classes: Int
  var logits: [Float]
  var labels: [Int]
  var alpha: [Double]?
  var criterion: SoftmaxFocalLoss

  init(
    rows: Int, classes: Int, seed: UInt64, gamma: Double, weighted: Bool, reduction: Reduction,
    ignoredEvery: Int = 3
  ) {
    var generator = SplitMix(state: seed &+ 77)
    self.rows = rows
    self.classes = classes
    criterion = SoftmaxFocalLoss(reduction: reduction, gamma: gamma)
    logits = randomFloats(rows * classes, seed: seed, spread: 4, shift: 2)
    let ignore = criterion.ignoreIndex
    labels = (0..<rows).map { r in
      r % ignoredEvery == 1 ? ignore : Int.random(in: 0..<classes, using: &generator)
    }
    // fp32 values, so that the public API (fp32 alpha) and the kernel (Double) agree exactly.
    alpha =
      weighted
      ? (0..<classes).map { _ in Double(Float.random(in: 0.1...2, using: &generator)) } : nil
  }

  /// The fused kernel, called directly.
  func fast(threads: Int, wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?) {
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? rows : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: logits.count) : nil
    logits.withUnsafeBufferPointer { x in
      labels.withUnsafeBufferPointer { l in
        (alpha ?? []).withUnsafeBufferPointer { a in
          loss.withUnsafeMutableBufferPointer { lb in
            func run(_ g: UnsafeMutablePointer<Float>?) {
              FusedSoftmaxFocal.run(
                logits: x.baseAddress!, labels: l, alpha: alpha == nil ? nil : a,
                classes: classes, ignoreIndex: criterion.ignoreIndex, gamma: criterion.gamma,
                reduction: criterion.reduction, loss: lb.baseAddress!, gradient: g,
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
    return (loss, gradient)
  }

  func reference() throws -> (loss: [Double], gradient: [Double]?) {
    let result = try criterion.lossAndGradient(
      logits: ShapedArray<Double>(shape: [rows, classes], scalars: logits.map(Double.init)),
      labels: ShapedArray<Int>(shape: [rows], scalars: labels), classWeights: alpha)
    return (result.loss.scalars, result.gradient.scalars)
  }

  func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try reference()
    var first: (loss: [Float], gradient: [Float]?)? = nil
    for threads in threadCounts {
      for wantsGradient in [false, true] {
        let result = fast(threads: threads, wantsGradient: wantsGradient)
        expectClose(
          loss: result.loss, gradient: result.gradient, reference: expected,
          lossTolerance: (2e-5, 1e-6), gradientTolerance: (2e-5, 1e-6),
          "softmax focal \(rows)x\(classes) gamma \(criterion.gamma) alpha \(alpha != nil)"
            + " \(criterion.reduction) threads \(threads)", sourceLocation: sourceLocation)
        if wantsGradient {
          if let first {
            #expect(bits(result.loss) == bits(first.loss), sourceLocation: sourceLocation)
            #expect(bits(result.gradient!) == bits(first.gradient!), sourceLocation: sourceLocation)
          } else {
            first = result
          }
        }
      }
    }
  }
}

@Suite struct SoftmaxFocalKernelTests {
  @Test(arguments: [1, 2, 17, 1000])
  func matchesReference(classes: Int) throws {
    var seed: UInt64 = UInt64(classes) * 1000
    for gamma in [0.0, 1, 2, 2.5] {
      for weighted in [false, true] {
        for reduction in [Reduction.none, .mean, .sum] {
          seed += 1
          try SoftmaxFocalCase(
            rows: 7, classes: classes, seed: seed, gamma: gamma, weighted: weighted,
            reduction: reduction
          ).check()
        }
      }
    }
  }

  @Test func largeRowsTakeTheOnlinePathAndMatchReference() throws {
    // 70000 classes: past the cached-row limit, so the online softmax path.
    try SoftmaxFocalCase(
      rows: 3, classes: 70000, seed: 5, gamma: 2, weighted: true, reduction: .none,
      ignoredEvery: 7
    ).check()
  }

  @Test func manyRowsSplitOverThreadsMatchReference() throws {
    try SoftmaxFocalCase(
      rows: 300, classes: 700, seed: 9, gamma: 2, weighted: false, reduction: .mean
    ).check()
  }

  @Test func nonFiniteRowsMatchReference() throws {
    for classes in [1, 17, 70000] {
      var problem = SoftmaxFocalCase(
        rows: 6, classes: classes, seed: 11, gamma: 2, weighted: false, reduction: .none,
        ignoredEvery: 100)
      problem.logits[0 * classes + classes / 2] = .infinity
      problem.logits[1 * classes + classes / 3] = .nan
      for c in 0..<classes { problem.logits[2 * classes + c] = -.infinity }
      problem.logits[3 * classes + (classes - 1) / 2] = -.infinity
      for c in 0..<classes { problem.logits[4 * classes + c] = c % 2 == 0 ? .nan : -.infinity }
      try problem.check()
    }
  }

  @Test func floatTakesTheFastPathThroughThePublicAPI() throws {
    let problem = SoftmaxFocalCase(
      rows: 40, classes: 33, seed: 21, gamma: 2, weighted: true, reduction: .mean)
    let result = try problem.criterion.lossAndGradient(
      logits: ShapedArray<Float>(shape: [40, 33], scalars: problem.logits),
      labels: ShapedArray<Int>(shape: [40], scalars: problem.labels),
      classWeights: problem.alpha?.map { Float($0) })
    let direct = problem.fast(threads: 1, wantsGradient: true)
    #expect(bits(result.loss.scalars) == bits(direct.loss))
    #expect(bits(result.gradient.scalars) == bits(direct.gradient!))
  }
}

// MARK: - Sigmoid focal

private struct SigmoidFocalCase {
  var logits: [Float]
  var targets: [Float]
  var criterion: SigmoidFocalLoss

  init(count: Int, seed: UInt64, alpha: Double, gamma: Double, reduction: Reduction, soft: Bool) {
    var generator = SplitMix(state: seed &+ 5)
    logits = randomFloats(count, seed: seed, spread: 12)
    targets = (0..<count).map { _ in
      soft
        ? Float.random(in: 0...1, using: &generator)
        : (Bool.random(using: &generator) ? 1 : 0)
    }
    criterion = SigmoidFocalLoss(reduction: reduction, alpha: alpha, gamma: gamma)
  }

  func fast(threads: Int, wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?) {
    let count = logits.count
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? count : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: count) : nil
    logits.withUnsafeBufferPointer { x in
      targets.withUnsafeBufferPointer { y in
        loss.withUnsafeMutableBufferPointer { lb in
          func run(_ g: UnsafeMutablePointer<Float>?) {
            FusedSigmoidFocal.run(
              logits: x.baseAddress!, targets: y.baseAddress!, count: count,
              alpha: criterion.alpha, gamma: criterion.gamma, reduction: criterion.reduction,
              loss: lb.baseAddress!, gradient: g, threads: threads)
          }
          if gradient != nil {
            gradient!.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
          } else {
            run(nil)
          }
        }
      }
    }
    return (loss, gradient)
  }

  func reference() throws -> (loss: [Double], gradient: [Double]?) {
    let shape = [logits.count]
    let result = try criterion.lossAndGradient(
      logits: ShapedArray<Double>(shape: shape, scalars: logits.map(Double.init)),
      targets: ShapedArray<Double>(shape: shape, scalars: targets.map(Double.init)))
    return (result.loss.scalars, result.gradient.scalars)
  }

  func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try reference()
    var first: (loss: [Float], gradient: [Float]?)? = nil
    for threads in threadCounts {
      for wantsGradient in [false, true] {
        let result = fast(threads: threads, wantsGradient: wantsGradient)
        expectClose(
          loss: result.loss, gradient: result.gradient, reference: expected,
          lossTolerance: (2e-5, 1e-6), gradientTolerance: (2e-5, 1e-6),
          "sigmoid focal n \(logits.count) alpha \(criterion.alpha) gamma \(criterion.gamma)"
            + " \(criterion.reduction) threads \(threads)", sourceLocation: sourceLocation)
        if wantsGradient {
          if let first {
            #expect(bits(result.loss) == bits(first.loss), sourceLocation: sourceLocation)
            #expect(bits(result.gradient!) == bits(first.gradient!), sourceLocation: sourceLocation)
          } else {
            first = result
          }
        }
      }
    }
  }
}

@Suite struct SigmoidFocalKernelTests {
  @Test(arguments: [1, 2, 17, 1000, 5000])
  func matchesReference(count: Int) throws {
    var seed = UInt64(count) * 100
    for gamma in [0.0, 1, 2, 3, 4, 1.5, 2.5, 7.3] {
      for alpha in [0.25, -1, 0.9] {
        for reduction in [Reduction.none, .mean, .sum] {
          for soft in [false, true] {
            seed += 1
            try SigmoidFocalCase(
              count: count, seed: seed, alpha: alpha, gamma: gamma, reduction: reduction,
              soft: soft
            ).check()
          }
        }
      }
    }
  }

  @Test func manyBlocksSplitOverThreadsMatchReference() throws {
    try SigmoidFocalCase(
      count: 200_003, seed: 3, alpha: 0.25, gamma: 2, reduction: .mean, soft: false
    ).check()
  }

  @Test(arguments: [2.0, 2.5])
  func nonFiniteElementsMatchReference(gamma: Double) throws {
    var problem = SigmoidFocalCase(
      count: 40, seed: 8, alpha: 0.25, gamma: gamma, reduction: .none, soft: false)
    let specials: [(Float, Float)] = [
      (.infinity, 1), (.infinity, 0), (-.infinity, 1), (-.infinity, 0), (.nan, 1), (1, .nan),
      (2, .infinity), (.infinity, 0.5), (0, 0), (-0.0, 1), (100, 1), (-100, 0), (100, 0),
      (-100, 1),
    ]
    for (k, (x, y)) in specials.enumerated() {
      problem.logits[2 * k + 1] = x
      problem.targets[2 * k + 1] = y
    }
    for reduction in [Reduction.none, .sum] {
      problem.criterion.reduction = reduction
      try problem.check()
    }
  }

  @Test func unsupportedGammaTakesTheReference() throws {
    #expect(FusedSigmoidFocal.supports(gamma: 2))
    #expect(FusedSigmoidFocal.supports(gamma: 1.5))
    #expect(!FusedSigmoidFocal.supports(gamma: 0.5))
    #expect(!FusedSigmoidFocal.supports(gamma: 17))
    // Through the public API, a gamma below 1 in fp32 still matches the reference.
    let problem = SigmoidFocalCase(
      count: 100, seed: 4, alpha: 0.25, gamma: 0.5, reduction: .none, soft: true)
    let result = try problem.criterion.lossAndGradient(
      logits: ShapedArray<Float>(shape: [100], scalars: problem.logits),
      targets: ShapedArray<Float>(shape: [100], scalars: problem.targets))
    let expected = try problem.reference()
    expectClose(
      loss: result.loss.scalars, gradient: result.gradient.scalars, reference: expected,
      lossTolerance: (1e-6, 1e-7), gradientTolerance: (1e-6, 1e-7), "gamma 0.5")
  }

  @Test func floatTakesTheFastPathThroughThePublicAPI() throws {
    let problem = SigmoidFocalCase(
      count: 999, seed: 6, alpha: 0.25, gamma: 2, reduction: .mean, soft: false)
    let result = try problem.criterion.lossAndGradient(
      logits: ShapedArray<Float>(shape: [27, 37], scalars: problem.logits),
      targets: ShapedArray<Float>(shape: [27, 37], scalars: problem.targets))
    let direct = problem.fast(threads: 1, wantsGradient: true)
    #expect(bits(result.loss.scalars) == bits(direct.loss))
    #expect(bits(result.gradient.scalars) == bits(direct.gradient!))
    #expect(result.gradient.shape == [27, 37])
  }
}

// MARK: - Distillation

private struct DistillationCase {
  var rows: Int
  var classes: Int
  var student: [Float]
  var teacher: [Float]
  var labels: [Int]?
  var criterion: DistillationLoss

  init(
    rows: Int, classes: Int, seed: UInt64, temperature: Double, hardLabelWeight: Double,
    reduction: Reduction, withLabels: Bool
  ) {
    var generator = SplitMix(state: seed &+ 3)
    self.rows = rows
    self.classes = classes
    criterion = DistillationLoss(
      temperature: temperature, hardLabelWeight: hardLabelWeight, reduction: reduction)
    let student = randomFloats(rows * classes, seed: seed, spread: 4, shift: 1)
    // A teacher near the student (KL small) on even rows, independent on odd rows.
    let noise = randomFloats(rows * classes, seed: seed &+ 1, spread: 4)
    self.student = student
    teacher = (0..<rows * classes).map { i in
      (i / classes) % 2 == 0 ? student[i] + 0.1 * noise[i] : noise[i]
    }
    let ignore = criterion.ignoreIndex
    labels =
      withLabels
      ? (0..<rows).map { r in
        r % 4 == 3 ? ignore : Int.random(in: 0..<classes, using: &generator)
      } : nil
  }

  /// The kernel with the gradient overwriting (a copy of) the student's logits.
  func fastInPlace(threads: Int) -> (loss: [Float], gradient: [Float]) {
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? rows : 1)
    var gradient = student
    teacher.withUnsafeBufferPointer { t in
      (labels ?? []).withUnsafeBufferPointer { l in
        loss.withUnsafeMutableBufferPointer { lb in
          gradient.withUnsafeMutableBufferPointer { g in
            FusedDistillation.run(
              student: UnsafePointer(g.baseAddress!), teacher: t.baseAddress!,
              labels: labels == nil ? nil : l, rows: rows, classes: classes,
              temperature: criterion.temperature, hardLabelWeight: criterion.hardLabelWeight,
              ignoreIndex: criterion.ignoreIndex, reduction: criterion.reduction,
              loss: lb.baseAddress!, gradient: g.baseAddress!, threads: threads)
          }
        }
      }
    }
    return (loss, gradient)
  }

  func fast(threads: Int, wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?) {
    var loss = [Float](repeating: .nan, count: criterion.reduction == .none ? rows : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: .nan, count: student.count) : nil
    student.withUnsafeBufferPointer { s in
      teacher.withUnsafeBufferPointer { t in
        (labels ?? []).withUnsafeBufferPointer { l in
          loss.withUnsafeMutableBufferPointer { lb in
            func run(_ g: UnsafeMutablePointer<Float>?) {
              FusedDistillation.run(
                student: s.baseAddress!, teacher: t.baseAddress!,
                labels: labels == nil ? nil : l, rows: rows, classes: classes,
                temperature: criterion.temperature, hardLabelWeight: criterion.hardLabelWeight,
                ignoreIndex: criterion.ignoreIndex, reduction: criterion.reduction,
                loss: lb.baseAddress!, gradient: g, threads: threads)
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
    return (loss, gradient)
  }

  func reference() throws -> (loss: [Double], gradient: [Double]?) {
    let shape = [rows, classes]
    let result = try criterion.lossAndGradient(
      studentLogits: ShapedArray<Double>(shape: shape, scalars: student.map(Double.init)),
      teacherLogits: ShapedArray<Double>(shape: shape, scalars: teacher.map(Double.init)),
      labels: try labels.map { try ShapedArray<Int>(shape: [rows], scalars: $0) })
    return (result.loss.scalars, result.gradient.scalars)
  }

  func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try reference()
    let t = criterion.temperature
    var first: (loss: [Float], gradient: [Float]?)? = nil
    for threads in threadCounts {
      for wantsGradient in [false, true] {
        let result = fast(threads: threads, wantsGradient: wantsGradient)
        expectClose(
          loss: result.loss, gradient: result.gradient, reference: expected,
          lossTolerance: (5e-5, 2e-6 * t * t), gradientTolerance: (2e-5, 2e-6),
          "distillation \(rows)x\(classes) T \(t) w \(criterion.hardLabelWeight)"
            + " labels \(labels != nil) \(criterion.reduction) threads \(threads)",
          sourceLocation: sourceLocation)
        if wantsGradient {
          if let first {
            #expect(bits(result.loss) == bits(first.loss), sourceLocation: sourceLocation)
            #expect(bits(result.gradient!) == bits(first.gradient!), sourceLocation: sourceLocation)
          } else {
            first = result
          }
        }
      }
    }
    // In place: the same bits as with a separate gradient.
    if let first {
      let inPlace = fastInPlace(threads: 2)
      #expect(bits(inPlace.loss) == bits(first.loss), sourceLocation: sourceLocation)
      #expect(bits(inPlace.gradient) == bits(first.gradient!), sourceLocation: sourceLocation)
    }
  }
}

@Suite struct DistillationKernelTests {
  @Test(arguments: [1, 2, 17, 1000])
  func matchesReference(classes: Int) throws {
    var seed = UInt64(classes) * 10
    for temperature in [1.0, 2, 0.5, 4] {
      for hardLabelWeight in [0.0, 0.3, 1] {
        for reduction in [Reduction.none, .mean, .sum] {
          for withLabels in [false, true] where withLabels || hardLabelWeight == 0 {
            seed += 1
            try DistillationCase(
              rows: 8, classes: classes, seed: seed, temperature: temperature,
              hardLabelWeight: hardLabelWeight, reduction: reduction, withLabels: withLabels
            ).check()
          }
        }
      }
    }
  }

  @Test func largeRowsAndManyRowsMatchReference() throws {
    try DistillationCase(
      rows: 3, classes: 70000, seed: 1, temperature: 2, hardLabelWeight: 0.5, reduction: .none,
      withLabels: true
    ).check()
    try DistillationCase(
      rows: 200, classes: 1500, seed: 2, temperature: 3, hardLabelWeight: 0.1, reduction: .mean,
      withLabels: true
    ).check()
  }

  @Test func forwardRescalesAcrossBlocks() throws {
    // Rows of three blocks whose maxima rise (or fall) from block to block: the forward-only
    // path rescales its running sums at each new maximum (T = 3: the hard term's own sum too).
    for slope: Float in [0.004, -0.004] {
      var problem = DistillationCase(
        rows: 4, classes: 6000, seed: 31, temperature: 3, hardLabelWeight: 0.25,
        reduction: .none, withLabels: true)
      for i in problem.student.indices {
        let c = Float(i % 6000)
        problem.student[i] += slope * c
        problem.teacher[i] += 0.5 * slope * c
      }
      try problem.check()
    }
  }

  @Test(arguments: [1.0, 2, 3, 4, 2.5])
  func gradientRescalesBlocksWhoseMaximaRoseLater(temperature: Double) throws {
    // Five blocks and a short one (4 * 2048 + 1000 + 5 classes): the maxima rise from block to
    // block (a ramp), or jump in the last block (a spike 30 above the rest), so that each
    // block's stored exponentials are relative to maxima below the row's and the gradient pass
    // rescales them (with the hard term: T = 1 shares the student's exponentials, 2, 3 and 4
    // take powers, 2.5 its own exponentials). Rows: a ramp, a spike, student falling while the
    // teacher rises, an ignored row (every fourth), every reduction.
    let classes = 4 * 2048 + 1005
    for (index, reduction) in [Reduction.none, .mean, .sum].enumerated() {
      for weight in [0.0, 0.4] {
        var problem = DistillationCase(
          rows: 6, classes: classes, seed: 50 + UInt64(index), temperature: temperature,
          hardLabelWeight: weight, reduction: reduction, withLabels: true)
        for r in 0..<6 {
          // The labels sit in early blocks (rescaled) on even rows and in the last on odd ones.
          if problem.labels![r] != problem.criterion.ignoreIndex {
            problem.labels![r] = r % 2 == 0 ? 37 * r : classes - 1 - r
          }
          for c in 0..<classes {
            let i = r * classes + c
            switch r % 4 {
            case 1:
              if c == classes - 3 { problem.student[i] += 30 }
              if c == classes - 7 { problem.teacher[i] += 30 }
            case 2:
              problem.student[i] -= 0.002 * Float(c)
              problem.teacher[i] += 0.003 * Float(c)
            default:
              problem.student[i] += 0.002 * Float(c)
              problem.teacher[i] += 0.001 * Float(c)
            }
          }
        }
        try problem.check()
      }
    }
  }

  @Test func wideLogitsAtLowTemperatureMatchReference() throws {
    // Logits spread over +-32 at T = 0.5 (softened spread +-64, most exps far below the largest):
    // the rescaled running sums and the cross term against the reference, with and without
    // the gradient.
    for (seed, weight) in [(UInt64(41), 0.0), (42, 0.3)] {
      var problem = DistillationCase(
        rows: 6, classes: 5000, seed: seed, temperature: 0.5, hardLabelWeight: weight,
        reduction: .none, withLabels: true)
      problem.student = problem.student.map { 8 * $0 }
      problem.teacher = problem.teacher.map { 8 * $0 }
      try problem.check()
    }
  }

  @Test func equalStudentAndTeacherGiveZeroKL() {
    var problem = DistillationCase(
      rows: 4, classes: 1000, seed: 12, temperature: 2, hardLabelWeight: 0, reduction: .none,
      withLabels: false)
    problem.teacher = problem.student
    #expect(problem.fast(threads: 1, wantsGradient: false).loss == [0, 0, 0, 0])
    let result = problem.fast(threads: 1, wantsGradient: true)
    #expect(result.loss == [0, 0, 0, 0])
    #expect(result.gradient!.allSatisfy { $0 == 0 })
  }

  @Test func nonFiniteRowsMatchReference() throws {
    for classes in [1, 17, 1000] {
      for hardLabelWeight in [0.0, 0.4] {
        var problem = DistillationCase(
          rows: 8, classes: classes, seed: 13, temperature: 2, hardLabelWeight: hardLabelWeight,
          reduction: .none, withLabels: true)
        problem.labels = Array(repeating: 0, count: 8)
        problem.student[0 * classes + classes / 2] = .infinity
        problem.teacher[1 * classes + classes / 2] = .infinity
        problem.student[2 * classes + classes / 3] = .nan
        problem.teacher[3 * classes + classes / 3] = .nan
        problem.student[4 * classes + classes - 1] = -.infinity
        problem.teacher[5 * classes + classes - 1] = -.infinity
        problem.student[6 * classes] = -.infinity
        problem.teacher[6 * classes] = -.infinity
        for c in 0..<classes { problem.teacher[7 * classes + c] = -.infinity }
        try problem.check()
      }
    }
  }

  @Test func floatTakesTheFastPathThroughThePublicAPI() throws {
    let problem = DistillationCase(
      rows: 12, classes: 50, seed: 14, temperature: 3, hardLabelWeight: 0.2, reduction: .mean,
      withLabels: true)
    let shape = [12, 50]
    let result = try problem.criterion.lossAndGradient(
      studentLogits: ShapedArray<Float>(shape: shape, scalars: problem.student),
      teacherLogits: ShapedArray<Float>(shape: shape, scalars: problem.teacher),
      labels: ShapedArray<Int>(shape: [12], scalars: problem.labels!))
    let direct = problem.fast(threads: 1, wantsGradient: true)
    #expect(bits(result.loss.scalars) == bits(direct.loss))
    #expect(bits(result.gradient.scalars) == bits(direct.gradient!))
  }
}
