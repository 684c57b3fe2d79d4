import CrossEntropy
import DemoSupport
import Foundation

/// The settings of a neural language-model run.
package struct LanguageModelOptions: Sendable, Equatable {
  /// Passes over the training tokens.
  package var epochs = 4
  /// Previous tokens the model reads.
  package var context = 8
  /// Size of a token embedding.
  package var embedding = 64
  /// Units of the hidden layer (the head's input size).
  package var hidden = 192
  /// Positions per mini-batch (the last one of an epoch may be smaller).
  package var batchSize = 512
  /// The rate at which hidden units are dropped during training, in [0, 1).
  package var dropout = 0.5
  /// Adam's peak step size; it warms up linearly over the first 2% of the steps, then decays
  /// along a half cosine to zero.
  package var learningRate = 0.003
  /// Seeds the initial weights and the mini-batch order.
  package var seed: UInt64 = 1
  /// The most threads the dense products and the head may use.
  package var threads = 2

  /// Creates options with the defaults above.
  package init() {}

  /// Checks every value, naming the first bad one.
  ///
  /// - Throws: ``DemoError`` for a value out of range.
  package func validate() throws(DemoError) {
    for (name, value) in [
      ("epochs", epochs), ("context", context), ("embedding", embedding), ("hidden", hidden),
      ("batch size", batchSize), ("threads", threads),
    ] where value < 1 {
      throw DemoError("\(name) \(value) is not at least 1")
    }
    guard learningRate > 0, learningRate.isFinite else {
      throw DemoError("learning rate \(learningRate) is not a positive finite number")
    }
    guard (0..<1).contains(dropout) else {
      throw DemoError("dropout \(dropout) is outside [0, 1)")
    }
  }
}

/// What one epoch of training gave.
package struct LanguageModelEpoch: Sendable, Equatable {
  /// The epoch, from 1.
  package var epoch: Int
  /// The mean training loss over the epoch's mini-batches, in nats per token.
  package var trainingLoss: Double
  /// The validation perplexity after the epoch.
  package var validationPerplexity: Double
  /// The validation token accuracy after the epoch (the share of next tokens predicted).
  package var validationAccuracy: Double = .nan
  /// Training tokens per second over the epoch (forward, backward and the optimiser step).
  package var tokensPerSecond: Double
}

/// Progress reported while training.
package enum LanguageModelEvent: Sendable {
  /// A mini-batch finished: `completed` of `total` in this epoch, with its loss.
  case batch(epoch: Int, completed: Int, total: Int, loss: Double)
  /// An epoch finished.
  case epoch(LanguageModelEpoch)
}

/// A finished run: the model and its per-epoch records.
package struct LanguageModelRun: Sendable {
  /// The trained model.
  package var model: NeuralLanguageModel
  /// One record per epoch.
  package var epochs: [LanguageModelEpoch]
  /// Training tokens per second over the whole run, evaluation excluded.
  package var tokensPerSecond: Double
}

/// Trains a ``NeuralLanguageModel`` with mini-batch Adam, its output layer's loss and gradients
/// computed by the fused ``LinearCrossEntropy``, and scores the validation split after each
/// epoch.
///
/// - Parameters:
///   - training: The training positions (their context length is the model's).
///   - validation: The validation positions.
///   - vocabulary: The number of tokens.
///   - options: The settings (`options.context` must equal the positions' context).
///   - progress: Called after every mini-batch and every epoch.
/// - Throws: ``DemoError`` for invalid options or a failure of the loss.
package func trainLanguageModel(
  training: TokenPositions, validation: TokenPositions, vocabulary: Int,
  options: LanguageModelOptions, progress: (LanguageModelEvent) -> Void = { _ in }
) throws(DemoError) -> LanguageModelRun {
  try options.validate()
  guard training.context == options.context, validation.context == options.context else {
    throw DemoError(
      "positions have context \(training.context), the options \(options.context)")
  }
  guard training.count > 0 else { throw DemoError("no training tokens") }
  var generator = SplitMix64(seed: options.seed)
  var counts = [Int](repeating: 0, count: vocabulary)
  for target in training.targets { counts[target] += 1 }
  let shape = ModelShape(
    vocabulary: vocabulary, context: options.context, embedding: options.embedding,
    hidden: options.hidden)
  var model = NeuralLanguageModel(shape: shape, unigramCounts: counts, generator: &generator)
  var optimiser = AdamOptimizer(
    parameterCount: shape.offsets.count, learningRate: Float(options.learningRate))
  let capacity = min(options.batchSize, training.count)
  var workspace = ModelWorkspace(shape: shape, capacity: capacity)
  let batches = (training.count + capacity - 1) / capacity
  let totalSteps = batches * options.epochs
  let warmup = max(1, totalSteps / 50)
  var order = Array(0..<training.count)
  let contextView = UnsafeMutableBufferPointer<Int32>.allocate(capacity: capacity * options.context)
  let targetView = UnsafeMutableBufferPointer<Int>.allocate(capacity: capacity)
  defer {
    contextView.deallocate()
    targetView.deallocate()
  }
  var records: [LanguageModelEpoch] = []
  var trainingSeconds = 0.0
  var step = 0
  let head = LinearCrossEntropy()
  let clock = ContinuousClock()

  for epoch in 1...options.epochs {
    generator.shuffle(&order)
    var lossSum = 0.0
    let started = clock.now
    for batch in 0..<batches {
      let start = batch * capacity
      let rows = min(capacity, training.count - start)
      for row in 0..<rows {
        let position = order[start + row]
        for slot in 0..<options.context {
          contextView[row * options.context + slot] =
            training.contexts[position * options.context + slot]
        }
        targetView[row] = training.targets[position]
      }
      let loss: Double
      do {
        loss = try model.lossAndGradient(
          contexts: UnsafeBufferPointer(rebasing: contextView[0..<rows * options.context]),
          targets: UnsafeBufferPointer(rebasing: targetView[0..<rows]), head: head,
          dropout: options.dropout, generator: &generator, workspace: &workspace,
          threads: options.threads)
      } catch {
        throw DemoError("training step failed: \(error.message)")
      }
      step += 1
      let decay = 0.5 * (1 + cos(Double.pi * Double(step - 1) / Double(totalSteps)))
      let rise = min(1, Double(step) / Double(warmup))
      optimiser.learningRate = Float(options.learningRate * rise * decay)
      workspace.gradient.withUnsafeBufferPointer { gradient in
        optimiser.update(
          &model.parameters, gradient: gradient.baseAddress!, threads: options.threads)
      }
      lossSum += loss * Double(rows)
      progress(.batch(epoch: epoch, completed: batch + 1, total: batches, loss: loss))
    }
    let seconds = started.duration(to: clock.now).inSeconds
    trainingSeconds += seconds
    let validationScore: SplitEvaluation
    do {
      validationScore = try model.evaluate(validation, threads: options.threads)
    } catch {
      throw DemoError("validation failed: \(error.message)")
    }
    let record = LanguageModelEpoch(
      epoch: epoch, trainingLoss: lossSum / Double(training.count),
      validationPerplexity: validationScore.perplexity,
      validationAccuracy: validationScore.accuracy,
      tokensPerSecond: Double(training.count) / seconds)
    records.append(record)
    progress(.epoch(record))
  }
  return LanguageModelRun(
    model: model, epochs: records,
    tokensPerSecond: Double(training.count * options.epochs) / trainingSeconds)
}
