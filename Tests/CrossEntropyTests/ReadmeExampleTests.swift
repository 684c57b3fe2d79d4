import CrossEntropy
import Foundation
import Testing

/// The README's library examples, compiled and run as written (public API only). The code lines
/// between the `README` markers are the README's "Library usage" code blocks, line for line;
/// ``readmeCodeIsThisCode()`` fails when the two drift apart.
@Suite struct ReadmeExampleTests {
  @Test func libraryExamplesRun() throws {
    // README
    let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [2, 1, 0, 0, 1, 2])
    let labels = try ShapedArray<Int>(shape: [2], scalars: [0, 2])

    let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.1)  // reduction: .mean
    let (loss, gradient) = try criterion.lossAndGradient(logits: logits, labels: labels)
    print(loss.scalar!, gradient.scalars)
    let (_, statistics) = try criterion.lossAndStatistics(logits: logits, labels: labels)
    print(statistics.accuracy, statistics.predictedClass.scalars)

    let segmentation = SoftmaxCrossEntropy(classAxis: 1, ignoreIndex: 255)
    let masks = try ShapedArray<Float>(
      shape: [1, 3, 2, 2], scalars: (0..<12).map { Float($0) / 6 })
    let classes = try ShapedArray<Int>(shape: [1, 2, 2], scalars: [0, 2, 255, 1])
    let pixelLoss = try segmentation.loss(logits: masks, labels: classes, classWeights: [1, 2, 4])

    let bce = BinaryCrossEntropy()
    let value = try bce.loss(
      logits: ShapedArray<Float>([0.3, -1.2]), targets: ShapedArray<Float>([1, 0]),
      positiveWeight: ShapedArray<Float>([3]))

    var batch: [Float] = [2, 1, 0, 0, 1, 2]  // rows x classes, from your model
    var stepLoss: Float = 0
    try criterion.lossAndGradient(
      overwriting: &batch, shape: [2, 3], labels: [0, 2], loss: &stepLoss)

    let scores: [Float] = [2, 1, 0, 0, 1, 2]
    let targets: [Int] = [0, 2]
    var perRow = [Float](repeating: 0, count: 2)
    var scoreGradient = [Float](repeating: 0, count: 6)
    let perRowCriterion = SoftmaxCrossEntropy(reduction: .none)
    try scores.withUnsafeBufferPointer { scores in
      try targets.withUnsafeBufferPointer { targets in
        try perRow.withUnsafeMutableBufferPointer { perRow in
          try scoreGradient.withUnsafeMutableBufferPointer { scoreGradient in
            try perRowCriterion.lossAndGradient(
              logits: scores, shape: [2, 3], labels: targets, loss: perRow, gradient: scoreGradient)
          }
        }
      }
    }
    // README

    #expect(loss.shape == [])
    #expect(gradient.shape == [2, 3])
    // Both rows put their largest logit on the label, two apart from the next: a small loss.
    #expect(loss.scalar! > 0.4 && loss.scalar! < 0.6)
    #expect(statistics.accuracy == 1 && statistics.predictedClass.scalars == [0, 2])

    #expect(pixelLoss.shape == [] && pixelLoss.scalar!.isFinite && pixelLoss.scalar! > 0)
    #expect(value.scalar! > 0)

    // The three forms agree: the in-place step and the caller buffers give the array form's
    // numbers (the same kernel, so the same bits).
    #expect(stepLoss == loss.scalar!)
    #expect(batch == gradient.scalars)
    let rowLosses = try perRowCriterion.loss(logits: logits, labels: labels)
    #expect(perRow == rowLosses.scalars)
    #expect(
      scoreGradient
        == (try perRowCriterion.lossAndGradient(logits: logits, labels: labels)).gradient.scalars)
  }

  /// The README's "Library usage" code blocks are the code between the markers of
  /// ``libraryExamplesRun()``, token for token (comments, line breaks and indentation aside).
  @Test func readmeCodeIsThisCode() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let section = try #require(readme.components(separatedBy: "## Library usage").dropFirst().first)
      .components(separatedBy: "\n## ")[0]
    var readmeLines: [String] = []
    var inSwift = false
    for line in section.components(separatedBy: "\n") {
      if line.hasPrefix("```") {
        inSwift = line == "```swift"
        continue
      }
      if inSwift { readmeLines.append(line) }
    }
    let source = try String(contentsOfFile: #filePath, encoding: .utf8)
    let marked = source.components(separatedBy: "    // README\n")
    try #require(marked.count >= 3)
    let testLines = marked[1].components(separatedBy: "\n")
    func code(_ lines: [String]) -> String {
      lines.map { $0.components(separatedBy: "//")[0] }
        .filter { $0 != "import CrossEntropy" }
        .joined().filter { !$0.isWhitespace }
    }
    #expect(code(readmeLines) == code(testLines))
  }
}
