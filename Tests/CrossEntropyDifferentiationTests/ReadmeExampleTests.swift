#if Differentiation
  import _Differentiation
  import CrossEntropy
  import CrossEntropyDifferentiation
  import Foundation
  import Testing

  /// The README's "Swift autodiff" example, compiled and run as written. The code lines between
  /// the `README` markers are the section's second Swift code block, line for line;
  /// ``readmeCodeIsThisCode()`` fails when the two drift apart.
  @Suite struct DifferentiationReadmeExampleTests {
    @Test func exampleRuns() throws {
      // README
      let scores = try ShapedArray<Double>(shape: [2, 3], scalars: [2, 1, 0, 0, 1, 2])
      let classLabels = try ShapedArray<Int>(shape: [2], scalars: [0, 2])
      let smoothed = SoftmaxCrossEntropy(labelSmoothing: 0.1)
      let (meanLoss, scoreGradient) = valueWithGradient(at: scores) { scores in
        smoothed.differentiableLoss(logits: scores, labels: classLabels)
      }

      let hidden = try ShapedArray<Double>(shape: [2, 2], scalars: [1, 0, 0.5, -1])
      let classifier = try ShapedArray<Double>(
        shape: [3, 2], scalars: [0.1, 0.2, 0, -0.3, 0.4, 0])
      let (hiddenGradient, classifierGradient) = gradient(at: hidden, classifier) {
        hidden, weight in
        LinearCrossEntropy().differentiableLoss(hidden: hidden, weight: weight, labels: classLabels)
      }
      // README

      let expected = try smoothed.lossAndGradient(logits: scores, labels: classLabels)
      #expect(meanLoss == expected.loss.scalar)
      #expect(scoreGradient == expected.gradient)
      let head = try LinearCrossEntropy().lossAndGradient(
        hidden: hidden, weight: classifier, labels: classLabels)
      #expect(hiddenGradient == head.hiddenGradient)
      #expect(classifierGradient == head.weightGradient)
    }

    /// The README's example is the code between the markers of ``exampleRuns()``, token for
    /// token (comments, line breaks and indentation aside).
    @Test func readmeCodeIsThisCode() throws {
      let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
      let readme = try String(
        contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
      let section = try #require(
        readme.components(separatedBy: "## Swift autodiff").dropFirst().first
      ).components(separatedBy: "\n## ")[0]
      let blocks = section.components(separatedBy: "```swift\n").dropFirst()
        .map { $0.components(separatedBy: "```")[0] }
      try #require(blocks.count == 2)
      let source = try String(contentsOfFile: #filePath, encoding: .utf8)
      let marked = source.components(separatedBy: "      // README\n")
      try #require(marked.count >= 3)
      func code(_ text: String) -> String {
        text.components(separatedBy: "\n").map { $0.components(separatedBy: "//")[0] }
          .filter { !$0.hasPrefix("import ") }
          .joined().filter { !$0.isWhitespace }
      }
      #expect(code(blocks[1]) == code(marked[1]))
    }
  }
#endif
