import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// A differential fuzzer of the public softmax cross-entropy API (labels and probability
// targets, every option, Float, Double, Float16 and bfloat16) and of NLL and the softmax focal
// loss, against the `Reference` kernels in Double on the same values.
//
// Each case draws a shape (empty dimensions and class counts past a vector width included), a
// class axis, options, and adversarial values: huge and tiny logits, ±inf, NaN, subnormals,
// signed zeros, labels at the range edges and the ignore index. A result must have the
// reference's NaN and infinities exactly, and otherwise agree within a tolerance scaled by the
// size of what was summed (see `Budget`).
//
// `swift test` runs it for XENT_FUZZ_SECONDS seconds (default 5) from XENT_FUZZ_SEED (default
// 1); `Scripts/fuzz_losses.sh` runs it longer. A failure names the seed of its case, which
// replays it with XENT_FUZZ_SEED and XENT_FUZZ_CASES=1.

/// The fuzzer's settings, from the environment.
enum FuzzSettings {
  static let environment = ProcessInfo.processInfo.environment
  static let seconds = environment["XENT_FUZZ_SECONDS"].flatMap(Double.init) ?? 5
  static let firstSeed = environment["XENT_FUZZ_SEED"].flatMap(UInt64.init) ?? 1
  static let maximumCases = environment["XENT_FUZZ_CASES"].flatMap(Int.init) ?? Int.max
}

/// Which element type a case runs in.
enum FuzzType: CaseIterable {
  case float, double, float16, bfloat16

  /// The unit roundoff of the type's results, and its largest finite value.
  var epsilon: Double {
    switch self {
    case .float: Double(Float.ulpOfOne)
    case .double: Double.ulpOfOne
    case .float16: 0x1p-10
    case .bfloat16: 0x1p-7
    }
  }
  var greatest: Double {
    switch self {
    case .float, .bfloat16: Double(Float.greatestFiniteMagnitude)
    case .double: .greatestFiniteMagnitude
    case .float16: 65504
    }
  }
  /// `x` rounded to this type (bfloat16 by truncation-free rounding to 8 bits of mantissa).
  func rounded(_ x: Double) -> Double {
    switch self {
    case .float: Double(Float(x))
    case .double: x
    case .float16: Double(float16(x))
    case .bfloat16: Double(BFloat16Storage.float(BFloat16Storage.stored(Float(x))))
    }
  }
  private func float16(_ x: Double) -> Double {
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      return Double(Float16(Float(x)))
    #else
      return Double(Float(x))
    #endif
  }
}

extension FuzzType {
  /// `count` values in this type: a scale per call (one of `scales`), uniform in
  /// [-scale, scale], with a random share (up to 30%) replaced by specials: ±inf, NaN, ±0,
  /// subnormals, tiny values and a quarter of the type's largest value.
  func adversarialValues(
    _ count: Int, scales: [Double] = [1, 10, 1e4, 1e30], using random: inout SeededGenerator
  ) -> [Double] {
    let scale = scales.randomElement(using: &random)!
    let special = Double.random(in: 0..<0.3, using: &random)
    let specials: [Double] = [
      .infinity, -.infinity, .nan, 0, -0.0, Double(Float.leastNonzeroMagnitude) * 3,
      -Double(Float.leastNormalMagnitude) / 2, 1e-30, greatest / 4, -greatest / 4,
    ]
    return (0..<count).map { _ in
      let x =
        Double.random(in: 0..<1, using: &random) < special
        ? specials.randomElement(using: &random)!
        : Double.random(in: -1...1, using: &random) * scale
      return rounded(x.isFinite ? min(max(x, -greatest), greatest) : x)
    }
  }
}

extension FuzzType {
  /// One time in three, `count` sample weights in this type (0, 1, 2.5, -1 or 0.25 each);
  /// else nil.
  func sometimesSampleWeights(_ count: Int, using random: inout SeededGenerator) -> [Double]? {
    guard Int.random(in: 0..<3, using: &random) == 0 else { return nil }
    return (0..<count).map { _ in
      rounded([0, 1, 2.5, -1, 0.25].randomElement(using: &random)!)
    }
  }

  /// One time in three, `count` upstream gradient values in this type (1, -2, 0.5, 0 or 1e3
  /// each); else nil.
  func sometimesUpstream(_ count: Int, using random: inout SeededGenerator) -> [Double]? {
    guard Int.random(in: 0..<3, using: &random) == 0 else { return nil }
    return (0..<count).map { _ in rounded([1, -2, 0.5, 0, 1e3].randomElement(using: &random)!) }
  }
}

/// One random problem.
private struct FuzzCase: CustomStringConvertible {
  var seed: UInt64
  var type: FuzzType
  var shape: [Int]
  var classAxis: Int
  var logits: [Double]
  var labels: [Int]
  var probabilities: [Double]?
  var classWeights: [Double]?
  var sampleWeights: [Double]?
  var upstream: [Double]?
  var criterion: SoftmaxCrossEntropy

  var layout: ClassLayout { try! ClassLayout(shape: shape, classAxis: classAxis) }

  var description: String {
    "seed \(seed) \(type) shape \(shape) axis \(classAxis) \(criterion.reduction)"
      + " smoothing \(criterion.labelSmoothing) z \(criterion.zLossScale)"
      + " cap \(criterion.logitSoftCap.map { "\($0)" } ?? "-")"
      + " normalizer \(criterion.normalizer.map { "\($0)" } ?? "-") \(criterion.allIgnored)"
      + " ignore \(criterion.ignoreIndex) probabilities \(probabilities != nil)"
      + " classWeights \(classWeights != nil) sampleWeights \(sampleWeights != nil)"
      + " upstream \(upstream != nil)"
  }

  init(seed: UInt64) {
    self.seed = seed
    var random = SeededGenerator(scrambledSeed: seed)
    type = FuzzType.allCases.randomElement(using: &random)!
    let rank = Int.random(in: 1...4, using: &random)
    shape = (0..<rank).map { _ in
      Int.random(in: 0..<10, using: &random) == 0 ? 0 : Int.random(in: 1...4, using: &random)
    }
    let axis = Int.random(in: 0..<rank, using: &random)
    shape[axis] =
      Bool.random(using: &random)
      ? [1, 2, 15, 16, 17, 33, 70].randomElement(using: &random)! : max(shape[axis], 1)
    if type == .bfloat16 {  // the bfloat16 API takes the classes last
      shape.swapAt(axis, rank - 1)
      classAxis = -1
    } else {
      classAxis = Bool.random(using: &random) ? axis : axis - rank
    }
    let layout = try! ClassLayout(shape: shape, classAxis: classAxis)
    let classes = layout.classes
    let type = type
    logits = type.adversarialValues(shape.reduce(1, *), using: &random)
    let ignoreIndex = [-100, -1, 0, classes - 1].randomElement(using: &random)!
    let ignoreShare = [0, 0.2, 1].randomElement(using: &random)!
    labels = (0..<layout.rows).map { _ in
      if Double.random(in: 0..<1, using: &random) < ignoreShare { return ignoreIndex }
      return [0, classes - 1, Int.random(in: 0..<max(classes, 1), using: &random)]
        .randomElement(using: &random)!
    }
    let reduction = Reduction.allCases.randomElement(using: &random)!
    var criterion = SoftmaxCrossEntropy(
      reduction: reduction, classAxis: classAxis, ignoreIndex: ignoreIndex,
      labelSmoothing: [0, 0, 0.1, 1].randomElement(using: &random)!,
      zLossScale: [0, 0, 1e-4].randomElement(using: &random)!,
      logitSoftCap: [nil, nil, 5, 30].randomElement(using: &random)!,
      normalizer: [nil, nil, 3.5].randomElement(using: &random)!,
      allIgnored: AllIgnoredMean.allCases.randomElement(using: &random)!)
    if type != .bfloat16, Int.random(in: 0..<4, using: &random) == 0 {
      // Probability targets: every row counts, no ignore index.
      criterion.ignoreIndex = -100
      var targets = (0..<logits.count).map { _ in
        Bool.random(using: &random) ? 0 : Double.random(in: 0...1, using: &random)
      }
      for r in 0..<layout.rows {
        let base = layout.base(ofRow: r)
        let total = (0..<classes).reduce(0.0) { $0 + targets[base + $1 * layout.inner] }
        for c in 0..<classes {
          targets[base + c * layout.inner] = type.rounded(
            total > 0 ? targets[base + c * layout.inner] / total : 1 / Double(classes))
        }
      }
      probabilities = targets
    }
    self.criterion = criterion
    let weightChoices: [Double] = [0, 0.5, 1, 2, 1e-3]
    if Bool.random(using: &random) {
      classWeights = (0..<classes).map { _ in
        type.rounded(weightChoices.randomElement(using: &random)!)
      }
    }
    if type != .bfloat16 && type != .float16 {
      sampleWeights = type.sometimesSampleWeights(layout.rows, using: &random)
      upstream = type.sometimesUpstream(reduction == .none ? layout.rows : 1, using: &random)
    }
  }
}

/// How much rounding a result may carry: `epsilon` times a bound on the magnitude of what was
/// summed to get it, with a constant that covers the length of the sums.
private struct Budget {
  var loss: Double
  var gradient: Double
  /// Whether the fp32 sums over a row may overflow (logits within a factor of the class count
  /// of the type's largest value): an infinite or NaN loss is then accepted where the Double
  /// reference stays finite, as PyTorch's fp32 result overflows there too.
  var mayOverflow: Bool

  init(_ c: FuzzCase) {
    let layout = c.layout
    let cap = c.criterion.logitSoftCap ?? .infinity
    let finite = c.logits.filter(\.isFinite).map(abs)
    let m = min(finite.max() ?? 0, cap) + log(Double(max(layout.classes, 1))) + 1
    let classWeight = c.classWeights.map { $0.map(abs).max() ?? 1 } ?? 1
    let sampleWeight = c.sampleWeights.map { $0.map(abs).max() ?? 1 } ?? 1
    let upstream = c.upstream.map { $0.map(abs).max() ?? 1 } ?? 1
    let smoothing = c.criterion.labelSmoothing * Double(layout.classes)
    let z = c.criterion.zLossScale
    let perRow = (1 + smoothing) * max(classWeight, 1) * m + z * m * m
    var rows = 1.0
    if c.criterion.reduction != .none {
      rows = Double(layout.rows)
      if c.criterion.reduction == .mean {
        rows /= max(c.criterion.normalizer ?? 0, Self.denominator(c), 1e-300)
      }
    }
    mayOverflow =
      c.type != .double
      && (finite.max() ?? 0) * (1 + smoothing) * Double(layout.classes) > c.type.greatest / 8
    let slack = 64 * c.type.epsilon * Double(max(layout.classes, 4))
    loss = slack * perRow * sampleWeight * rows
    let gradientScale = c.criterion.reduction == .mean ? rows / max(Double(layout.rows), 1) : 1
    gradient =
      slack * (1 + smoothing) * max(classWeight, 1) * (1 + 2 * z * m) * sampleWeight * upstream
      * gradientScale
  }

  /// Whether the case's `.mean` divides by 0: weights that add up to 0 (for the cross-entropy
  /// or the z-loss term), without `.zero`.
  static func dividesByZero(_ c: FuzzCase) -> Bool {
    guard c.criterion.reduction == .mean, c.criterion.normalizer == nil,
      c.criterion.allIgnored == .nan
    else { return false }
    let layout = c.layout
    var total = 0.0
    var zTotal = 0.0  // the z-loss term's denominator: the sample weights alone
    for r in 0..<layout.rows {
      let s = c.sampleWeights?[r] ?? 1
      if c.probabilities != nil {
        total += s
        zTotal += s
      } else if c.labels[r] != c.criterion.ignoreIndex {
        total += s * (c.classWeights?[c.labels[r]] ?? 1)
        zTotal += s
      }
    }
    return total == 0 || (c.criterion.zLossScale != 0 && zTotal == 0)
  }

  /// The smallest nonzero denominator a `.mean` of the case could have (its weighted count).
  static func denominator(_ c: FuzzCase) -> Double {
    let layout = c.layout
    var total = 0.0
    for r in 0..<layout.rows {
      let s = abs(c.sampleWeights?[r] ?? 1)
      if c.probabilities != nil {
        total += s
      } else if c.labels[r] != c.criterion.ignoreIndex {
        total += s * abs(c.classWeights?[c.labels[r]] ?? 1)
      }
    }
    return total == 0 ? 1 : total
  }
}

/// The reference in Double, with the problem as the dispatch builds it.
private func reference(_ c: FuzzCase) throws -> (loss: [Double], gradient: [Double]) {
  softmaxReference(
    logits: c.logits, layout: c.layout, labels: c.labels, probabilities: c.probabilities,
    classWeights: c.classWeights, sampleWeights: c.sampleWeights, upstream: c.upstream,
    criterion: c.criterion)
}

/// `Reference.softmaxCrossEntropy` in Double on `logits`, with the problem as the dispatch
/// builds it from `criterion` (its reduction, ignore index, smoothing, z-loss, soft cap,
/// normaliser and `allIgnored`).
func softmaxReference(
  logits: [Double], layout: ClassLayout, labels: [Int], probabilities: [Double]? = nil,
  classWeights: [Double]?, sampleWeights: [Double]?, upstream: [Double]?,
  criterion: SoftmaxCrossEntropy
) -> (loss: [Double], gradient: [Double]) {
  var loss = [Double](repeating: .nan, count: criterion.reduction == .none ? layout.rows : 1)
  var gradient = [Double](repeating: .nan, count: logits.count)
  logits.withUnsafeBufferPointer { x in
    labels.withUnsafeBufferPointer { y in
      withOptionalBuffer(probabilities) { t in
        withOptionalBuffer(classWeights) { w in
          withOptionalBuffer(sampleWeights) { s in
            withOptionalBuffer(upstream) { u in
              loss.withUnsafeMutableBufferPointer { l in
                gradient.withUnsafeMutableBufferPointer { g in
                  RowScales.with(sampleWeights: s, upstreamGradient: u, rows: layout.rows) {
                    rowScales in
                    let target: SoftmaxTarget<Double> = t.map { .probabilities($0) } ?? .labels(y)
                    let problem = SoftmaxProblem(
                      layout: layout, ignoreIndex: criterion.ignoreIndex,
                      labelSmoothing: criterion.labelSmoothing, reduction: criterion.reduction,
                      zLossScale: criterion.zLossScale, logitSoftCap: criterion.logitSoftCap,
                      denominators: criterion.normalizer.map(MeanDenominators.init(normalizer:)),
                      rowScales: rowScales, allIgnored: criterion.allIgnored
                    )
                    .weighingRows(target: target, classWeights: w)
                    .resolvingEmptyMean(target: target, classWeights: w)
                    Reference.softmaxCrossEntropy(
                      logits: x.baseAddress ?? UnsafePointer(bitPattern: 8)!, target: target,
                      classWeights: w, problem: problem, loss: l,
                      gradient: g.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!)
                  }
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

/// The public API in the case's type, results widened to Double.
private func library(_ c: FuzzCase) throws -> (loss: [Double], gradient: [Double]) {
  func run<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> (
    loss: [Double], gradient: [Double]
  ) {
    let logits = try ShapedArray(shape: c.shape, scalars: c.logits.map { Scalar($0) })
    var labelShape = c.shape
    labelShape.remove(at: c.classAxis < 0 ? c.classAxis + c.shape.count : c.classAxis)
    let sampleWeights = try c.sampleWeights.map {
      try ShapedArray(shape: labelShape, scalars: $0.map { Scalar($0) })
    }
    let upstream = try c.upstream.map {
      try ShapedArray(
        shape: c.criterion.reduction == .none ? labelShape : [], scalars: $0.map { Scalar($0) })
    }
    let weights = c.classWeights?.map { Scalar($0) }
    let result: (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>)
    if let probabilities = c.probabilities {
      result = try c.criterion.lossAndGradient(
        logits: logits,
        targets: ShapedArray(shape: c.shape, scalars: probabilities.map { Scalar($0) }),
        classWeights: weights, sampleWeights: sampleWeights, upstreamGradient: upstream)
    } else {
      result = try c.criterion.lossAndGradient(
        logits: logits, labels: ShapedArray(shape: labelShape, scalars: c.labels),
        classWeights: weights, sampleWeights: sampleWeights, upstreamGradient: upstream)
    }
    return (result.loss.scalars.map { Double($0) }, result.gradient.scalars.map { Double($0) })
  }
  switch c.type {
  case .float: return try run(Float.self)
  case .double: return try run(Double.self)
  case .float16:
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      return try run(Float16.self)
    #else
      return try run(Float.self)
    #endif
  case .bfloat16:
    let bits = c.logits.map { BFloat16Storage.stored(Float($0)) }
    var loss = [Float](repeating: .nan, count: c.criterion.reduction == .none ? c.labels.count : 1)
    var gradient = [UInt16](repeating: 0, count: bits.count)
    let weights = c.classWeights?.map { Float($0) }
    try bits.withUnsafeBufferPointer { x in
      try c.labels.withUnsafeBufferPointer { y in
        try withOptionalBuffer(weights) { w in
          try loss.withUnsafeMutableBufferPointer { l in
            try gradient.withUnsafeMutableBufferPointer { g in
              try c.criterion.lossAndGradient(
                bfloat16Logits: x, shape: c.shape, labels: y, classWeights: w, loss: l,
                gradient: g)
            }
          }
        }
      }
    }
    return (loss.map { Double($0) }, gradient.map { Double(BFloat16Storage.float($0)) })
  }
}

/// The first element where `actual` and `expected` (rounded to the case's type) disagree:
/// a different NaN or infinity, or a finite difference beyond `epsilon * (|expected| + budget)`.
func disagreement(
  _ actual: [Double], _ expected: [Double], type: FuzzType, budget: Double,
  mayOverflow: Bool = false, dividesByZero: Bool = false
) -> String? {
  guard actual.count == expected.count else {
    return "\(actual.count) values, expected \(expected.count)"
  }
  for (i, (a, e)) in zip(actual, expected).enumerated() {
    let r = type.rounded(e)
    // An overflowing fp32 sum times a sample weight of 0 is NaN, as in PyTorch's fp32.
    if mayOverflow && !a.isFinite { continue }
    // A mean over weights that add up to 0 (with `.nan`): the gradient is x / 0, where the
    // order of operations decides between an infinity and NaN.
    if dividesByZero && !a.isFinite && !e.isFinite { continue }
    if r.isNaN || a.isNaN {
      if r.isNaN != a.isNaN { return "[\(i)] \(a), expected \(e)" }
      continue
    }
    if r.isInfinite || a.isInfinite {
      // At the edge of the type's range, rounding may land on either side.
      let edge = (abs(e) > type.greatest / 2 || mayOverflow) && a.sign == r.sign
      if a != r && !edge { return "[\(i)] \(a), expected \(e)" }
      continue
    }
    let tolerance = 8 * type.epsilon * abs(e) + budget
    if abs(a - e) > tolerance { return "[\(i)] \(a), expected \(e) (tolerance \(tolerance))" }
  }
  return nil
}

@Suite struct DifferentialFuzzTests {
  @Test func softmaxCrossEntropyAgreesWithTheReference() throws {
    let start = Date()
    var cases = 0
    var seed = FuzzSettings.firstSeed
    var failures: [String] = []
    while cases < FuzzSettings.maximumCases,
      Date().timeIntervalSince(start) < FuzzSettings.seconds, failures.count < 5
    {
      let c = FuzzCase(seed: seed)
      seed += 1
      cases += 1
      let expected = try reference(c)
      let actual = try library(c)
      let budget = Budget(c)
      if let problem = disagreement(
        actual.loss, expected.loss, type: c.type, budget: budget.loss,
        mayOverflow: budget.mayOverflow)
      {
        failures.append("\(c): loss \(problem)")
      } else if let problem = disagreement(
        actual.gradient, expected.gradient, type: c.type, budget: budget.gradient,
        dividesByZero: Budget.dividesByZero(c))
      {
        failures.append("\(c): gradient \(problem)")
      }
    }
    for failure in failures { Issue.record(Comment(rawValue: failure)) }
    if FuzzSettings.environment["XENT_FUZZ_VERBOSE"] != nil, !failures.isEmpty {
      let c = FuzzCase(seed: FuzzSettings.firstSeed)
      print(
        "logits \(c.logits)\nlabels \(c.labels)\nweights \(c.classWeights ?? []) samples \(c.sampleWeights ?? []) zero \(Budget.dividesByZero(c))"
      )
      print("expected \(try reference(c))\nactual \(try library(c))")
    }
    #expect(cases > 0)
    print("differential fuzzer: \(cases) cases from seed \(FuzzSettings.firstSeed)")
  }
}
