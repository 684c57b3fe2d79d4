import Testing

@testable import CrossEntropy

// The caller-buffer forms of the wider family (KL divergence, MSE, Poly-1, multi-margin,
// distillation, softmax focal): the same numbers as the array forms, bit for bit, in fp32 (the
// fused kernels where there are some) and in Double (the reference); the gradient written over
// the input equal to the separate one; and every buffer-size check's message, with the input
// left unchanged when an overwriting form throws.

/// Uniform values in -spread...spread from a seeded generator.
private func values<Scalar: BinaryFloatingPoint>(
  _ count: Int, seed: UInt64, spread: Double = 3, _: Scalar.Type = Scalar.self
) -> [Scalar] {
  var generator = SplitMix(state: seed)
  return (0..<count).map { _ in Scalar(Double.random(in: -spread...spread, using: &generator)) }
}

/// Random class indices, every `ignoredEvery`-th one the ignore index -100 (0: none).
private func labels(_ count: Int, classes: Int, seed: UInt64, ignoredEvery: Int = 0) -> [Int] {
  var generator = SplitMix(state: seed)
  return (0..<count).map { r in
    ignoredEvery > 0 && r % ignoredEvery == ignoredEvery - 1
      ? -100 : Int.random(in: 0..<classes, using: &generator)
  }
}

/// The bit patterns of values, widened to Double (NaN payloads survive the widening alike).
private func bits<Scalar: BinaryFloatingPoint>(_ values: [Scalar]) -> [UInt64] {
  values.map { Double($0).bitPattern }
}

/// The three caller-buffer forms of one loss, over an input of `input.count` elements.
private struct BufferForms<Scalar: BinaryFloatingPoint> {
  var input: [Scalar]
  var lossCount: Int
  var loss: (UnsafeBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) throws -> Void
  var both:
    (
      UnsafeBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>,
      UnsafeMutableBufferPointer<Scalar>
    ) throws -> Void
  var overwriting:
    (UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) throws -> Void

  /// Checks the forms against the array form's loss and gradient, bit for bit; the loss-only
  /// form against `forward` when given (the array form's loss-only result, where the kernel's
  /// forward-only path sums differently).
  func check(
    against expected: (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>),
    forward: ShapedArray<Scalar>? = nil, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var lossOnly = [Scalar](repeating: .nan, count: lossCount)
    var lossBoth = lossOnly
    var lossInPlace = lossOnly
    var gradient = [Scalar](repeating: .nan, count: input.count)
    var inPlace = input
    try input.withUnsafeBufferPointer { x in
      try lossOnly.withUnsafeMutableBufferPointer { try loss(x, $0) }
      try lossBoth.withUnsafeMutableBufferPointer { l in
        try gradient.withUnsafeMutableBufferPointer { g in try both(x, l, g) }
      }
    }
    try inPlace.withUnsafeMutableBufferPointer { x in
      try lossInPlace.withUnsafeMutableBufferPointer { l in try overwriting(x, l) }
    }
    let expectedLoss = bits(expected.loss.scalars)
    #expect(
      bits(lossOnly) == bits((forward ?? expected.loss).scalars), "\(what): loss only",
      sourceLocation: sourceLocation)
    #expect(bits(lossBoth) == expectedLoss, "\(what): loss", sourceLocation: sourceLocation)
    #expect(bits(lossInPlace) == expectedLoss, "\(what): loss", sourceLocation: sourceLocation)
    let expectedGradient = bits(expected.gradient.scalars)
    #expect(bits(gradient) == expectedGradient, "\(what): gradient", sourceLocation: sourceLocation)
    #expect(bits(inPlace) == expectedGradient, "\(what): in place", sourceLocation: sourceLocation)
  }
}

@Suite struct FamilyBufferTests {
  private static let reductions: [Reduction] = [.none, .mean, .sum]

  private func distillation<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for (rows, classes) in [(5, 1), (6, 17), (3, 1000), (2, 5000)] {
      let student: [Scalar] = values(rows * classes, seed: UInt64(classes))
      let teacher: [Scalar] = values(rows * classes, seed: UInt64(classes) + 1)
      let y = labels(rows, classes: classes, seed: 3, ignoredEvery: 3)
      let shape = [rows, classes]
      for reduction in Self.reductions {
        for (temperature, weight) in [(1.0, 0.0), (2, 0.5), (3, 0.2), (0.5, 1)] {
          let criterion = DistillationLoss(
            temperature: temperature, hardLabelWeight: weight, reduction: reduction)
          let arrays = try (
            ShapedArray(shape: shape, scalars: student),
            ShapedArray(shape: shape, scalars: teacher), ShapedArray(shape: [rows], scalars: y)
          )
          let expected = try criterion.lossAndGradient(
            studentLogits: arrays.0, teacherLogits: arrays.1, labels: arrays.2)
          let forward = try criterion.loss(
            studentLogits: arrays.0, teacherLogits: arrays.1, labels: arrays.2)
          try y.withUnsafeBufferPointer { l in
            try teacher.withUnsafeBufferPointer { t in
              try BufferForms(
                input: student, lossCount: reduction == .none ? rows : 1,
                loss: {
                  try criterion.loss(
                    studentLogits: $0, shape: shape, teacherLogits: t, labels: l, into: $1)
                },
                both: {
                  try criterion.lossAndGradient(
                    studentLogits: $0, shape: shape, teacherLogits: t, labels: l, loss: $1,
                    gradient: $2)
                },
                overwriting: {
                  try criterion.lossAndGradient(
                    overwriting: $0, shape: shape, teacherLogits: t, labels: l, loss: $1)
                }
              ).check(
                against: (expected.loss, expected.gradient), forward: forward,
                "distillation \(Scalar.self) \(rows)x\(classes) T \(temperature) w \(weight)"
                  + " \(reduction)")
            }
          }
        }
      }
    }
  }

  @Test func distillationMatchesTheArrayForm() throws {
    try distillation(Float.self)
    try distillation(Double.self)
  }

  @Test func distillationInPlaceKeepsNonFiniteRowsExact() throws {
    // Rows that take the scalar path read the student row after the exp pass: in place, it
    // must still hold the logits.
    let classes = 40
    var student: [Float] = values(4 * classes, seed: 7)
    let teacher: [Float] = values(4 * classes, seed: 8)
    student[5] = .infinity
    student[classes + 3] = .nan
    student[2 * classes + 1] = -.infinity
    let criterion = DistillationLoss(temperature: 2, hardLabelWeight: 0.3, reduction: .none)
    let y = [1, 2, 3, 4]
    let expected = try criterion.lossAndGradient(
      studentLogits: ShapedArray(shape: [4, classes], scalars: student),
      teacherLogits: ShapedArray(shape: [4, classes], scalars: teacher),
      labels: ShapedArray(shape: [4], scalars: y))
    var loss = [Float](repeating: 0, count: 4)
    try teacher.withUnsafeBufferPointer { t in
      try y.withUnsafeBufferPointer { l in
        try student.withUnsafeMutableBufferPointer { s in
          try loss.withUnsafeMutableBufferPointer { lb in
            try criterion.lossAndGradient(
              overwriting: s, shape: [4, classes], teacherLogits: t, labels: l, loss: lb)
          }
        }
      }
    }
    #expect(bits(loss) == bits(expected.loss.scalars))
    #expect(bits(student) == bits(expected.gradient.scalars))
  }

  private func softmaxFocal<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    for (rows, classes) in [(5, 1), (6, 17), (3, 1000), (2, 70000)] {
      let logits: [Scalar] = values(rows * classes, seed: UInt64(classes) + 10)
      let y = labels(rows, classes: classes, seed: 4, ignoredEvery: 4)
      let alpha: [Scalar] = values(classes, seed: 5).map { abs($0) + 0.1 }
      let shape = [rows, classes]
      for reduction in Self.reductions {
        for (gamma, weighted) in [(0.0, false), (2, true), (1.5, false)] {
          let criterion = SoftmaxFocalLoss(reduction: reduction, gamma: gamma)
          let arrays = try (
            ShapedArray(shape: shape, scalars: logits), ShapedArray(shape: [rows], scalars: y)
          )
          let expected = try criterion.lossAndGradient(
            logits: arrays.0, labels: arrays.1, classWeights: weighted ? alpha : nil)
          let forward = try criterion.loss(
            logits: arrays.0, labels: arrays.1, classWeights: weighted ? alpha : nil)
          try y.withUnsafeBufferPointer { l in
            try alpha.withUnsafeBufferPointer { a in
              let a = weighted ? a : nil
              try BufferForms(
                input: logits, lossCount: reduction == .none ? rows : 1,
                loss: {
                  try criterion.loss(logits: $0, shape: shape, labels: l, classWeights: a, into: $1)
                },
                both: {
                  try criterion.lossAndGradient(
                    logits: $0, shape: shape, labels: l, classWeights: a, loss: $1, gradient: $2)
                },
                overwriting: {
                  try criterion.lossAndGradient(
                    overwriting: $0, shape: shape, labels: l, classWeights: a, loss: $1)
                }
              ).check(
                against: (expected.loss, expected.gradient), forward: forward,
                "softmax focal \(Scalar.self) \(rows)x\(classes) gamma \(gamma) \(reduction)")
            }
          }
        }
      }
    }
  }

  @Test func softmaxFocalMatchesTheArrayForm() throws {
    try softmaxFocal(Float.self)
    try softmaxFocal(Double.self)
  }

  private func poly<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let (rows, classes) = (7, 11)
    let shape = [rows, classes]
    let logits: [Scalar] = values(rows * classes, seed: 21)
    let y = labels(rows, classes: classes, seed: 22, ignoredEvery: 3)
    let targets: [Scalar] = values(rows * classes, seed: 23).map { abs($0) / 10 }
    for reduction in Self.reductions {
      let criterion = PolyLoss(epsilon: 1.5, reduction: reduction)
      let lossCount = reduction == .none ? rows : 1
      let expected = try criterion.lossAndGradient(
        logits: ShapedArray(shape: shape, scalars: logits),
        labels: ShapedArray(shape: [rows], scalars: y))
      try y.withUnsafeBufferPointer { l in
        try BufferForms(
          input: logits, lossCount: lossCount,
          loss: { try criterion.loss(logits: $0, shape: shape, labels: l, into: $1) },
          both: {
            try criterion.lossAndGradient(
              logits: $0, shape: shape, labels: l, loss: $1, gradient: $2)
          },
          overwriting: {
            try criterion.lossAndGradient(overwriting: $0, shape: shape, labels: l, loss: $1)
          }
        ).check(against: expected, "poly labels \(Scalar.self) \(reduction)")
      }
      let soft = try criterion.lossAndGradient(
        logits: ShapedArray(shape: shape, scalars: logits),
        targets: ShapedArray(shape: shape, scalars: targets))
      try targets.withUnsafeBufferPointer { t in
        try BufferForms(
          input: logits, lossCount: lossCount,
          loss: { try criterion.loss(logits: $0, shape: shape, targets: t, into: $1) },
          both: {
            try criterion.lossAndGradient(
              logits: $0, shape: shape, targets: t, loss: $1, gradient: $2)
          },
          overwriting: { x, l in
            // No overwriting form for probability targets: the separate form into the input.
            try criterion.lossAndGradient(
              logits: UnsafeBufferPointer(x), shape: shape, targets: t, loss: l, gradient: x)
          }
        ).check(against: soft, "poly probabilities \(Scalar.self) \(reduction)")
      }
    }
  }

  @Test func polyLossMatchesTheArrayForm() throws {
    try poly(Float.self)
    try poly(Double.self)
  }

  private func multiMargin<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let (rows, classes) = (6, 9)
    let shape = [rows, classes]
    let logits: [Scalar] = values(rows * classes, seed: 31, spread: 1)
    let y = labels(rows, classes: classes, seed: 32)
    let weights: [Scalar] = values(classes, seed: 33).map { abs($0) + 0.5 }
    for reduction in Self.reductions {
      for (p, weighted) in [(1, false), (2, true)] {
        let criterion = MultiMarginLoss(reduction: reduction, p: p, margin: 0.7)
        let expected = try criterion.lossAndGradient(
          logits: ShapedArray(shape: shape, scalars: logits),
          labels: ShapedArray(shape: [rows], scalars: y), classWeights: weighted ? weights : nil)
        try y.withUnsafeBufferPointer { l in
          try weights.withUnsafeBufferPointer { w in
            let w = weighted ? w : nil
            try BufferForms(
              input: logits, lossCount: reduction == .none ? rows : 1,
              loss: {
                try criterion.loss(logits: $0, shape: shape, labels: l, classWeights: w, into: $1)
              },
              both: {
                try criterion.lossAndGradient(
                  logits: $0, shape: shape, labels: l, classWeights: w, loss: $1, gradient: $2)
              },
              overwriting: {
                try criterion.lossAndGradient(
                  overwriting: $0, shape: shape, labels: l, classWeights: w, loss: $1)
              }
            ).check(against: expected, "multi-margin \(Scalar.self) p \(p) \(reduction)")
          }
        }
      }
    }
  }

  @Test func multiMarginMatchesTheArrayForm() throws {
    try multiMargin(Float.self)
    try multiMargin(Double.self)
  }

  private func elementwise<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    let shape = [4, 5]
    let input: [Scalar] = values(20, seed: 41)
    var targets: [Scalar] = values(20, seed: 42).map { abs($0) / 3 }
    targets[3] = 0
    for reduction in KLDivergence.Reduction.allCases {
      for logTarget in [false, true] {
        let criterion = KLDivergence(reduction: reduction, logTarget: logTarget)
        let expected = try criterion.lossAndGradient(
          logProbabilities: ShapedArray(shape: shape, scalars: input),
          targets: ShapedArray(shape: shape, scalars: targets))
        try targets.withUnsafeBufferPointer { t in
          try BufferForms(
            input: input, lossCount: reduction == .none ? 20 : 1,
            loss: { try criterion.loss(logProbabilities: $0, shape: shape, targets: t, into: $1) },
            both: {
              try criterion.lossAndGradient(
                logProbabilities: $0, shape: shape, targets: t, loss: $1, gradient: $2)
            },
            overwriting: {
              try criterion.lossAndGradient(overwriting: $0, shape: shape, targets: t, loss: $1)
            }
          ).check(against: expected, "KL \(Scalar.self) \(reduction) log \(logTarget)")
        }
      }
    }
    for reduction in Self.reductions {
      let criterion = MeanSquaredError(reduction: reduction)
      let expected = try criterion.lossAndGradient(
        predictions: ShapedArray(shape: shape, scalars: input),
        targets: ShapedArray(shape: shape, scalars: targets))
      try targets.withUnsafeBufferPointer { t in
        try BufferForms(
          input: input, lossCount: reduction == .none ? 20 : 1,
          loss: { try criterion.loss(predictions: $0, shape: shape, targets: t, into: $1) },
          both: {
            try criterion.lossAndGradient(
              predictions: $0, shape: shape, targets: t, loss: $1, gradient: $2)
          },
          overwriting: {
            try criterion.lossAndGradient(overwriting: $0, shape: shape, targets: t, loss: $1)
          }
        ).check(against: expected, "MSE \(Scalar.self) \(reduction)")
      }
    }
  }

  @Test func elementwiseLossesMatchTheArrayForm() throws {
    try elementwise(Float.self)
    try elementwise(Double.self)
  }

  @Test func emptyInputsWriteNothingAndDoNotTrap() throws {
    let empty = UnsafeBufferPointer<Float>(start: nil, count: 0)
    let none = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    try MeanSquaredError(reduction: .none).lossAndGradient(
      predictions: empty, shape: [0, 3], targets: empty, loss: none, gradient: none)
    try KLDivergence(reduction: .none).loss(
      logProbabilities: empty, shape: [0], targets: empty, into: none)
    try PolyLoss(reduction: .none).loss(
      logits: empty, shape: [0, 4], labels: UnsafeBufferPointer(start: nil, count: 0),
      into: none)
  }
}
