import Foundation
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// A random CTC problem: scores, padded targets, lengths and options.
struct CTCRandomProblem {
  var shape: [Int]
  var scores: [Double]
  var targets: ShapedArray<Int>
  var inputLengths: [Int]
  var targetLengths: [Int]
  var criterion: ConnectionistTemporalClassification

  /// Log-softmax of the scores over the last axis.
  var logProbabilities: [Double] {
    let classes = shape.last!
    var result = scores
    for start in stride(from: 0, to: scores.count, by: classes) {
      let row = scores[start..<start + classes]
      let largest = row.max()!
      let logSum = largest + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - largest) })
      for c in 0..<classes { result[start + c] = scores[start + c] - logSum }
    }
    return result
  }

  /// A problem whose alignments all exist when `feasible` (input length >= 2L + 1).
  init(
    seed: UInt64, maxSteps: Int, maxBatch: Int, maxClasses: Int, maxTarget: Int,
    feasible: Bool = true
  ) {
    var generator = SeededGenerator(seed: seed)
    let classes = Int.random(in: 2...maxClasses, using: &generator)
    let batch = Int.random(in: 1...maxBatch, using: &generator)
    let blank = Int.random(in: 0..<classes, using: &generator)
    let columns = Int.random(in: 0...maxTarget, using: &generator)
    var steps = 1
    var lengths: [Int] = []
    var inputs: [Int] = []
    var labels: [Int] = []
    for _ in 0..<batch {
      let length = Int.random(in: 0...columns, using: &generator)
      lengths.append(length)
      for i in 0..<columns {
        // Mostly distinct neighbours, some repeats; never the blank.
        var label = Int.random(in: 0..<classes, using: &generator)
        if i > 0 && i < length && Int.random(in: 0..<4, using: &generator) == 0 {
          label = labels[labels.count - 1]
        }
        if label == blank { label = (blank + 1) % classes }
        labels.append(classes == 1 ? 0 : label)
      }
      let least = feasible ? 2 * length + 1 : 0
      let input = Int.random(in: least...max(least, maxSteps), using: &generator)
      inputs.append(input)
      steps = max(steps, input)
    }
    shape = [steps, batch, classes]
    scores = (0..<(steps * batch * classes)).map { _ in
      Double.random(in: -3...3, using: &generator)
    }
    targets = try! ShapedArray(shape: [batch, columns], scalars: labels)
    inputLengths = inputs
    targetLengths = lengths
    let reduction = Reduction.allCases.randomElement(using: &generator)!
    criterion = ConnectionistTemporalClassification(
      blank: blank, reduction: reduction, zeroInfinity: Bool.random(using: &generator))
  }
}

@Suite("CTC properties")
struct ConnectionistTemporalClassificationTests {
  /// The logits form's gradient is the true gradient: central differences in Double.
  @Test(arguments: 1...6)
  func logitGradientMatchesFiniteDifferences(seed: UInt64) throws {
    let problem = CTCRandomProblem(
      seed: seed, maxSteps: 7, maxBatch: 3, maxClasses: 5, maxTarget: 3)
    let x = try ShapedArray(shape: problem.shape, scalars: problem.scores)
    let ctc = problem.criterion
    func total(_ array: ShapedArray<Double>) throws -> Double {
      try ctc.loss(
        logits: array, labels: problem.targets, inputLengths: problem.inputLengths,
        labelLengths: problem.targetLengths
      ).scalars.reduce(0, +)
    }
    let gradient = try ctc.lossAndGradient(
      logits: x, labels: problem.targets, inputLengths: problem.inputLengths,
      labelLengths: problem.targetLengths
    ).gradient
    let h = 1e-5
    for index in x.scalars.indices {
      var plus = x.scalars
      var minus = x.scalars
      plus[index] += h
      minus[index] -= h
      let estimate =
        (try total(ShapedArray(shape: x.shape, scalars: plus))
          - total(ShapedArray(shape: x.shape, scalars: minus))) / (2 * h)
      #expect(
        abs(gradient.scalars[index] - estimate) <= 1e-7 + 1e-6 * abs(estimate),
        "seed \(seed), element \(index): \(gradient.scalars[index]) vs \(estimate)")
    }
  }

  /// PyTorch's log-probability gradient is exp(lp) * scale plus the true gradient with respect to
  /// the log-probabilities (which finite differences see).
  @Test(arguments: 1...6)
  func logProbabilityGradientIsPyTorchs(seed: UInt64) throws {
    var problem = CTCRandomProblem(
      seed: seed + 100, maxSteps: 7, maxBatch: 3, maxClasses: 5, maxTarget: 3)
    problem.criterion.reduction = .sum
    let x = try ShapedArray(shape: problem.shape, scalars: problem.logProbabilities)
    let ctc = problem.criterion
    func total(_ array: ShapedArray<Double>) throws -> Double {
      try ctc.loss(
        logProbabilities: array, labels: problem.targets, inputLengths: problem.inputLengths,
        labelLengths: problem.targetLengths
      ).scalar!
    }
    let gradient = try ctc.lossAndGradient(
      logProbabilities: x, labels: problem.targets, inputLengths: problem.inputLengths,
      labelLengths: problem.targetLengths
    ).gradient
    let (steps, batch, classes) = (x.shape[0], x.shape[1], x.shape[2])
    let h = 1e-5
    for index in x.scalars.indices {
      let (t, n) = ((index / classes) / batch, (index / classes) % batch)
      var plus = x.scalars
      var minus = x.scalars
      plus[index] += h
      minus[index] -= h
      let estimate =
        (try total(ShapedArray(shape: x.shape, scalars: plus))
          - total(ShapedArray(shape: x.shape, scalars: minus))) / (2 * h)
      let softmaxTerm = t < problem.inputLengths[n] ? Foundation.exp(x.scalars[index]) : 0
      let trueGradient = gradient.scalars[index] - softmaxTerm
      #expect(
        abs(trueGradient - estimate) <= 1e-7 + 1e-6 * abs(estimate),
        "seed \(seed), element \(index) (t \(t) of \(steps)): \(trueGradient) vs \(estimate)")
    }
  }

  /// The vectorised Float kernel against the Double reference on the same inputs. Tolerance: the
  /// Float recursion rounds as PyTorch's float32 does, at the size of the log-likelihood, which
  /// over up to 70 steps reaches ~1e-4 of the largest gradient element (the golden tests hold
  /// it to PyTorch's float32 results at 2e-5).
  @Test(arguments: 1...40)
  func floatKernelMatchesDoubleReference(seed: UInt64) throws {
    let problem = CTCRandomProblem(
      seed: seed + 1000, maxSteps: 70, maxBatch: 4, maxClasses: 40, maxTarget: 30,
      feasible: seed % 5 != 0)
    for fromLogits in [false, true] {
      let values = fromLogits ? problem.scores : problem.logProbabilities
      let narrow = try ShapedArray(shape: problem.shape, scalars: values.map { Float($0) })
      let wide = try ShapedArray(shape: problem.shape, scalars: narrow.scalars.map { Double($0) })
      let ctc = problem.criterion
      let (arguments, lengths) = (problem.inputLengths, problem.targetLengths)
      let float =
        fromLogits
        ? try ctc.lossAndGradient(
          logits: narrow, labels: problem.targets, inputLengths: arguments,
          labelLengths: lengths)
        : try ctc.lossAndGradient(
          logProbabilities: narrow, labels: problem.targets, inputLengths: arguments,
          labelLengths: lengths)
      let double =
        fromLogits
        ? try ctc.lossAndGradient(
          logits: wide, labels: problem.targets, inputLengths: arguments, labelLengths: lengths)
        : try ctc.lossAndGradient(
          logProbabilities: wide, labels: problem.targets, inputLengths: arguments,
          labelLengths: lengths)
      let context = "seed \(seed), logits \(fromLogits), \(problem.shape), \(ctc)"
      for (a, b) in zip(float.loss.scalars, double.loss.scalars) {
        let close =
          b.isNaN
          ? a.isNaN : (b.isInfinite ? Double(a) == b : abs(Double(a) - b) <= 2e-5 * max(1, abs(b)))
        #expect(close, "\(context): loss \(a) vs \(b)")
      }
      let scale = double.gradient.scalars.lazy.filter(\.isFinite).map(abs).max() ?? 0
      var mismatches = 0
      for (a, b) in zip(float.gradient.scalars, double.gradient.scalars) {
        let close = b.isNaN ? a.isNaN : abs(Double(a) - b) <= 5e-4 * scale + 5e-3 * abs(b)
        if !close { mismatches += 1 }
      }
      #expect(mismatches == 0, "\(context): \(mismatches) gradient elements differ")
    }
  }

  /// Each sample's result is the same alone as in a batch run on several threads, bit for bit.
  @Test func threadsDoNotChangeResults() throws {
    let (steps, batch, classes, length) = (60, 12, 9, 20)
    var generator = SeededGenerator(seed: 7)
    let scores = (0..<(steps * batch * classes)).map { _ in
      Float.random(in: -3...3, using: &generator)
    }
    let labels = (0..<(batch * length)).map { _ in Int.random(in: 1..<classes, using: &generator) }
    let inputLengths = (0..<batch).map { _ in Int.random(in: 41...steps, using: &generator) }
    let targetLengths = (0..<batch).map { _ in Int.random(in: 0...length, using: &generator) }
    let ctc = ConnectionistTemporalClassification(reduction: .none)
    let all = try ctc.lossAndGradient(
      logits: ShapedArray(shape: [steps, batch, classes], scalars: scores),
      labels: ShapedArray(shape: [batch, length], scalars: labels), inputLengths: inputLengths,
      labelLengths: targetLengths)
    for n in 0..<batch {
      var slice: [Float] = []
      for t in 0..<steps {
        slice += scores[(t * batch + n) * classes..<(t * batch + n + 1) * classes]
      }
      let alone = try ctc.lossAndGradient(
        logits: ShapedArray(shape: [steps, 1, classes], scalars: slice),
        labels: ShapedArray(
          shape: [1, length], scalars: Array(labels[n * length..<(n + 1) * length])),
        inputLengths: [inputLengths[n]], labelLengths: [targetLengths[n]])
      #expect(alone.loss.scalars[0] == all.loss.scalars[n], "sample \(n)")
      for t in 0..<steps {
        for c in 0..<classes {
          #expect(
            alone.gradient.scalars[t * classes + c]
              == all.gradient.scalars[(t * batch + n) * classes + c], "sample \(n), t \(t), c \(c)")
        }
      }
    }
  }

  /// One thread or several: the same bits.
  @Test func threadCountDoesNotChangeResults() throws {
    // The first seed from 77 on whose batch is large enough to be spread over threads.
    let problem = (77...).lazy.map {
      CTCRandomProblem(seed: $0, maxSteps: 80, maxBatch: 9, maxClasses: 12, maxTarget: 20)
    }.first { problem in
      let work = zip(problem.inputLengths, problem.targetLengths).map { $0 * (2 * $1 + 1) }
      return problem.shape[1] >= 4 && work.reduce(0, +) > 8192
    }!
    let input = try ShapedArray(shape: problem.shape, scalars: problem.scores.map { Float($0) })
    func run() throws -> (loss: ShapedArray<Float>, gradient: ShapedArray<Float>) {
      try problem.criterion.lossAndGradient(
        logits: input, labels: problem.targets, inputLengths: problem.inputLengths,
        labelLengths: problem.targetLengths)
    }
    let saved = Parallelism.maximumThreadCount
    defer { Parallelism.maximumThreadCount = saved }
    Parallelism.maximumThreadCount = 1
    let single = try run()
    Parallelism.maximumThreadCount = 3
    let several = try run()
    #expect(single.loss.scalars.map(\.bitPattern) == several.loss.scalars.map(\.bitPattern))
    #expect(
      single.gradient.scalars.map(\.bitPattern) == several.gradient.scalars.map(\.bitPattern))
  }

  /// Non-finite or huge log-probabilities on the path take the reference path, so Float gives
  /// what Double (and PyTorch) give.
  @Test(arguments: [Float.nan, .infinity, -.infinity, -1e30, 1e30])
  func nonFiniteLogProbabilitiesMatchTheReference(value: Float) throws {
    var generator = SeededGenerator(seed: 11)
    let (steps, classes) = (8, 5)
    var scores = (0..<(steps * classes)).map { _ in Float.random(in: -3 ... -0.1, using: &generator)
    }
    scores[3 * classes + 2] = value  // on the path of label 2
    let narrow = try ShapedArray(shape: [steps, classes], scalars: scores)
    let wide = try ShapedArray(shape: [steps, classes], scalars: scores.map { Double($0) })
    let targets = ShapedArray<Int>([1, 2, 2])
    let ctc = ConnectionistTemporalClassification(reduction: .sum)
    let float = try ctc.lossAndGradient(
      logProbabilities: narrow, labels: targets, inputLengths: [steps], labelLengths: [3])
    let double = try ctc.lossAndGradient(
      logProbabilities: wide, labels: targets, inputLengths: [steps], labelLengths: [3])
    let (a, b) = (Double(float.loss.scalar!), double.loss.scalar!)
    #expect(a.isNaN == b.isNaN && (b.isNaN || Float(b) == Float(a) || abs(a - b) <= 1e-5 * abs(b)))
    for (x, y) in zip(float.gradient.scalars, double.gradient.scalars) {
      #expect(x.isNaN == y.isNaN, "\(value): gradient \(x) vs \(y)")
    }
  }

  /// Unbatched input gives a 0-dimensional `.none` loss and the batched sample's numbers.
  @Test func unbatchedMatchesABatchOfOne() throws {
    let scores: [Double] = (0..<24).map { Double($0 % 7) * 0.3 - 1 }
    let ctc = ConnectionistTemporalClassification(reduction: .none)
    let unbatched = try ctc.lossAndGradient(
      logits: ShapedArray(shape: [6, 4], scalars: scores), labels: ShapedArray([1, 3]),
      inputLengths: [5], labelLengths: [2])
    let batched = try ctc.lossAndGradient(
      logits: ShapedArray(shape: [6, 1, 4], scalars: scores),
      labels: ShapedArray(shape: [1, 2], scalars: [1, 3]), inputLengths: [5], labelLengths: [2])
    #expect(unbatched.loss.shape == [])
    #expect(unbatched.gradient.shape == [6, 4])
    #expect(unbatched.loss.scalars == batched.loss.scalars)
    #expect(unbatched.gradient.scalars == batched.gradient.scalars)
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// Float16 runs through Double and rounds once.
    @Test func float16RoundsTheDoubleResult() throws {
      let scores: [Double] = (0..<30).map { Double($0 % 5) * 0.4 - 1 }
      let ctc = ConnectionistTemporalClassification()
      let half = try ctc.lossAndGradient(
        logits: ShapedArray(shape: [6, 5], scalars: scores.map { Float16($0) }),
        labels: ShapedArray([1, 4]), inputLengths: [6], labelLengths: [2])
      let double = try ctc.lossAndGradient(
        logits: ShapedArray(shape: [6, 5], scalars: scores.map { Double(Float16($0)) }),
        labels: ShapedArray([1, 4]), inputLengths: [6], labelLengths: [2])
      #expect(half.loss.scalar! == Float16(double.loss.scalar!))
      #expect(half.gradient.scalars == double.gradient.scalars.map { Float16($0) })
    }
  #endif
}

@Suite("CTC errors")
struct ConnectionistTemporalClassificationErrorTests {
  let input = try! ShapedArray<Float>(
    shape: [6, 2, 5], scalars: [Float](repeating: -1.6094379, count: 60))
  let padded = try! ShapedArray<Int>(shape: [2, 3], scalars: [1, 2, 2, 3, 1, 0])

  private func message(
    _ ctc: ConnectionistTemporalClassification = .init(),
    input: ShapedArray<Float>? = nil, targets: ShapedArray<Int>? = nil,
    inputLengths: [Int] = [6, 5], targetLengths: [Int] = [3, 2], logits: Bool = false
  ) -> String? {
    do {
      if logits {
        _ = try ctc.lossAndGradient(
          logits: input ?? self.input, labels: targets ?? padded, inputLengths: inputLengths,
          labelLengths: targetLengths)
      } else {
        _ = try ctc.loss(
          logProbabilities: input ?? self.input, labels: targets ?? padded,
          inputLengths: inputLengths, labelLengths: targetLengths)
      }
      return nil
    } catch {
      return error.message
    }
  }

  @Test func validArgumentsDoNotThrow() {
    #expect(message() == nil)
    #expect(message(targets: ShapedArray([1, 2, 2, 3, 1])) == nil)
  }

  @Test func rank() throws {
    #expect(
      message(input: try ShapedArray(shape: [60], scalars: input.scalars))
        == "log probabilities must have shape (T, N, C) or (T, C), got [60]")
    #expect(
      message(input: try ShapedArray(shape: [60], scalars: input.scalars), logits: true)
        == "logits must have shape (T, N, C) or (T, C), got [60]")
  }

  @Test func empty() throws {
    #expect(
      message(input: try ShapedArray(shape: [0, 2, 5], scalars: []))
        == "log probabilities of shape [0, 2, 5] are empty; expected T, N and C of at least 1")
  }

  @Test func blank() {
    #expect(
      message(ConnectionistTemporalClassification(blank: 5))
        == "blank 5 is outside 0..<5, the classes of log probabilities [6, 2, 5]")
    #expect(
      message(ConnectionistTemporalClassification(blank: -1))
        == "blank -1 is outside 0..<5, the classes of log probabilities [6, 2, 5]")
  }

  @Test func lengthCounts() throws {
    #expect(
      message(inputLengths: [6, 5, 4])
        == "input lengths hold 3 values; expected the batch size 2 of log probabilities [6, 2, 5]")
    #expect(
      message(targetLengths: [3])
        == "label lengths hold 1 values; expected the batch size 2 of log probabilities [6, 2, 5]")
    let unbatched = try ShapedArray(shape: [6, 5], scalars: Array(input.scalars[0..<30]))
    #expect(
      message(input: unbatched, targets: ShapedArray([1, 2]), inputLengths: [6, 6])
        == "input lengths hold 2 values; expected 1 (unbatched)")
  }

  @Test func negativeAndExcessiveLengths() {
    #expect(
      message(targetLengths: [3, -1]) == "label length -1 at position [1] is negative")
    #expect(message(inputLengths: [-2, 5]) == "input length -2 at position [0] is negative")
    #expect(
      message(inputLengths: [6, 7])
        == "input length 7 at position [1] exceeds the 6 time steps of log probabilities [6, 2, 5]"
    )
  }

  @Test func targetShapes() throws {
    #expect(
      message(targets: ShapedArray([1, 2, 2, 3]))
        == "concatenated labels hold 4 labels but the label lengths add up to 5")
    #expect(
      message(targets: try ShapedArray(shape: [1, 3], scalars: [1, 2, 2]))
        == "padded labels [1, 3] have a first extent of 1; expected the batch size 2 of log"
        + " probabilities [6, 2, 5]")
    #expect(
      message(targetLengths: [4, 2])
        == "label length 4 at position [0] exceeds the 3 columns of padded labels [2, 3]")
    #expect(
      message(targets: try ShapedArray(shape: [2, 3, 1], scalars: padded.scalars))
        == "labels must be padded (N, S) or concatenated (sum of label lengths), got shape"
        + " [2, 3, 1]")
  }

  @Test func labelsOutOfRange() throws {
    #expect(
      message(targets: try ShapedArray(shape: [2, 3], scalars: [1, 7, 2, 3, 1, 0]))
        == "label 7 at position [0, 1] is outside 0..<5")
    #expect(
      message(targets: ShapedArray([1, 2, 2, -1, 1]))
        == "label -1 at position [3] is outside 0..<5")
    // Padding after a target length is never read, so it may hold anything.
    #expect(message(targets: try ShapedArray(shape: [2, 3], scalars: [1, 2, 2, 3, 1, 99])) == nil)
  }
}
