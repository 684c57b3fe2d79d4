import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// A differential fuzzer of the losses with fused kernels of their own: binary cross-entropy
// with logits, the sigmoid and softmax focal losses, distillation, CTC and the linear
// cross-entropy head. Each case draws a problem with adversarial values (see
// `FuzzType.adversarialValues`) and evaluates the public API twice on the same values: in
// `Float` or `Float16`, which take the fused kernels, and in `Double`, which takes the
// `Reference` kernels (the head's Double reference is `Reference.softmaxCrossEntropy` on the
// logits materialised in Double, with the chain rule for the hidden, weight and bias
// gradients). NaN and infinities must match exactly, finite values agree within a budget
// scaled by what was summed.
//
// Each loss gets XENT_FUZZ_SECONDS / 6 seconds from XENT_FUZZ_SEED (see DifferentialFuzzTests).

/// Results widened to Double: the loss and each gradient.
private struct Outcome {
  var loss: [Double]
  var gradients: [[Double]]
}

/// How much rounding a result may carry (see `disagreement`).
private struct FuzzBudget {
  var loss: Double
  var gradient: Double
  /// Whether an fp32 intermediate may overflow where Double does not (accepted, as in
  /// PyTorch's fp32).
  var mayOverflow = false
}

/// One random problem of a loss, evaluated in any floating-point type.
private protocol LossFuzzCase: CustomStringConvertible {
  init(seed: UInt64)
  /// The type of the fused evaluation (`.float` or `.float16`).
  var type: FuzzType { get }
  var budget: FuzzBudget { get }
  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome
}

extension LossFuzzCase {
  /// The fused evaluation: `Float`, or `Float16` where the platform has it.
  func evaluateFused() throws -> Outcome {
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      if type == .float16 { return try evaluate(Float16.self) }
    #endif
    return try evaluate(Float.self)
  }
}

/// Draws `.float` three times in four, else `.float16`.
private func fusedType(using random: inout SeededGenerator) -> FuzzType {
  Int.random(in: 0..<4, using: &random) == 0 ? .float16 : .float
}

/// `values` as a shaped array of `Scalar`.
private func array<Scalar: BinaryFloatingPoint>(
  _ values: [Double], _ shape: [Int], as _: Scalar.Type
) throws -> ShapedArray<Scalar> {
  try ShapedArray(shape: shape, scalars: values.map { Scalar($0) })
}

private func widened<Scalar: BinaryFloatingPoint>(_ a: ShapedArray<Scalar>) -> [Double] {
  a.scalars.map { Double($0) }
}

/// The largest finite magnitude among `values`, at least 0.
private func largestFinite(_ values: [Double]) -> Double {
  values.lazy.filter(\.isFinite).map(abs).max() ?? 0
}

/// The largest magnitude of optional weights, at least 1.
private func largestWeight(_ values: [Double]?) -> Double {
  max(values.map(largestFinite) ?? 1, 1)
}

extension FuzzBudget {
  /// The budget of a `.mean` divided by a normaliser `k` in place of its own `count`: the loss
  /// grows by `count / k`, each gradient element by `1 / k`.
  func normalized(_ k: Double?, reduction: Reduction, count: Int) -> FuzzBudget {
    guard reduction == .mean, let k else { return self }
    var budget = self
    budget.loss *= max(Double(count) / k, 1)
    budget.gradient *= max(1 / k, 1)
    return budget
  }
}

/// The normaliser of a case: none half of the time, else one below and one above 1.
private func fuzzNormalizer(using random: inout SeededGenerator) -> Double? {
  [nil, nil, 0.5, 7].randomElement(using: &random)!
}

/// The shape of an elementwise problem (rank 1 to 3, empty and vector-width sizes included),
/// adversarial logits, and targets of 0, 1 or uniform in [0, 1].
private func elementwiseProblem(
  _ type: FuzzType, using random: inout SeededGenerator
) -> (shape: [Int], logits: [Double], targets: [Double]) {
  let rank = Int.random(in: 1...3, using: &random)
  let shape = (0..<rank).map { _ in
    Int.random(in: 0..<12, using: &random) == 0
      ? 0 : [1, 2, 3, 7, 16, 17, 40].randomElement(using: &random)!
  }
  let count = shape.reduce(1, *)
  let logits = type.adversarialValues(count, using: &random)
  let targets = (0..<count).map { _ in
    type.rounded(
      [0, 1, Double.random(in: 0...1, using: &random)].randomElement(using: &random)!)
  }
  return (shape, logits, targets)
}

/// The shape of rows of classes on axis 1: `[N, C]`, or `[N, C, K]` one time in four; N may be
/// 0, C runs past the vector width.
private func classRowsShape(using random: inout SeededGenerator) -> [Int] {
  let spatial = Int.random(in: 0..<4, using: &random) == 0
  let rows =
    Int.random(in: 0..<10, using: &random) == 0 ? 0 : Int.random(in: 1...9, using: &random)
  let classes = [1, 2, 3, 15, 16, 17, 33, 70].randomElement(using: &random)!
  return spatial ? [rows, classes, Int.random(in: 1...3, using: &random)] : [rows, classes]
}

/// The labels' shape for a `classRowsShape`: without axis 1.
private func labelsShape(of shape: [Int]) -> [Int] {
  shape.count == 3 ? [shape[0], shape[2]] : [shape[0]]
}

/// Runs cases of `C` from the fuzzer's seed for `seconds`, and records the first five
/// disagreements between the fused evaluation and the Double reference.
private func fuzz<C: LossFuzzCase>(_: C.Type, seconds: Double) throws {
  let start = Date()
  var cases = 0
  var seed = FuzzSettings.firstSeed
  var failures: [String] = []
  while cases < FuzzSettings.maximumCases, Date().timeIntervalSince(start) < seconds,
    failures.count < 5
  {
    let c = C(seed: seed)
    seed += 1
    cases += 1
    let expected = try c.evaluate(Double.self)
    let actual = try c.evaluateFused()
    let budget = c.budget
    if let problem = disagreement(
      actual.loss, expected.loss, type: c.type, budget: budget.loss,
      mayOverflow: budget.mayOverflow)
    {
      failures.append("\(c): loss \(problem)")
      continue
    }
    for (k, (a, e)) in zip(actual.gradients, expected.gradients).enumerated() {
      if let problem = disagreement(
        a, e, type: c.type, budget: budget.gradient, mayOverflow: budget.mayOverflow)
      {
        failures.append("\(c): gradient \(k) \(problem)")
        break
      }
    }
  }
  for failure in failures { Issue.record(Comment(rawValue: failure)) }
  if FuzzSettings.environment["XENT_FUZZ_VERBOSE"] != nil, !failures.isEmpty {
    let c = C(seed: FuzzSettings.firstSeed)
    for child in Mirror(reflecting: c).children { print("\(child.label ?? "?"): \(child.value)") }
    print("expected \(try c.evaluate(Double.self))\nactual \(try c.evaluateFused())")
  }
  #expect(cases > 0)
  print("fused-loss fuzzer \(C.self): \(cases) cases from seed \(FuzzSettings.firstSeed)")
}

// MARK: - Binary cross-entropy with logits

private struct BinaryCase: LossFuzzCase {
  var seed: UInt64
  var type: FuzzType
  var shape: [Int]
  var logits: [Double]
  var targets: [Double]
  var weight: (values: [Double], shape: [Int])?
  var positiveWeight: (values: [Double], shape: [Int])?
  var upstream: [Double]?
  var criterion: BinaryCrossEntropy

  var description: String {
    "BCE seed \(seed) \(type) shape \(shape) \(criterion.reduction)"
      + " weight \(weight?.shape.description ?? "-")"
      + " positiveWeight \(positiveWeight?.shape.description ?? "-") upstream \(upstream != nil)"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-")"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = fusedType(using: &random)
    (shape, logits, targets) = elementwiseProblem(type, using: &random)
    let count = logits.count
    let type = type
    let last = shape.last!
    let full = shape
    if Bool.random(using: &random) {
      let s = Bool.random(using: &random) ? [last] : full
      weight = (
        (0..<s.reduce(1, *)).map { _ in
          type.rounded([0, 0.5, 1, 2, 1e-3].randomElement(using: &random)!)
        }, s
      )
    }
    if Bool.random(using: &random) {
      positiveWeight = (
        (0..<last).map { _ in type.rounded([0, 0.5, 1, 3].randomElement(using: &random)!) },
        [last]
      )
    }
    criterion = BinaryCrossEntropy(
      reduction: Reduction.allCases.randomElement(using: &random)!,
      normalizer: fuzzNormalizer(using: &random))
    upstream = type.sometimesUpstream(criterion.reduction == .none ? count : 1, using: &random)
  }

  var budget: FuzzBudget {
    let m = largestFinite(logits) + 1
    let w = largestWeight(weight?.values) * largestWeight(positiveWeight?.values)
    let u = largestWeight(upstream)
    let terms = criterion.reduction == .sum ? Double(max(logits.count, 1)) : 1
    let slack = 64 * type.epsilon
    return FuzzBudget(
      loss: slack * m * w * terms, gradient: slack * w * u,
      mayOverflow: m * w * u * Double(logits.count) > type.greatest / 8
    ).normalized(criterion.normalizer, reduction: criterion.reduction, count: logits.count)
  }

  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome {
    let result = try criterion.lossAndGradient(
      logits: array(logits, shape, as: Scalar.self),
      targets: array(targets, shape, as: Scalar.self),
      weight: weight.map { try array($0.values, $0.shape, as: Scalar.self) },
      positiveWeight: positiveWeight.map { try array($0.values, $0.shape, as: Scalar.self) },
      upstreamGradient: upstream.map {
        try array($0, criterion.reduction == .none ? shape : [], as: Scalar.self)
      })
    return Outcome(loss: widened(result.loss), gradients: [widened(result.gradient)])
  }
}

// MARK: - Sigmoid focal loss

private struct SigmoidFocalCase: LossFuzzCase {
  var seed: UInt64
  var type: FuzzType
  var shape: [Int]
  var logits: [Double]
  var targets: [Double]
  var sampleWeights: [Double]?
  var upstream: [Double]?
  var criterion: SigmoidFocalLoss

  var description: String {
    "sigmoid focal seed \(seed) \(type) shape \(shape) \(criterion.reduction)"
      + " alpha \(criterion.alpha) gamma \(criterion.gamma)"
      + " sampleWeights \(sampleWeights != nil) upstream \(upstream != nil)"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-")"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = fusedType(using: &random)
    (shape, logits, targets) = elementwiseProblem(type, using: &random)
    let count = logits.count
    let type = type
    criterion = SigmoidFocalLoss(
      reduction: Reduction.allCases.randomElement(using: &random)!,
      alpha: [0.25, -1, 0, 1].randomElement(using: &random)!,
      gamma: [0, 1, 2, 1.5, 0.5, 3].randomElement(using: &random)!,
      normalizer: fuzzNormalizer(using: &random))
    sampleWeights = type.sometimesSampleWeights(shape[0], using: &random)
    upstream = type.sometimesUpstream(criterion.reduction == .none ? count : 1, using: &random)
  }

  var budget: FuzzBudget {
    let m = largestFinite(logits) + 1
    let s = largestWeight(sampleWeights)
    let u = largestWeight(upstream)
    let terms = criterion.reduction == .sum ? Double(max(logits.count, 1)) : 1
    let slack = 64 * type.epsilon
    return FuzzBudget(
      loss: slack * m * s * terms, gradient: slack * (1 + criterion.gamma) * m * s * u,
      mayOverflow: m * s * u * Double(logits.count) > type.greatest / 8
    ).normalized(criterion.normalizer, reduction: criterion.reduction, count: logits.count)
  }

  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome {
    let result = try criterion.lossAndGradient(
      logits: array(logits, shape, as: Scalar.self),
      targets: array(targets, shape, as: Scalar.self),
      sampleWeights: sampleWeights.map { try array($0, [shape[0]], as: Scalar.self) },
      upstreamGradient: upstream.map {
        try array($0, criterion.reduction == .none ? shape : [], as: Scalar.self)
      })
    return Outcome(loss: widened(result.loss), gradients: [widened(result.gradient)])
  }
}

// MARK: - Softmax focal loss

private struct SoftmaxFocalCase: LossFuzzCase {
  var seed: UInt64
  var type: FuzzType
  var shape: [Int]
  var logits: [Double]
  var labels: [Int]
  var classWeights: [Double]?
  var sampleWeights: [Double]?
  var upstream: [Double]?
  var criterion: SoftmaxFocalLoss

  var description: String {
    "softmax focal seed \(seed) \(type) shape \(shape) axis \(criterion.classAxis)"
      + " \(criterion.reduction) gamma \(criterion.gamma) ignore \(criterion.ignoreIndex)"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-") \(criterion.allIgnored)"
      + " classWeights \(classWeights != nil) sampleWeights \(sampleWeights != nil)"
      + " upstream \(upstream != nil)"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = fusedType(using: &random)
    shape = classRowsShape(using: &random)
    let classes = shape[1]
    let layout = try! ClassLayout(shape: shape, classAxis: 1)
    logits = type.adversarialValues(shape.reduce(1, *), using: &random)
    let ignoreIndex = [-100, 0, classes - 1].randomElement(using: &random)!
    let ignoreShare = [0, 0.2, 1].randomElement(using: &random)!
    labels = (0..<layout.rows).map { _ in
      if Double.random(in: 0..<1, using: &random) < ignoreShare { return ignoreIndex }
      return Int.random(in: 0..<classes, using: &random)
    }
    let reduction = Reduction.allCases.randomElement(using: &random)!
    criterion = SoftmaxFocalLoss(
      reduction: reduction, classAxis: 1, ignoreIndex: ignoreIndex,
      gamma: [0, 1, 2, 0.5, 3].randomElement(using: &random)!,
      normalizer: [nil, nil, 3.5].randomElement(using: &random)!,
      allIgnored: AllIgnoredMean.allCases.randomElement(using: &random)!)
    let type = type
    if Bool.random(using: &random) {
      classWeights = (0..<classes).map { _ in
        type.rounded([0, 0.5, 1, 2, 1e-3].randomElement(using: &random)!)
      }
    }
    sampleWeights = type.sometimesSampleWeights(layout.rows, using: &random)
    upstream = type.sometimesUpstream(reduction == .none ? layout.rows : 1, using: &random)
  }

  var labelShape: [Int] { labelsShape(of: shape) }

  var budget: FuzzBudget {
    let classes = shape[1]
    let m = largestFinite(logits) + log(Double(classes)) + 1
    let w = largestWeight(classWeights) * largestWeight(sampleWeights)
    let u = largestWeight(upstream)
    var rows = criterion.reduction == .none ? 1 : Double(labels.count)
    if criterion.reduction == .mean {
      var denominator = 0.0
      for (r, y) in labels.enumerated() where y != criterion.ignoreIndex {
        denominator += abs(sampleWeights?[r] ?? 1) * abs(classWeights?[y] ?? 1)
      }
      rows /= max(criterion.normalizer ?? 0, denominator, 1e-300)
      rows = max(rows, 1)
    }
    let slack = 64 * type.epsilon * Double(max(classes, 4))
    let g = 1 + criterion.gamma
    return FuzzBudget(
      loss: slack * g * m * w * rows, gradient: slack * g * m * w * u * rows,
      mayOverflow: largestFinite(logits) * Double(classes) > type.greatest / 8)
  }

  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome {
    let result = try criterion.lossAndGradient(
      logits: array(logits, shape, as: Scalar.self),
      labels: ShapedArray(shape: labelShape, scalars: labels),
      classWeights: classWeights?.map { Scalar($0) },
      sampleWeights: sampleWeights.map { try array($0, labelShape, as: Scalar.self) },
      upstreamGradient: upstream.map {
        try array($0, criterion.reduction == .none ? labelShape : [], as: Scalar.self)
      })
    return Outcome(loss: widened(result.loss), gradients: [widened(result.gradient)])
  }
}

// MARK: - Distillation

private struct DistillationCase: LossFuzzCase {
  var seed: UInt64
  var type: FuzzType
  var shape: [Int]
  var student: [Double]
  var teacher: [Double]
  var labels: [Int]?
  var upstream: [Double]?
  var criterion: DistillationLoss

  var description: String {
    "distillation seed \(seed) \(type) shape \(shape) axis \(criterion.classAxis)"
      + " \(criterion.reduction) T \(criterion.temperature) hard \(criterion.hardLabelWeight)"
      + " ignore \(criterion.ignoreIndex) labels \(labels != nil) upstream \(upstream != nil)"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-")"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = fusedType(using: &random)
    shape = classRowsShape(using: &random)
    let classes = shape[1]
    let count = shape.reduce(1, *)
    student = type.adversarialValues(count, using: &random)
    // The teacher is usually well behaved; sometimes as adversarial as the student.
    teacher = type.adversarialValues(
      count, scales: [1, 10, 100], using: &random)
    if Int.random(in: 0..<4, using: &random) != 0 {
      teacher = teacher.map { $0.isFinite ? $0 : 0 }
    }
    let ignoreIndex = [-100, 0, classes - 1].randomElement(using: &random)!
    let hard = [0, 0, 0.5, 1].randomElement(using: &random)!
    criterion = DistillationLoss(
      temperature: [1, 2, 0.5, 4, 0.05].randomElement(using: &random)!,
      hardLabelWeight: hard, reduction: Reduction.allCases.randomElement(using: &random)!,
      classAxis: 1, ignoreIndex: ignoreIndex, normalizer: fuzzNormalizer(using: &random))
    let labelCount = shape.count == 3 ? shape[0] * shape[2] : shape[0]
    if hard > 0 || Bool.random(using: &random) {
      let ignoreShare = [0, 0.2, 1].randomElement(using: &random)!
      labels = (0..<labelCount).map { _ in
        Double.random(in: 0..<1, using: &random) < ignoreShare
          ? ignoreIndex : Int.random(in: 0..<classes, using: &random)
      }
    }
    let type = type
    upstream = type.sometimesUpstream(criterion.reduction == .none ? labelCount : 1, using: &random)
  }

  var labelShape: [Int] { labelsShape(of: shape) }

  var budget: FuzzBudget {
    let classes = shape[1]
    let t = criterion.temperature
    let m = (largestFinite(student) + largestFinite(teacher)) / min(t, 1) + log(Double(classes)) + 1
    let u = largestWeight(upstream)
    let rows = criterion.reduction == .sum ? Double(max(labelShape.reduce(1, *), 1)) : 1
    let slack = 64 * type.epsilon * Double(max(classes, 4)) * max(t * t, 1)
    return FuzzBudget(
      loss: slack * m * rows, gradient: slack * m * u / min(t, 1),
      mayOverflow: largestFinite(student) * Double(classes) / min(t, 1) > type.greatest / 8
    ).normalized(
      criterion.normalizer, reduction: criterion.reduction, count: labelShape.reduce(1, *))
  }

  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome {
    let result = try criterion.lossAndGradient(
      studentLogits: array(student, shape, as: Scalar.self),
      teacherLogits: array(teacher, shape, as: Scalar.self),
      labels: labels.map { try ShapedArray(shape: labelShape, scalars: $0) },
      upstreamGradient: upstream.map {
        try array($0, criterion.reduction == .none ? labelShape : [], as: Scalar.self)
      })
    return Outcome(loss: widened(result.loss), gradients: [widened(result.gradient)])
  }
}

// MARK: - CTC

private struct CTCCase: LossFuzzCase {
  var seed: UInt64
  var type: FuzzType
  var shape: [Int]
  var input: [Double]
  var fromLogits: Bool
  var labels: [Int]
  var inputLengths: [Int]
  var labelLengths: [Int]
  var upstream: [Double]?
  var criterion: ConnectionistTemporalClassification

  var description: String {
    "CTC seed \(seed) \(type) shape \(shape) \(criterion.reduction) blank \(criterion.blank)"
      + " zeroInfinity \(criterion.zeroInfinity) fromLogits \(fromLogits)"
      + " inputLengths \(inputLengths) labelLengths \(labelLengths) upstream \(upstream != nil)"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-")"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = fusedType(using: &random)
    let steps = Int.random(in: 1...12, using: &random)
    let batch = Int.random(in: 1...4, using: &random)
    let classes = [2, 3, 5, 16, 17, 30].randomElement(using: &random)!
    shape = [steps, batch, classes]
    fromLogits = Bool.random(using: &random)
    // Adversarial values are rarer here: one NaN poisons a whole sample.
    input = type.adversarialValues(
      shape.reduce(1, *), scales: [1, 3, 10, 1e4], using: &random)
    if Bool.random(using: &random) { input = input.map { $0.isFinite ? $0 : -1 } }
    if !fromLogits { input = input.map { $0 > 0 ? -$0 : $0 } }  // log-probabilities are <= 0
    let blank = Bool.random(using: &random) ? 0 : classes - 1
    criterion = ConnectionistTemporalClassification(
      blank: blank, reduction: Reduction.allCases.randomElement(using: &random)!,
      zeroInfinity: Bool.random(using: &random), normalizer: fuzzNormalizer(using: &random))
    inputLengths = (0..<batch).map { _ in Int.random(in: 0...steps, using: &random) }
    labelLengths = (0..<batch).map { _ in Int.random(in: 0...min(steps, 6), using: &random) }
    let longest = max(labelLengths.max()!, 1)
    labels = (0..<(batch * longest)).map { _ in
      var label = Int.random(in: 0..<classes, using: &random)
      if label == blank { label = (label + 1) % classes }
      return label
    }
    let type = type
    upstream = type.sometimesUpstream(criterion.reduction == .none ? batch : 1, using: &random)
  }

  var budget: FuzzBudget {
    let m = largestFinite(input) + log(Double(shape[2])) + 1
    let u = largestWeight(upstream)
    let steps = Double(shape[0])
    let slack = 256 * type.epsilon * steps * Double(max(shape[2], 4))
    return FuzzBudget(
      loss: slack * m * Double(shape[1]), gradient: slack * m * u,
      mayOverflow: largestFinite(input) > type.greatest / 64
    ).normalized(criterion.normalizer, reduction: criterion.reduction, count: shape[1])
  }

  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome {
    let x = try array(input, shape, as: Scalar.self)
    let y = try ShapedArray(shape: [shape[1], labels.count / shape[1]], scalars: labels)
    let g = try upstream.map {
      try array($0, criterion.reduction == .none ? [shape[1]] : [], as: Scalar.self)
    }
    let result =
      fromLogits
      ? try criterion.lossAndGradient(
        logits: x, labels: y, inputLengths: inputLengths, labelLengths: labelLengths,
        upstreamGradient: g)
      : try criterion.lossAndGradient(
        logProbabilities: x, labels: y, inputLengths: inputLengths, labelLengths: labelLengths,
        upstreamGradient: g)
    return Outcome(loss: widened(result.loss), gradients: [widened(result.gradient)])
  }
}

// MARK: - Linear cross-entropy head

private struct LinearHeadCase: LossFuzzCase {
  var seed: UInt64
  var type: FuzzType
  var rows: Int
  var hiddenSize: Int
  var classes: Int
  var hidden: [Double]
  var weight: [Double]
  var bias: [Double]?
  var labels: [Int]
  var classWeights: [Double]?
  var sampleWeights: [Double]?
  var upstream: [Double]?
  var criterion: LinearCrossEntropy

  var description: String {
    "linear head seed \(seed) \(type) N \(rows) D \(hiddenSize) V \(classes)"
      + " \(criterion.reduction) smoothing \(criterion.labelSmoothing) z \(criterion.zLossScale)"
      + " cap \(criterion.logitSoftCap.map { "\($0)" } ?? "-")"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-") \(criterion.allIgnored)"
      + " ignore \(criterion.ignoreIndex) scratch \(criterion.scratchLimit) bias \(bias != nil)"
      + " classWeights \(classWeights != nil) sampleWeights \(sampleWeights != nil)"
      + " upstream \(upstream != nil)"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = fusedType(using: &random)
    rows = Int.random(in: 0..<10, using: &random) == 0 ? 0 : Int.random(in: 1...9, using: &random)
    hiddenSize = [1, 2, 7, 16, 17, 33].randomElement(using: &random)!
    classes = [1, 2, 15, 16, 17, 33, 70].randomElement(using: &random)!
    // Values stay moderate more often than for a single loss: every logit sums D products.
    hidden = type.adversarialValues(
      rows * hiddenSize, scales: [0.1, 1, 10, 1e4, 1e30], using: &random)
    weight = type.adversarialValues(
      classes * hiddenSize, scales: [0.1, 1, 10], using: &random)
    if Bool.random(using: &random) {
      weight = weight.map { $0.isFinite && abs($0) < 1e6 ? $0 : 0.5 }
    }
    if Bool.random(using: &random) {
      bias = type.adversarialValues(classes, scales: [1, 10], using: &random)
    }
    let ignoreIndex = [-100, 0, classes - 1].randomElement(using: &random)!
    let ignoreShare = [0, 0.2, 1].randomElement(using: &random)!
    let classes = classes
    labels = (0..<rows).map { _ in
      Double.random(in: 0..<1, using: &random) < ignoreShare
        ? ignoreIndex : Int.random(in: 0..<classes, using: &random)
    }
    let reduction = Reduction.allCases.randomElement(using: &random)!
    criterion = LinearCrossEntropy(
      reduction: reduction, ignoreIndex: ignoreIndex,
      labelSmoothing: [0, 0, 0.1, 1].randomElement(using: &random)!,
      zLossScale: [0, 0, 1e-4].randomElement(using: &random)!,
      logitSoftCap: [nil, nil, 5, 30].randomElement(using: &random)!,
      normalizer: [nil, nil, 3.5].randomElement(using: &random)!,
      // A small scratch forces row chunks, or vocabulary blocks when one row does not fit.
      scratchLimit: [LinearCrossEntropy.defaultScratchLimit, 256, 64, 4]
        .randomElement(using: &random)!,
      allIgnored: AllIgnoredMean.allCases.randomElement(using: &random)!)
    let type = type
    if Bool.random(using: &random) {
      classWeights = (0..<classes).map { _ in
        type.rounded([0, 0.5, 1, 2, 1e-3].randomElement(using: &random)!)
      }
    }
    sampleWeights = type.sometimesSampleWeights(rows, using: &random)
    upstream = type.sometimesUpstream(reduction == .none ? rows : 1, using: &random)
  }

  /// The softmax criterion the head must equal on its logits.
  var softmax: SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: criterion.reduction, ignoreIndex: criterion.ignoreIndex,
      labelSmoothing: criterion.labelSmoothing, zLossScale: criterion.zLossScale,
      logitSoftCap: criterion.logitSoftCap, normalizer: criterion.normalizer,
      allIgnored: criterion.allIgnored)
  }

  var budget: FuzzBudget {
    let h = largestFinite(hidden)
    let w = largestFinite(weight) + 1
    let d = Double(hiddenSize)
    // Each logit carries about D roundings of products up to h * w.
    let logitError = 4 * d * type.epsilon * (h * w + largestFinite(bias ?? []))
    let cap = criterion.logitSoftCap ?? .infinity
    let m = min(h * w * d + largestFinite(bias ?? []), cap) + log(Double(classes)) + 1
    let weights = largestWeight(classWeights) * largestWeight(sampleWeights)
    let u = largestWeight(upstream)
    let smoothing = 1 + criterion.labelSmoothing * Double(classes)
    let z = 1 + 2 * criterion.zLossScale * m
    var scale = criterion.reduction == .sum ? Double(max(rows, 1)) : 1
    if criterion.reduction == .mean {
      var denominator = 0.0
      for (r, y) in labels.enumerated() where y != criterion.ignoreIndex {
        denominator += abs(sampleWeights?[r] ?? 1) * abs(classWeights?[y] ?? 1)
      }
      scale = max(Double(rows) / max(criterion.normalizer ?? 0, denominator, 1e-300), 1)
    }
    let slack = 64 * type.epsilon * Double(max(classes, 4))
    // d(loss)/d(logit) within g; the products with W and H add D or N terms of it.
    let g = (slack + logitError) * smoothing * weights * z * u * scale
    return FuzzBudget(
      loss: (slack * m + logitError) * smoothing * weights * z * scale,
      gradient: g * max(w, h) * Double(max(classes, rows, 1)) * 4,
      mayOverflow: (h * w * d + largestFinite(bias ?? [])) * Double(classes) * smoothing
        > type.greatest / 8
        // The gradient products: d(loss)/d(logit) up to the z-loss's 2 s lse, times H or W.
        || smoothing * weights * z * u * scale * max(w, h) * Double(max(classes, rows, 1))
          > type.greatest / 8
    )
  }

  func evaluate<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Outcome {
    if Scalar.self == Double.self { return reference() }
    let result = try criterion.lossAndGradient(
      hidden: array(hidden, [rows, hiddenSize], as: Scalar.self),
      weight: array(weight, [classes, hiddenSize], as: Scalar.self),
      bias: bias.map { try array($0, [classes], as: Scalar.self) },
      labels: ShapedArray(shape: [rows], scalars: labels),
      classWeights: classWeights?.map { Scalar($0) },
      sampleWeights: sampleWeights.map { try array($0, [rows], as: Scalar.self) },
      upstreamGradient: upstream.map {
        try array($0, criterion.reduction == .none ? [rows] : [], as: Scalar.self)
      })
    var gradients = [widened(result.hiddenGradient), widened(result.weightGradient)]
    if let b = result.biasGradient { gradients.append(widened(b)) }
    return Outcome(loss: widened(result.loss), gradients: gradients)
  }

  /// The logits materialised in Double, the softmax reference on them, and the chain rule.
  func reference() -> Outcome {
    let (n, d, v) = (rows, hiddenSize, classes)
    var logits = [Double](repeating: 0, count: n * v)
    for i in 0..<n {
      for c in 0..<v {
        var sum = 0.0
        for k in 0..<d { sum += hidden[i * d + k] * weight[c * d + k] }
        logits[i * v + c] = sum + (bias?[c] ?? 0)
      }
    }
    let (loss, g) = softmaxReference(
      logits: logits, layout: try! ClassLayout(shape: [n, v], classAxis: -1), labels: labels,
      classWeights: classWeights, sampleWeights: sampleWeights, upstream: upstream,
      criterion: softmax)
    var dHidden = [Double](repeating: 0, count: n * d)
    var dWeight = [Double](repeating: 0, count: v * d)
    var dBias = [Double](repeating: 0, count: v)
    for i in 0..<n {
      for c in 0..<v {
        let gic = g[i * v + c]
        for k in 0..<d {
          dHidden[i * d + k] += gic * weight[c * d + k]
          dWeight[c * d + k] += gic * hidden[i * d + k]
        }
        dBias[c] += gic
      }
    }
    return Outcome(loss: loss, gradients: [dHidden, dWeight] + (bias == nil ? [] : [dBias]))
  }
}

@Suite struct FusedLossFuzzTests {
  static let seconds = FuzzSettings.seconds / 6

  @Test func binaryCrossEntropyWithLogits() throws {
    try fuzz(BinaryCase.self, seconds: Self.seconds)
  }
  @Test func sigmoidFocalLoss() throws { try fuzz(SigmoidFocalCase.self, seconds: Self.seconds) }
  @Test func softmaxFocalLoss() throws { try fuzz(SoftmaxFocalCase.self, seconds: Self.seconds) }
  @Test func distillation() throws { try fuzz(DistillationCase.self, seconds: Self.seconds) }
  @Test func connectionistTemporalClassification() throws {
    try fuzz(CTCCase.self, seconds: Self.seconds)
  }
  @Test func linearCrossEntropyHead() throws {
    try fuzz(LinearHeadCase.self, seconds: Self.seconds)
  }
}
