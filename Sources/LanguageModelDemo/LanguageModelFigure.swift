import DemoSupport
import Foundation

/// What the language-model figure shows.
package struct LanguageModelFigureData: Sendable {
  /// The neural model's epochs.
  package var epochs: [LanguageModelEpoch]
  /// The baselines' validation perplexities, by name (drawn as horizontal lines).
  package var baselines: [(name: String, validationPerplexity: Double)]
  /// The head's measured peak extra memory over the test split, in bytes (nil: not measured).
  package var headPeakExtraBytes: Int?
  /// The head's scratch bound, in bytes.
  package var scratchLimit: Int
  /// What the test split's logits would take if materialised, in bytes.
  package var materializedLogitsBytes: Int
  /// The figure's title.
  package var title: String

  /// Creates the figure's data.
  package init(
    epochs: [LanguageModelEpoch], baselines: [(name: String, validationPerplexity: Double)],
    headPeakExtraBytes: Int?, scratchLimit: Int, materializedLogitsBytes: Int, title: String
  ) {
    self.epochs = epochs
    self.baselines = baselines
    self.headPeakExtraBytes = headPeakExtraBytes
    self.scratchLimit = scratchLimit
    self.materializedLogitsBytes = materializedLogitsBytes
    self.title = title
  }
}

private let neuralColor = "#1f77b4"
private let baselineColors = ["#d95f02", "#7570b3", "#1b9e77"]

/// Draws the language-model demo's figure as a standalone SVG document: the training loss and
/// validation loss per epoch, the validation perplexity per epoch against the baselines, and the
/// head's memory against materialised logits.
package func languageModelFigure(_ data: LanguageModelFigureData) -> String {
  var svg = SVGWriter(width: 1200, height: 560)
  svg.text(data.title, x: 600, y: 30, size: 17, anchor: "middle", weight: "bold")
  let lossSeries: [(String, String, Bool, [Double])] = [
    ("training loss", neuralColor, false, data.epochs.map(\.trainingLoss)),
    ("validation loss", neuralColor, true, data.epochs.map { log($0.validationPerplexity) }),
  ]
  drawCurves(
    &svg, title: "Loss per epoch (nats per token)", series: lossSeries,
    levels: data.baselines.enumerated().map { index, baseline in
      (
        "\(baseline.name), validation", baselineColors[index % 3],
        log(baseline.validationPerplexity)
      )
    }, frame: PlotFrame(left: 80, top: 70, width: 330, height: 330))
  drawCurves(
    &svg, title: "Validation perplexity",
    series: [("neural model", neuralColor, false, data.epochs.map(\.validationPerplexity))],
    levels: data.baselines.enumerated().map { index, baseline in
      (baseline.name, baselineColors[index % 3], baseline.validationPerplexity)
    }, frame: PlotFrame(left: 490, top: 70, width: 330, height: 330))
  drawMemory(&svg, data, frame: PlotFrame(left: 900, top: 70, width: 260, height: 330))
  return svg.document()
}

/// Curves per epoch on a linear axis, with horizontal reference levels.
private func drawCurves(
  _ svg: inout SVGWriter, title: String, series: [(String, String, Bool, [Double])],
  levels: [(String, String, Double)], frame: PlotFrame
) {
  let epochs = series.map(\.3.count).max() ?? 1
  let values = (series.flatMap(\.3) + levels.map(\.2)).filter(\.isFinite)
  var low = values.min() ?? 0
  var high = values.max() ?? 1
  if high - low < 1e-9 { (low, high) = (low - 1, high + 1) }
  let step = niceStep(for: high - low, maximumTicks: 6)
  low = floor(low / step) * step
  high = ceil(high / step) * step
  let xRange = epochs > 1 ? (1.0, Double(epochs)) : (0.5, 1.5)
  func x(_ epoch: Double) -> Double {
    frame.left + (epoch - xRange.0) / (xRange.1 - xRange.0) * frame.width
  }
  func y(_ value: Double) -> Double {
    frame.bottom - (value - low) / (high - low) * frame.height
  }
  svg.text(
    title, x: frame.left + frame.width / 2, y: frame.top - 14, size: 14, anchor: "middle",
    weight: "bold")
  var tick = low
  while tick <= high + step / 2 {
    svg.line(x1: frame.left, y1: y(tick), x2: frame.right, y2: y(tick), stroke: "#ececec")
    svg.line(x1: frame.left - 5, y1: y(tick), x2: frame.left, y2: y(tick), stroke: "#333")
    svg.text(formatTick(tick), x: frame.left - 8, y: y(tick) + 4, size: 11, anchor: "end")
    tick += step
  }
  let epochStep = max(1, niceStep(for: Double(epochs), maximumTicks: 10))
  var epoch = epochStep
  while epoch <= Double(epochs) {
    if epoch >= xRange.0 {
      svg.line(x1: x(epoch), y1: frame.bottom, x2: x(epoch), y2: frame.bottom + 5, stroke: "#333")
      svg.text(formatTick(epoch), x: x(epoch), y: frame.bottom + 19, size: 11, anchor: "middle")
    }
    epoch += epochStep
  }
  svg.rectangle(frame, stroke: "#333")
  svg.text(
    "epoch", x: frame.left + frame.width / 2, y: frame.bottom + 40, size: 13, anchor: "middle")
  var legend: [(label: String, color: String, dashed: Bool)] = []
  for (name, color, value) in levels {
    svg.line(
      x1: frame.left, y1: y(value), x2: frame.right, y2: y(value), stroke: color, dashed: true)
    legend.append((name + " " + String(format: "%.2f", value), color, true))
  }
  for (name, color, dashed, points) in series {
    let coordinates = points.enumerated().map { (x(Double($0.offset + 1)), y($0.element)) }
    svg.polyline(coordinates, stroke: color, dashed: dashed)
    let last = points.last.map { String(format: " %.2f", $0) } ?? ""
    legend.append((name + last, color, dashed))
  }
  svg.legend(legend, x: frame.left, y: frame.bottom + 55, width: frame.width)
}

/// Bars of the head's memory and the materialised logits, in MiB on a linear axis.
private func drawMemory(_ svg: inout SVGWriter, _ data: LanguageModelFigureData, frame: PlotFrame) {
  svg.text(
    "Memory for the test split's logits", x: frame.left + frame.width / 2, y: frame.top - 14,
    size: 14, anchor: "middle", weight: "bold")
  let mebibyte = 1048576.0
  let bars: [(String, Double, String)] = [
    ("fused head, measured", Double(data.headPeakExtraBytes ?? data.scratchLimit), neuralColor),
    ("materialised fp32 logits", Double(data.materializedLogitsBytes), baselineColors[0]),
  ]
  let high = max(bars.map(\.1).max() ?? 1, 1) / mebibyte
  let step = niceStep(for: high, maximumTicks: 6)
  let top = ceil(high / step) * step
  func y(_ value: Double) -> Double { frame.bottom - value / top * frame.height }
  var tick = 0.0
  while tick <= top + step / 2 {
    svg.line(x1: frame.left, y1: y(tick), x2: frame.right, y2: y(tick), stroke: "#ececec")
    svg.text(formatTick(tick), x: frame.left - 8, y: y(tick) + 4, size: 11, anchor: "end")
    tick += step
  }
  let width = frame.width / Double(bars.count)
  for (index, bar) in bars.enumerated() {
    let value = bar.1 / mebibyte
    let left = frame.left + Double(index) * width + width * 0.2
    svg.bar(
      x: left, y: y(value), width: width * 0.6, height: y(0) - y(value), fill: bar.2,
      tooltip: "\(bar.0): \(String(format: "%.1f", value)) MiB")
    svg.text(
      String(format: "%.1f MiB", value), x: left + width * 0.3, y: y(value) - 6, size: 11,
      anchor: "middle")
  }
  svg.rectangle(frame, stroke: "#333")
  svg.text(
    "MiB", x: frame.left - 50, y: frame.top + frame.height / 2, size: 13, anchor: "middle",
    rotate: -90)
  svg.legend(
    bars.map { (label: $0.0, color: $0.2, dashed: false) }, x: frame.left,
    y: frame.bottom + 55, width: frame.width, filled: bars.count)
  svg.text(
    "scratch bound \(String(format: "%.0f", Double(data.scratchLimit) / mebibyte)) MiB",
    x: frame.left + frame.width / 2, y: frame.bottom + 120, size: 11, anchor: "middle")
}
