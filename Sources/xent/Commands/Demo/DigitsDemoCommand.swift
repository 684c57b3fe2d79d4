import ArgumentParser
import DemoSupport
import DigitsDemo
import Foundation

/// `xent demo` and `xent demo digits`: trains a small classifier on handwritten digits twice,
/// with plain cross-entropy and with label smoothing, and compares accuracy, NLL and calibration.
struct DigitsDemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "digits",
    abstract: "Train a small classifier on handwritten digits with the library's losses.",
    discussion: """
      Trains a perceptron (64 -> hidden -> 10, ReLU) on the UCI handwritten digits bundled with \
      the package (1,797 8x8 images; a fixed, stratified 80/20 train/test split), with mini-batch \
      Adam and the loss and gradient of the library's SoftmaxCrossEntropy. It trains twice from \
      the same initial weights and batch order: with plain cross-entropy, then with label \
      smoothing. It prints the training loss per epoch, then the test accuracy, the test \
      negative log-likelihood and the expected calibration error (15 bins) of both runs, and \
      writes an SVG figure of the loss curves and a reliability diagram.

      The data: E. Alpaydin and C. Kaynak (1998), Optical Recognition of Handwritten Digits, \
      UCI Machine Learning Repository, CC BY 4.0.
      """)

  @Option(help: "Passes over the training set in each run.")
  var epochs = 40

  @Option(help: "Hidden units of the perceptron.")
  var hidden = 128

  @Option(help: "Adam's step size.")
  var learningRate = 0.001

  @Option(help: "Training samples per mini-batch.")
  var batchSize = 32

  @Option(help: "The label smoothing of the second run, in [0, 1] (the first run uses 0).")
  var labelSmoothing = 0.1

  @Option(
    help: ArgumentHelp(
      "Seeds the initial weights and the mini-batch order; the same seed gives the same run.",
      discussion: "The train/test split is fixed and does not depend on the seed."))
  var seed: UInt64 = 1

  @Option(help: ArgumentHelp("Where to write the SVG figure.", valueName: "path.svg"))
  var plot = "xent-demo.svg"

  func validate() throws {
    guard epochs >= 1 else { throw ValidationError("--epochs \(epochs) must be at least 1") }
    guard hidden >= 1 else { throw ValidationError("--hidden \(hidden) must be at least 1") }
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--learning-rate \(learningRate) must be a positive number")
    }
    guard batchSize >= 1 else {
      throw ValidationError("--batch-size \(batchSize) must be at least 1")
    }
    guard (0...1).contains(labelSmoothing) else {
      throw ValidationError("--label-smoothing \(labelSmoothing) must be in [0, 1]")
    }
    guard !plot.isEmpty else { throw ValidationError("--plot needs a file path") }
  }

  func run() throws {
    do {
      try train()
    } catch let error as DemoError {
      throw CLIError(error.message)
    }
  }

  private func train() throws {
    let output = ConsoleOutput()
    try checkFigureFolder(plot)
    let dataset = try DigitsDataset.bundled()
    let data = PreparedDigits(dataset: dataset)
    var options = TrainingOptions()
    options.epochs = epochs
    options.hiddenUnits = hidden
    options.learningRate = learningRate
    options.batchSize = batchSize
    options.seed = seed

    output.line(
      "Handwritten digits (UCI, \(grouped(dataset.count)) 8x8 images): \(data.trainLabels.count) train /"
        + " \(data.testLabels.count) test, fixed stratified split")
    output.line(
      "Model: 64 -> \(hidden) -> 10 perceptron (ReLU), Adam, learning rate \(learningRate),"
        + " batch \(batchSize), \(epochs) epochs, seed \(seed)")
    output.line("Loss and gradient: CrossEntropy's SoftmaxCrossEntropy")

    let smoothingName = "smoothing \(formatted(labelSmoothing))"
    let plans = [
      ("plain cross-entropy", "plain CE", 0.0),
      (
        smoothingName, smoothingName,
        labelSmoothing
      ),
    ]
    var runs: [(name: String, run: TrainingRun)] = []
    for (index, plan) in plans.enumerated() {
      options.labelSmoothing = plan.2
      output.line("")
      output.line("Run \(index + 1)/\(plans.count): \(plan.0)")
      output.line("  epoch  train loss  test NLL  test accuracy")
      let run = try trainClassifier(on: data, options: options) { event in
        switch event {
        case .batch(let epoch, let completed, let total):
          output.progress(
            fraction: (Double(epoch - 1) + Double(completed) / Double(total)) / Double(epochs),
            label: "epoch \(epoch)/\(epochs)")
        case .epoch(let record):
          output.line(
            pad(String(record.epoch), 7) + pad(fixed(record.trainingLoss, 4), 12)
              + pad(fixed(record.testNLL, 4), 10) + pad(percent(record.testAccuracy), 15))
        }
      }
      output.clearProgress()
      runs.append((plan.1, run))
    }

    output.line("")
    for row in summaryTable(runs) { output.line(row) }
    output.line("")
    let verdict = interpretation(plain: runs[0].run, smoothed: runs[1].run, name: runs[1].name)
    for line in wrappedLines(verdict, width: 96) { output.line(line) }

    let figure = demoFigure(
      series: [
        FigureSeries(name: runs[0].name, color: "#1f77b4", run: runs[0].run),
        FigureSeries(name: runs[1].name, color: "#d95f02", run: runs[1].run),
      ],
      title: "xent demo: handwritten digits, 64-\(hidden)-10 perceptron, seed \(seed)")
    do {
      try figure.write(toFile: plot, atomically: true, encoding: .utf8)
    } catch {
      throw CLIError("cannot write the figure to \(plot): \(error.localizedDescription)")
    }
    output.line("")
    output.line("Wrote \(plot) (loss curves and reliability diagram).")
  }
}

/// The comparison table, one string per line.
private func summaryTable(_ runs: [(name: String, run: TrainingRun)]) -> [String] {
  let rows: [(String, (TrainingRun) -> String)] = [
    ("test accuracy", { percent($0.test.accuracy) }),
    ("test NLL", { fixed($0.test.nll, 4) }),
    ("ECE (15 bins)", { fixed($0.test.calibration.expectedCalibrationError, 4) }),
    ("mean confidence", { percent($0.test.calibration.meanConfidence) }),
    (
      "confidence - accuracy",
      {
        signedPoints($0.test.calibration.meanConfidence - $0.test.calibration.accuracy)
      }
    ),
    ("final training loss", { fixed($0.epochs.last?.trainingLoss ?? .nan, 4) }),
    ("time", { fixed($0.seconds, 1) + " s" }),
  ]
  let labelWidth = rows.map(\.0.count).max()! + 2
  let columnWidth = max(14, runs.map(\.name.count).max()! + 2)
  var lines = [
    String(repeating: " ", count: labelWidth) + runs.map { pad($0.name, columnWidth) }.joined()
  ]
  for (label, value) in rows {
    lines.append(
      label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        + runs.map { pad(value($0.run), columnWidth) }.joined())
  }
  return lines
}

/// What the figures say about confidence, in words decided by the figures themselves.
private func interpretation(plain: TrainingRun, smoothed: TrainingRun, name: String) -> String {
  func gapWords(_ run: TrainingRun) -> String {
    let gap = run.test.calibration.meanConfidence - run.test.calibration.accuracy
    if abs(gap) < 0.005 { return "calibrated to within half a point" }
    return (gap > 0 ? "over-confident by " : "under-confident by ")
      + fixed(abs(gap) * 100, 1) + " points"
  }
  let plainECE = plain.test.calibration.expectedCalibrationError
  let smoothedECE = smoothed.test.calibration.expectedCalibrationError
  let verdict =
    smoothedECE < plainECE
    ? "so label smoothing lowered the calibration error here"
    : "so label smoothing raised the calibration error here"
  return "On average, plain cross-entropy was \(gapWords(plain)) and \(name) was"
    + " \(gapWords(smoothed)) (mean confidence \(percent(plain.test.calibration.meanConfidence))"
    + " vs \(percent(smoothed.test.calibration.meanConfidence))); ECE \(fixed(plainECE, 4)) vs"
    + " \(fixed(smoothedECE, 4)), \(verdict)."
}
