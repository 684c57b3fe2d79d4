import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused fp32 distillation kernel (FusedDistillation) against the reference kernel
// evaluated in Double on the same values (the public API with Double inputs takes the
// reference). Each case runs the kernel directly with 1, 2, 3 and 7 threads, forward only and
// with the gradient; the runs with the gradient, and the gradient written over the student's
// logits, must agree bit for bit.
//
// Tolerances (fp32 fast path vs Double reference): loss within 5e-5 relative + 2e-6 * T^2
// absolute (KL cancels between the cross term and the log-normalisers); gradient within 2e-5
// relative + 2e-6 of the largest gradient magnitude (q - p cancels). NaN must match NaN and
// infinities exactly.

/// One distillation problem in fp32.
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
    var generator = SeededGenerator(seed: seed &+ 3)
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
    let t = criterion.temperature
    let first = expectKernelMatchesReference(
      try reference(), lossTolerance: Tolerance(relative: 5e-5, absolute: 2e-6 * t * t),
      gradientTolerance: Tolerance(relative: 2e-5, absolute: 2e-6),
      { threads in
        "distillation \(rows)x\(classes) T \(t) w \(criterion.hardLabelWeight)"
          + " labels \(labels != nil) \(criterion.reduction) threads \(threads)"
      }, sourceLocation: sourceLocation, run: fast)
    // In place: the same bits as with a separate gradient.
    if let first {
      let inPlace = fastInPlace(threads: 2)
      #expect(
        bitPatterns(inPlace.loss) == bitPatterns(first.loss), sourceLocation: sourceLocation)
      #expect(
        bitPatterns(inPlace.gradient) == bitPatterns(first.gradient),
        sourceLocation: sourceLocation)
    }
  }
}

@Suite struct DistillationLossKernelTests {
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
    #expect(bitPatterns(result.loss.scalars) == bitPatterns(direct.loss))
    #expect(bitPatterns(result.gradient.scalars) == bitPatterns(direct.gradient!))
  }
}
