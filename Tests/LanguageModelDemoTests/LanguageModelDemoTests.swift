import CrossEntropy
import DemoSupport
import Testing

@testable import LanguageModelDemo

/// Sequences from a noisy repeating pattern over `vocabulary` tokens: each token mostly follows
/// from the previous two, so a model with a context of two or more can learn it.
private func patternedSequences(vocabulary: Int, count: Int, length: Int, seed: UInt64)
  -> [[Int32]]
{
  var generator = SplitMix64(seed: seed)
  return (0..<count).map { _ in
    var sequence: [Int32] = [
      Int32(generator.nextInt(below: vocabulary)), Int32(generator.nextInt(below: vocabulary)),
    ]
    while sequence.count < length {
      let a = Int(sequence[sequence.count - 2])
      let b = Int(sequence[sequence.count - 1])
      let next =
        generator.nextUnit() < 0.9
        ? (3 * a + b + 1) % vocabulary : generator.nextInt(below: vocabulary)
      sequence.append(Int32(next))
    }
    return sequence
  }
}

@Suite struct TokenPositionsTests {
  @Test func historyIsPaddedWithTheBoundaryAndEveryTokenIsATarget() {
    let positions = TokenPositions(sequences: [[5, 6, 7], [8]], context: 2, boundary: 9)
    #expect(positions.targets == [5, 6, 7, 8])
    #expect(positions.contexts == [9, 9, 9, 5, 5, 6, 9, 9])
  }
}

@Suite struct NeuralLanguageModelTests {
  /// The parameter gradient of one batch against central differences of the loss, without and
  /// with dropout (the same seed draws the same mask for every evaluation).
  @Test(arguments: [0.0, 0.3])
  func gradientMatchesFiniteDifferences(dropout: Double) throws {
    let shape = ModelShape(vocabulary: 7, context: 2, embedding: 3, hidden: 5)
    var generator = SplitMix64(seed: 3)
    var model = NeuralLanguageModel(
      shape: shape, unigramCounts: [1, 2, 3, 4, 5, 6, 7], generator: &generator)
    let positions = TokenPositions(
      sequences: [[1, 2, 3, 4, 5], [6, 0, 1]], context: 2, boundary: model.boundary)
    var workspace = ModelWorkspace(shape: shape, capacity: positions.count)
    func loss(_ model: NeuralLanguageModel) throws -> Double {
      var scratch = ModelWorkspace(shape: shape, capacity: positions.count)
      var masks = SplitMix64(seed: 11)
      return try positions.contexts.withUnsafeBufferPointer { contexts in
        try positions.targets.withUnsafeBufferPointer { targets in
          try model.lossAndGradient(
            contexts: contexts, targets: targets, head: LinearCrossEntropy(), dropout: dropout,
            generator: &masks, workspace: &scratch, threads: 1)
        }
      }
    }
    var masks = SplitMix64(seed: 11)
    _ = try positions.contexts.withUnsafeBufferPointer { contexts in
      try positions.targets.withUnsafeBufferPointer { targets in
        try model.lossAndGradient(
          contexts: contexts, targets: targets, head: LinearCrossEntropy(), dropout: dropout,
          generator: &masks, workspace: &workspace, threads: 1)
      }
    }
    let analytic = workspace.gradient
    let step: Float = 1e-2
    var worst = 0.0
    for index in stride(from: 0, to: shape.offsets.count, by: 3) {
      let saved = model.parameters[index]
      model.parameters[index] = saved + step
      let up = try loss(model)
      model.parameters[index] = saved - step
      let down = try loss(model)
      model.parameters[index] = saved
      let numeric = (up - down) / (2 * Double(step))
      worst = max(worst, abs(numeric - Double(analytic[index])))
    }
    #expect(worst < 2e-3, "dropout \(dropout): largest gradient error \(worst)")
  }

  @Test func aShortTrainingRunLowersTheLossAndBeatsTheUnigram() throws {
    let vocabulary = 24
    let training = TokenPositions(
      sequences: patternedSequences(vocabulary: vocabulary, count: 8, length: 300, seed: 1),
      context: 3, boundary: Int32(vocabulary))
    let validation = TokenPositions(
      sequences: patternedSequences(vocabulary: vocabulary, count: 2, length: 200, seed: 2),
      context: 3, boundary: Int32(vocabulary))
    var options = LanguageModelOptions()
    options.epochs = 4
    options.context = 3
    options.embedding = 8
    options.hidden = 32
    options.batchSize = 64
    options.learningRate = 0.01
    options.threads = 1
    var batchLosses: [Double] = []
    let run = try trainLanguageModel(
      training: training, validation: validation, vocabulary: vocabulary, options: options
    ) { event in
      if case .batch(_, _, _, let loss) = event { batchLosses.append(loss) }
    }
    #expect(run.epochs.count == 4)
    let first = batchLosses.prefix(5).reduce(0, +) / 5
    let last = batchLosses.suffix(5).reduce(0, +) / 5
    #expect(last < first - 1, "loss fell from \(first) to \(last)")
    // The unigram perplexity of these sequences is close to the vocabulary size.
    let perplexity = run.epochs.last!.validationPerplexity
    #expect(perplexity < Double(vocabulary) / 3, "validation perplexity \(perplexity)")
    // The fused evaluation agrees with the mean loss of the training step on the same rows.
    let score = try run.model.evaluate(validation, threads: 2)
    #expect(abs(score.perplexity - perplexity) < 1e-9 * perplexity)
    #expect(score.materializedLogitsBytes == validation.count * vocabulary * 4)
    // The token accuracy, from the head's statistics in the same pass: a share well above
    // chance on these patterned sequences, and the one the last epoch recorded.
    #expect(score.accuracy > 3 / Double(vocabulary) && score.accuracy <= 1, "\(score.accuracy)")
    #expect(run.epochs.last!.validationAccuracy == score.accuracy)
  }

  @Test func theSameSeedGivesTheSameRun() throws {
    let sequences = patternedSequences(vocabulary: 10, count: 3, length: 60, seed: 4)
    let positions = TokenPositions(sequences: sequences, context: 2, boundary: 10)
    var options = LanguageModelOptions()
    options.epochs = 2
    options.context = 2
    options.embedding = 4
    options.hidden = 8
    options.batchSize = 16
    options.dropout = 0
    let first = try trainLanguageModel(
      training: positions, validation: positions, vocabulary: 10, options: options)
    options.threads = 1
    options.dropout = 0.2
    let withDropout = try trainLanguageModel(
      training: positions, validation: positions, vocabulary: 10, options: options)
    #expect(withDropout.model.parameters != first.model.parameters)
    options.dropout = 0
    let second = try trainLanguageModel(
      training: positions, validation: positions, vocabulary: 10, options: options)
    #expect(first.model.parameters == second.model.parameters)
    var a = SplitMix64(seed: 9)
    var b = SplitMix64(seed: 9)
    let sampleA = first.model.sample(prompt: [1, 2], count: 20, temperature: 0.8, generator: &a)
    let sampleB = second.model.sample(prompt: [1, 2], count: 20, temperature: 0.8, generator: &b)
    #expect(sampleA == sampleB)
    #expect(sampleA.allSatisfy { (0..<10).contains($0) })
  }

  @Test func badOptionsNameTheValue() {
    var options = LanguageModelOptions()
    options.hidden = 0
    #expect(throws: DemoError("hidden 0 is not at least 1")) { try options.validate() }
    options.hidden = 8
    options.dropout = 1
    #expect(throws: DemoError("dropout 1.0 is outside [0, 1)")) { try options.validate() }
  }
}

@Suite struct AdamOptimizerTests {
  /// Splitting a large update over threads gives the bits of one thread.
  @Test func threadsGiveTheSameBits() {
    let count = 100_003
    var generator = SplitMix64(seed: 5)
    let start = (0..<count).map { _ in Float(generator.nextUnit() - 0.5) }
    let gradient = (0..<count).map { _ in Float(generator.nextUnit() - 0.5) }
    var results: [[Float]] = []
    for threads in [1, 2, 3] {
      var parameters = start
      var adam = AdamOptimizer(parameterCount: count, learningRate: 0.01)
      for _ in 0..<3 { adam.update(&parameters, gradient: gradient, threads: threads) }
      results.append(parameters)
    }
    #expect(results[0] != start)
    #expect(results[1].map(\.bitPattern) == results[0].map(\.bitPattern))
    #expect(results[2].map(\.bitPattern) == results[0].map(\.bitPattern))
  }
}

@Suite struct LanguageModelFigureTests {
  @Test func theFigureShowsTheCurvesBaselinesAndMemory() {
    let epochs = (1...4).map {
      LanguageModelEpoch(
        epoch: $0, trainingLoss: 6 - Double($0) * 0.4, validationPerplexity: 200 - Double($0) * 20,
        tokensPerSecond: 1000)
    }
    let svg = languageModelFigure(
      LanguageModelFigureData(
        epochs: epochs,
        baselines: [(name: "bigram", validationPerplexity: 150), ("trigram", 110)],
        headPeakExtraBytes: 60 << 20, scratchLimit: 64 << 20, materializedLogitsBytes: 600 << 20,
        title: "test <figure>"))
    #expect(svg.hasPrefix("<?xml"))
    #expect(svg.hasSuffix("</svg>\n"))
    #expect(svg.contains("test &lt;figure&gt;"))
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
    for label in [
      "bigram 150.00", "trigram 110.00", "neural model 120.00", "600.0 MiB", "60.0 MiB",
    ] {
      #expect(svg.contains(label), "figure lacks \(label)")
    }
    // Epoch ticks are whole epochs.
    #expect(!svg.contains(">1.5</text>"))
  }
}
