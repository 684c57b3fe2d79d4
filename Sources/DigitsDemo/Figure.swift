import DemoSupport
import Foundation

/// One training run as drawn in the figure.
package struct FigureSeries: Sendable {
  /// The legend's name for the run.
  package var name: String
  /// An SVG colour.
  package var color: String
  /// The run.
  package var run: TrainingRun

  /// Creates a series.
  package init(name: String, color: String, run: TrainingRun) {
    self.name = name
    self.color = color
    self.run = run
  }
}

/// Draws the demo's figure as a standalone SVG document: the runs' loss curves per epoch
/// (training loss solid, test NLL dashed, log scale) and a reliability diagram of their test
/// predictions (accuracy per confidence bin against the diagonal of perfect calibration).
///
/// - Parameters:
///   - series: The runs, each with a name and a colour.
///   - title: The figure's title.
/// - Returns: The SVG text.
package func demoFigure(series: [FigureSeries], title: String) -> String {
  var svg = SVGWriter(width: 1000, height: 600)
  svg.text(title, x: 500, y: 30, size: 17, anchor: "middle", weight: "bold")
  drawLossPanel(&svg, series: series, frame: PlotFrame(left: 80, top: 70, width: 400, height: 390))
  drawReliabilityPanel(
    &svg, series: series, frame: PlotFrame(left: 620, top: 70, width: 320, height: 290),
    strip: PlotFrame(left: 620, top: 375, width: 320, height: 85))
  return svg.document()
}

private func drawLossPanel(_ svg: inout SVGWriter, series: [FigureSeries], frame: PlotFrame) {
  let epochs = series.map { $0.run.epochs.count }.max() ?? 1
  let values = series.flatMap { $0.run.epochs.flatMap { [$0.trainingLoss, $0.testNLL] } }
    .filter { $0 > 0 && $0.isFinite }
  let low = (values.min() ?? 0.01).clamped(to: 1e-6...1e6)
  let high = (values.max() ?? 1).clamped(to: low...1e6)
  let lowDecade = floor(log10(low))
  let highDecade = max(ceil(log10(high)), lowDecade + 1)
  let xRange = epochs > 1 ? (1.0, Double(epochs)) : (0.5, 1.5)
  func x(_ epoch: Double) -> Double {
    frame.left + (epoch - xRange.0) / (xRange.1 - xRange.0) * frame.width
  }
  func y(_ loss: Double) -> Double {
    let position = (log10(loss) - lowDecade) / (highDecade - lowDecade)
    return frame.bottom - position * frame.height
  }

  svg.text(
    "Loss per epoch", x: frame.left + frame.width / 2, y: frame.top - 14, size: 14,
    anchor: "middle", weight: "bold")
  // Vertical axis: decades labelled, 2x and 5x ticks (labelled when the range is short).
  let labelsMinor = highDecade - lowDecade <= 2
  for decade in Int(lowDecade)...Int(highDecade) {
    for multiple in [1.0, 2.0, 5.0] {
      let value = multiple * pow(10, Double(decade))
      guard value <= pow(10, highDecade) * 1.0001 else { continue }
      let position = y(value)
      let isMajor = multiple == 1
      svg.line(
        x1: frame.left, y1: position, x2: frame.right, y2: position,
        stroke: isMajor ? "#d0d0d0" : "#ececec")
      svg.line(x1: frame.left - 5, y1: position, x2: frame.left, y2: position, stroke: "#333")
      if isMajor || labelsMinor {
        svg.text(
          formatTick(value), x: frame.left - 8, y: position + 4, size: 11, anchor: "end")
      }
    }
  }
  // Horizontal axis: epochs at a 1-2-5 step.
  let step = niceStep(for: Double(epochs), maximumTicks: 10)
  var tick = 0.0
  while tick <= Double(epochs) {
    if tick >= xRange.0 {
      let position = x(tick)
      svg.line(x1: position, y1: frame.bottom, x2: position, y2: frame.bottom + 5, stroke: "#333")
      svg.text(formatTick(tick), x: position, y: frame.bottom + 19, size: 11, anchor: "middle")
    }
    tick += step
  }
  svg.rectangle(frame, stroke: "#333")
  svg.text(
    "epoch", x: frame.left + frame.width / 2, y: frame.bottom + 40, size: 13, anchor: "middle")
  svg.text(
    "loss (log scale)", x: frame.left - 55, y: frame.top + frame.height / 2, size: 13,
    anchor: "middle", rotate: -90)

  var legend: [(String, String, Bool)] = []
  for entry in series {
    let records = entry.run.epochs
    let epochsAxis = records.map { x(Double($0.epoch)) }
    svg.polyline(
      Array(zip(epochsAxis, records.map { y(max($0.trainingLoss, low)) })), stroke: entry.color,
      dashed: false)
    svg.polyline(
      Array(zip(epochsAxis, records.map { y(max($0.testNLL, low)) })), stroke: entry.color,
      dashed: true)
    legend.append(("\(entry.name): training loss", entry.color, false))
    legend.append(("\(entry.name): test NLL", entry.color, true))
  }
  svg.legend(legend, x: frame.left, y: frame.bottom + 55, width: frame.width, columns: 2)
}

private func drawReliabilityPanel(
  _ svg: inout SVGWriter, series: [FigureSeries], frame: PlotFrame, strip: PlotFrame
) {
  func x(_ value: Double) -> Double { frame.left + value * frame.width }
  func y(_ value: Double) -> Double { frame.bottom - value * frame.height }
  svg.text(
    "Reliability diagram (test set, 15 bins)", x: frame.left + frame.width / 2,
    y: frame.top - 14, size: 14, anchor: "middle", weight: "bold")
  for index in 0...5 {
    let value = Double(index) / 5
    svg.line(x1: frame.left, y1: y(value), x2: frame.right, y2: y(value), stroke: "#ececec")
    svg.line(x1: frame.left - 5, y1: y(value), x2: frame.left, y2: y(value), stroke: "#333")
    svg.text(formatTick(value), x: frame.left - 8, y: y(value) + 4, size: 11, anchor: "end")
    svg.line(x1: x(value), y1: strip.bottom, x2: x(value), y2: strip.bottom + 5, stroke: "#333")
    svg.text(formatTick(value), x: x(value), y: strip.bottom + 19, size: 11, anchor: "middle")
  }
  // Bars: accuracy per bin above, the number of predictions per bin in the strip below.
  let runCount = max(series.count, 1)
  let largestCount = series.flatMap { $0.run.test.calibration.bins.map(\.count) }.max() ?? 0
  for (index, entry) in series.enumerated() {
    for bin in entry.run.test.calibration.bins where bin.count > 0 {
      let width = (bin.upper - bin.lower) / Double(runCount)
      let left = x(bin.lower + Double(index) * width)
      let right = x(bin.lower + Double(index + 1) * width)
      let tooltip =
        "\(entry.name): \(bin.count) predictions with confidence in"
        + " (\(formatTick(bin.lower)), \(formatTick(bin.upper))], accuracy"
        + " \(String(format: "%.3f", bin.accuracy)), mean confidence"
        + " \(String(format: "%.3f", bin.confidence))"
      svg.bar(
        x: left, y: y(bin.accuracy), width: right - left, height: y(0) - y(bin.accuracy),
        fill: entry.color, tooltip: tooltip)
      let share = Double(bin.count) / Double(max(largestCount, 1))
      let height = max(share * strip.height, 1)
      svg.bar(
        x: left, y: strip.bottom - height, width: right - left, height: height,
        fill: entry.color, tooltip: tooltip)
    }
  }
  svg.line(x1: x(0), y1: y(0), x2: x(1), y2: y(1), stroke: "#555", dashed: true)
  svg.rectangle(frame, stroke: "#333")
  svg.rectangle(strip, stroke: "#333")
  for (value, position) in [(0, strip.bottom), (largestCount, strip.top)] {
    svg.line(x1: strip.left - 5, y1: position, x2: strip.left, y2: position, stroke: "#333")
    svg.text(String(value), x: strip.left - 8, y: position + 4, size: 11, anchor: "end")
  }
  svg.text(
    "confidence (largest softmax probability)", x: frame.left + frame.width / 2,
    y: strip.bottom + 40, size: 13, anchor: "middle")
  svg.text(
    "accuracy", x: frame.left - 50, y: frame.top + frame.height / 2, size: 13, anchor: "middle",
    rotate: -90)
  svg.text(
    "count", x: strip.left - 50, y: strip.top + strip.height / 2, size: 13, anchor: "middle",
    rotate: -90)
  let ece = { (run: TrainingRun) in
    String(format: "%.3f", run.test.calibration.expectedCalibrationError)
  }
  var legend = series.map { entry in
    (label: "\(entry.name) (ECE \(ece(entry.run)))", color: entry.color, dashed: false)
  }
  legend.append((label: "perfect calibration", color: "#555", dashed: true))
  svg.legend(
    legend, x: frame.left, y: strip.bottom + 55, width: frame.width, columns: 1,
    filled: series.count)
}

extension Comparable {
  fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
    min(max(self, range.lowerBound), range.upperBound)
  }
}
