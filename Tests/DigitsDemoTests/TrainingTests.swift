import CrossEntropy
import DemoSupport
import Testing
import _CrossEntropyTestSupport

@testable import DigitsDemo

@Suite struct TrainingTests {
  static let data: PreparedDigits = PreparedDigits(dataset: try! DigitsDataset.bundled())

  static func smallOptions(seed: UInt64 = 1, smoothing: Double = 0) -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = 3
    options.hiddenUnits = 16
    options.learningRate = 0.003
    options.batchSize = 64
    options.labelSmoothing = smoothing
    options.seed = seed
    return options
  }

  @Test(arguments: [0.0, 0.1])
  func trainingLowersTheLoss(smoothing: Double) throws {
    var events = 0
    let run = try trainClassifier(
      on: Self.data, options: Self.smallOptions(smoothing: smoothing)
    ) { _ in events += 1 }
    let losses = run.epochs.map(\.trainingLoss)
    #expect(losses.count == 3)
    #expect(losses[1] < losses[0] && losses[2] < losses[1], "losses \(losses)")
    // Chance is 10%; three short epochs of a tiny network already do far better.
    #expect(run.test.accuracy > 0.6)
    #expect(run.test.nll < 1)
    // 1438 samples in batches of 64: 23 batches and one epoch event per epoch.
    #expect(events == 3 * (23 + 1))
  }

  @Test func aSeedGivesTheSameRun() throws {
    let first = try trainClassifier(on: Self.data, options: Self.smallOptions(seed: 9))
    let second = try trainClassifier(on: Self.data, options: Self.smallOptions(seed: 9))
    let other = try trainClassifier(on: Self.data, options: Self.smallOptions(seed: 10))
    #expect(first.model.parameters == second.model.parameters)
    #expect(first.epochs == second.epochs)
    #expect(first.test == second.test)
    #expect(first.model.parameters != other.model.parameters)
  }

  @Test func invalidOptionsAreNamed() {
    var options = Self.smallOptions()
    options.labelSmoothing = 1.5
    #expect(throws: DemoError("label smoothing 1.5 is outside [0, 1]")) {
      try trainClassifier(on: Self.data, options: options)
    }
    options = Self.smallOptions()
    options.epochs = 0
    #expect(throws: DemoError("epochs 0 is not at least 1")) {
      try trainClassifier(on: Self.data, options: options)
    }
    options = Self.smallOptions()
    options.learningRate = -1
    #expect(throws: DemoError("learning rate -1.0 is not a positive finite number")) {
      try trainClassifier(on: Self.data, options: options)
    }
  }

  /// The backward pass against central differences of the library's loss, in Float with a
  /// step and tolerance to match.
  @Test func backwardMatchesFiniteDifferences() throws {
    var generator = SplitMix64(seed: 21)
    var model = MultilayerPerceptron(
      inputCount: 5, hiddenCount: 6, outputCount: 3, generator: &generator)
    let rows = 4
    let inputs = (0..<(rows * 5)).map { _ in Float(generator.nextGaussian()) }
    let labels = [0, 2, 1, 2]
    let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)
    func loss(_ model: MultilayerPerceptron) throws -> Double {
      let logits = model.logits(inputs, rows: rows)
      let value = try criterion.loss(
        logits: ShapedArray(shape: [rows, 3], scalars: logits.map(Double.init)),
        labels: ShapedArray(shape: [rows], scalars: labels))
      return value.scalars[0]
    }
    var hidden = [Float](repeating: 0, count: rows * 6)
    var logits = [Float](repeating: 0, count: rows * 3)
    var hiddenGradient = [Float](repeating: 0, count: rows * 6)
    var gradient = [Float](repeating: 0, count: model.parameterCount)
    inputs.withUnsafeBufferPointer { input in
      model.forward(input.baseAddress!, rows: rows, hidden: &hidden, logits: &logits)
    }
    let logitGradient = try criterion.lossAndGradient(
      logits: ShapedArray(shape: [rows, 3], scalars: logits),
      labels: ShapedArray(shape: [rows], scalars: labels)
    ).gradient.scalars
    inputs.withUnsafeBufferPointer { input in
      model.backward(
        input.baseAddress!, rows: rows, hidden: hidden, logitGradient: logitGradient,
        hiddenGradient: &hiddenGradient, into: &gradient)
    }
    let step: Float = 1e-2
    // Hidden pre-activations, computed here by hand: a difference that moves one across 0
    // crosses the ReLU's kink, where finite differences mean nothing.
    var preActivation = [[Float]](repeating: [Float](repeating: 0, count: 6), count: rows)
    for row in 0..<rows {
      for unit in 0..<6 {
        var sum = model.parameters[30 + unit]
        for input in 0..<5 {
          sum += inputs[row * 5 + input] * model.parameters[input * 6 + unit]
        }
        preActivation[row][unit] = sum
      }
    }
    func crossesKink(_ index: Int) -> Bool {
      guard index < 36 else { return false }  // W2 and b2 leave the hidden layer alone
      let unit = index < 30 ? index % 6 : index - 30
      return (0..<rows).contains { row in
        let shift = index < 30 ? step * abs(inputs[row * 5 + index / 6]) : step
        return abs(preActivation[row][unit]) <= shift
      }
    }
    var checked = 0
    for index in 0..<model.parameterCount where !crossesKink(index) {
      checked += 1
      let saved = model.parameters[index]
      model.parameters[index] = saved + step
      let up = try loss(model)
      model.parameters[index] = saved - step
      let down = try loss(model)
      model.parameters[index] = saved
      let numeric = (up - down) / Double(2 * step)
      #expect(
        agrees(Double(gradient[index]), numeric, relative: 2e-2, absolute: 2e-3),
        "parameter \(index): analytic \(gradient[index]), numeric \(numeric)")
    }
    #expect(checked > model.parameterCount * 3 / 4)
  }

  @Test func heInitialisationHasTheRightScale() {
    var generator = SplitMix64(seed: 2)
    let model = MultilayerPerceptron(
      inputCount: 64, hiddenCount: 256, outputCount: 10, generator: &generator)
    let first = model.parameters[0..<(64 * 256)].map(Double.init)
    let variance = first.map { $0 * $0 }.reduce(0, +) / Double(first.count)
    #expect(abs(variance - 2.0 / 64) < 0.1 * 2.0 / 64)
    let biases = model.parameters[(64 * 256)..<(64 * 256 + 256)]
    #expect(biases.allSatisfy { $0 == 0 })
    #expect(model.parameterCount == 64 * 256 + 256 + 256 * 10 + 10)
  }
}
