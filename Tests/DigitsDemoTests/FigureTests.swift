import DemoSupport
import Foundation
import Testing

@testable import DigitsDemo

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite struct FigureTests {
  /// Counts the elements of an XML document by name; nil when it does not parse.
  final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var root: String?
    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      if root == nil { root = name }
      counts[name, default: 0] += 1
    }
  }

  static func parse(_ text: String) -> ElementCounter? {
    let parser = XMLParser(data: Data(text.utf8))
    let counter = ElementCounter()
    parser.delegate = counter
    return parser.parse() ? counter : nil
  }

  static func run(epochs: Int, name: String, calibration: Calibration) -> TrainingRun {
    var generator = SplitMix64(seed: 1)
    let records = (1...max(epochs, 1)).map {
      EpochRecord(
        epoch: $0, trainingLoss: 2 / Double($0 * $0), testNLL: 0.5 / Double($0),
        testAccuracy: 0.9)
    }
    return TrainingRun(
      options: TrainingOptions(), epochs: records,
      model: MultilayerPerceptron(
        inputCount: 2, hiddenCount: 2, outputCount: 2, generator: &generator),
      test: TestEvaluation(accuracy: calibration.accuracy, nll: 0.1, calibration: calibration),
      seconds: 1)
  }

  @Test(arguments: [1, 2, 40])
  func figureIsWellFormedSVG(epochs: Int) throws {
    let calibration = Calibration(
      confidences: [0.95, 0.95, 0.65, 0.25], correct: [true, false, true, false])
    let svg = demoFigure(
      series: [
        FigureSeries(
          name: "plain <CE> & co", color: "#1f77b4",
          run: Self.run(epochs: epochs, name: "a", calibration: calibration)),
        FigureSeries(
          name: "smoothing 0.1", color: "#d95f02",
          run: Self.run(epochs: epochs, name: "b", calibration: calibration)),
      ],
      title: "test figure")
    let counter = try #require(Self.parse(svg), "the SVG does not parse as XML")
    #expect(counter.root == "svg")
    #expect(counter.counts["polyline"] == 4)  // training loss and test NLL per run
    #expect((counter.counts["text"] ?? 0) > 20)  // titles, tick labels, axis labels, legends
    #expect(svg.contains("plain &lt;CE&gt; &amp; co"))
    #expect(svg.contains("ECE 0.375"))  // (2/4)|0.5-0.95| + (1/4)|1-0.65| + (1/4)|0-0.25|
    #expect(!svg.contains("nan") && !svg.contains("inf"))
  }

  @Test func tickHelpers() {
    #expect(formatTick(0.2) == "0.2")
    #expect(formatTick(1) == "1")
    #expect(formatTick(40) == "40")
    #expect(formatTick(0.001) == "0.001")
    #expect(niceStep(for: 40, maximumTicks: 10) == 5)
    #expect(niceStep(for: 3, maximumTicks: 10) == 0.5)
    #expect(niceStep(for: 100, maximumTicks: 10) == 10)
  }
}
