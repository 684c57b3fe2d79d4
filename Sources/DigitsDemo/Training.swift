import CrossEntropy
import DemoSupport
import Foundation

/// The settings of one training run.
package struct TrainingOptions: Sendable, Equatable {
  /// Passes over the training set. Default 40.
  package var epochs = 40
  /// Hidden units of the perceptron. Default 128.
  package var hiddenUnits = 128
  /// Adam's step size. Default 0.001.
  package var learningRate = 0.001
  /// Samples per mini-batch (the last one of an epoch may be smaller). Default 32.
  package var batchSize = 32
  /// The label smoothing of the training loss, in [0, 1]. Default 0.
  package var labelSmoothing = 0.0
  /// Seeds the initial weights and the mini-batch order. Default 1.
  package var seed: UInt64 = 1

  /// Creates options with the defaults above.
  package init() {}

  /// Checks every value, naming the first bad one.
  ///
  /// - Throws: ``DemoError`` for a value out of range.
  package func validate() throws(DemoError) {
    guard epochs >= 1 else { throw DemoError("epochs \(epochs) is not at least 1") }
    guard hiddenUnits >= 1 else {
      throw DemoError("hidden units \(hiddenUnits) is not at least 1")
    }
    guard learningRate > 0, learningRate.isFinite else {
      throw DemoError("learning rate \(learningRate) is not a positive finite number")
    }
    guard batchSize >= 1 else { throw DemoError("batch size \(batchSize) is not at least 1") }
    guard (0...1).contains(labelSmoothing) else {
      throw DemoError("label smoothing \(labelSmoothing) is outside [0, 1]")
    }
  }
}

/// What one epoch of training gave.
package struct EpochRecord: Sendable, Equatable {
  /// The epoch, from 1.
  package var epoch: Int
  /// The mean training loss over the epoch's mini-batches, as optimised (with smoothing).
  package var trainingLoss: Double
  /// The test negative log-likelihood (cross-entropy without smoothing) after the epoch.
  package var testNLL: Double
  /// The test accuracy after the epoch.
  package var testAccuracy: Double
}

/// How a trained network does on the test set.
package struct TestEvaluation: Sendable, Equatable {
  /// The share of test samples classified correctly.
  package var accuracy: Double
  /// The mean negative log-likelihood of the true labels (cross-entropy, no smoothing).
  package var nll: Double
  /// Confidence against accuracy, in 15 bins.
  package var calibration: Calibration
}

/// A finished training run.
package struct TrainingRun: Sendable {
  /// The settings it ran with.
  package var options: TrainingOptions
  /// One record per epoch.
  package var epochs: [EpochRecord]
  /// The trained network.
  package var model: MultilayerPerceptron
  /// The final test figures.
  package var test: TestEvaluation
  /// Wall-clock seconds spent training and evaluating.
  package var seconds: Double
}

/// Progress reported while training.
package enum TrainingEvent: Sendable {
  /// A mini-batch finished: `completed` of `total` in this epoch.
  case batch(epoch: Int, completed: Int, total: Int)
  /// An epoch finished.
  case epoch(EpochRecord)
}

/// Trains the perceptron on the training set with mini-batch Adam, the loss and its gradient
/// computed by ``SoftmaxCrossEntropy``, and evaluates it on the test set.
///
/// The seed fixes the initial weights and the order of the mini-batches, so two runs that differ
/// only in label smoothing start from the same network and see the same batches.
///
/// - Parameters:
///   - data: The prepared digits.
///   - options: The settings.
///   - progress: Called after every mini-batch and every epoch.
/// - Returns: The run's records, model and test figures.
/// - Throws: ``DemoError`` for invalid options.
package func trainClassifier(
  on data: PreparedDigits, options: TrainingOptions,
  progress: (TrainingEvent) -> Void = { _ in }
) throws(DemoError) -> TrainingRun {
  try options.validate()
  let start = Date()
  var generator = SplitMix64(seed: options.seed)
  var model = MultilayerPerceptron(
    inputCount: data.featureCount, hiddenCount: options.hiddenUnits, outputCount: data.classCount,
    generator: &generator)
  var optimiser = AdamOptimizer(
    parameterCount: model.parameterCount, learningRate: Float(options.learningRate))
  let criterion = SoftmaxCrossEntropy(labelSmoothing: options.labelSmoothing)

  let features = data.featureCount
  let classes = data.classCount
  let hiddenCount = options.hiddenUnits
  let sampleCount = data.trainLabels.count
  let batchCapacity = min(options.batchSize, sampleCount)
  let batchCount = (sampleCount + batchCapacity - 1) / batchCapacity
  var order = Array(0..<sampleCount)
  var batchInputs = [Float](repeating: 0, count: batchCapacity * features)
  var batchLabels = [Int](repeating: 0, count: batchCapacity)
  var hidden = [Float](repeating: 0, count: batchCapacity * hiddenCount)
  var hiddenGradient = [Float](repeating: 0, count: batchCapacity * hiddenCount)
  var logits = [Float](repeating: 0, count: batchCapacity * classes)
  var gradient = [Float](repeating: 0, count: model.parameterCount)
  var lossValue: [Float] = [0]
  var records: [EpochRecord] = []

  for epoch in 1...options.epochs {
    generator.shuffle(&order)
    var lossSum = 0.0
    for batch in 0..<batchCount {
      let first = batch * batchCapacity
      let rows = min(batchCapacity, sampleCount - first)
      for row in 0..<rows {
        let sample = order[first + row]
        batchLabels[row] = data.trainLabels[sample]
        for feature in 0..<features {
          batchInputs[row * features + feature] = data.trainFeatures[sample * features + feature]
        }
      }
      try batchInputs.withUnsafeBufferPointer { input throws(DemoError) in
        try hidden.withUnsafeMutableBufferPointer { hidden throws(DemoError) in
          try logits.withUnsafeMutableBufferPointer { logits throws(DemoError) in
            model.forward(
              input.baseAddress!, rows: rows, hidden: hidden.baseAddress!,
              logits: logits.baseAddress!)
            // The library turns the logits into d(mean loss)/d(logits) in place.
            let batchLogits = UnsafeMutableBufferPointer(rebasing: logits[0..<(rows * classes)])
            do {
              try batchLabels.withUnsafeBufferPointer { labels throws(LossError) in
                try lossValue.withUnsafeMutableBufferPointer { loss throws(LossError) in
                  try criterion.lossAndGradient(
                    overwriting: batchLogits, shape: [rows, classes],
                    labels: UnsafeBufferPointer(rebasing: labels[0..<rows]), loss: loss)
                }
              }
            } catch {
              throw DemoError("training loss: \(error)")
            }
            hiddenGradient.withUnsafeMutableBufferPointer { hiddenGradient in
              gradient.withUnsafeMutableBufferPointer { gradient in
                model.backward(
                  input.baseAddress!, rows: rows, hidden: hidden.baseAddress!,
                  logitGradient: logits.baseAddress!, hiddenGradient: hiddenGradient.baseAddress!,
                  into: gradient.baseAddress!)
              }
            }
          }
        }
      }
      gradient.withUnsafeBufferPointer { gradient in
        optimiser.update(&model.parameters, gradient: gradient.baseAddress!)
      }
      lossSum += Double(lossValue[0]) * Double(rows)
      progress(.batch(epoch: epoch, completed: batch + 1, total: batchCount))
    }
    let test = try evaluate(model, on: data)
    let record = EpochRecord(
      epoch: epoch, trainingLoss: lossSum / Double(sampleCount), testNLL: test.nll,
      testAccuracy: test.accuracy)
    records.append(record)
    progress(.epoch(record))
  }
  let test = try evaluate(model, on: data)
  return TrainingRun(
    options: options, epochs: records, model: model, test: test,
    seconds: Date().timeIntervalSince(start))
}

/// The test accuracy, negative log-likelihood and calibration of a network, from one
/// ``SoftmaxCrossEntropy`` call without smoothing that also returns each row's statistics: the
/// accuracy and the predicted classes are the statistics', the confidence is the predicted
/// class's probability `exp(x[predicted] - logsumexp(x))`.
///
/// - Throws: ``DemoError`` if the loss rejects the data (it cannot for prepared digits).
package func evaluate(
  _ model: MultilayerPerceptron, on data: PreparedDigits
) throws(DemoError) -> TestEvaluation {
  let rows = data.testLabels.count
  let classes = data.classCount
  let logits = model.logits(data.testFeatures, rows: rows)
  let nll: Double
  let statistics: SoftmaxStatistics<Float>
  do {
    let (loss, rowStatistics) = try SoftmaxCrossEntropy().lossAndStatistics(
      logits: ShapedArray(shape: [rows, classes], scalars: logits),
      labels: ShapedArray(shape: [rows], scalars: data.testLabels))
    nll = Double(loss.scalars[0])
    statistics = rowStatistics
  } catch {
    throw DemoError("test evaluation: \(error)")
  }
  var confidences: [Double] = []
  var correct: [Bool] = []
  for row in 0..<rows {
    let predicted = statistics.predictedClass.scalars[row]
    let logSumExp = Double(statistics.logSumExp.scalars[row])
    confidences.append(exp(Double(logits[row * classes + predicted]) - logSumExp))
    correct.append(predicted == data.testLabels[row])
  }
  let calibration = Calibration(confidences: confidences, correct: correct)
  let accuracy = rows == 0 ? 0 : statistics.accuracy
  return TestEvaluation(accuracy: accuracy, nll: nll, calibration: calibration)
}
