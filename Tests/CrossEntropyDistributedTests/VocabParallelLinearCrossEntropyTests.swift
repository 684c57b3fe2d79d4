import CrossEntropy
import CrossEntropyDistributed
import Testing
import _CrossEntropyTestSupport

@Suite("VocabParallelLinearCrossEntropy")
struct VocabParallelLinearCrossEntropyTests {
  /// Runs the head on `ranks` threads and compares loss, dH, the assembled dW and db with the
  /// single-process LinearCrossEntropy.
  private func check<Scalar: DistributedScalar>(
    _ type: Scalar.Type, ranks: Int, head: VocabParallelLinearCrossEntropy, weighted: Bool,
    tolerance: Tolerance, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let (rows, size, classes) = (6, 5, 11)
    var generator = SeededGenerator(scrambledSeed: UInt64(ranks))
    let hidden = generator.normals(rows * size).map { Scalar($0) }
    let weight = generator.normals(classes * size, scale: 0.7).map { Scalar($0) }
    let bias = generator.normals(classes).map { Scalar($0) }
    let labels = (0..<rows).map { $0 == 2 ? -100 : Int.random(in: 0..<classes, using: &generator) }
    let classWeights =
      weighted
      ? (0..<classes).map { _ in Scalar(Double.random(in: 0.5..<2, using: &generator)) } : nil
    let reference = try head.singleProcess.lossAndGradient(
      hidden: ShapedArray(shape: [rows, size], scalars: hidden),
      weight: ShapedArray(shape: [classes, size], scalars: weight),
      bias: ShapedArray(shape: [classes], scalars: bias), labels: ShapedArray(labels),
      classWeights: classWeights)
    let partition = VocabularyPartition(classes: classes, ranks: ranks)
    let results = ThreadCommunicator.run(size: ranks, timeout: .seconds(30)) { c in
      let slice = partition.range(of: c.rank)
      return try head.lossAndGradient(
        hidden: ShapedArray(shape: [rows, size], scalars: hidden),
        weight: ShapedArray(
          shape: [slice.count, size],
          scalars: Array(weight[(slice.lowerBound * size)..<(slice.upperBound * size)])),
        bias: ShapedArray(shape: [slice.count], scalars: Array(bias[slice])),
        labels: ShapedArray(labels), classes: classes,
        classWeights: classWeights.map { Array($0[slice]) },
        vocabulary: c)
    }
    var weightGradient: [Scalar] = []
    var biasGradient: [Scalar] = []
    let what = "P=\(ranks) \(Scalar.self) weighted=\(weighted) \(head.criterion)"
    for result in results {
      let r = try result.get()
      weightGradient += r.weightGradient.scalars
      biasGradient += r.biasGradient.scalars
      for (actual, expected, name) in [
        (r.loss.scalars, reference.loss.scalars, "loss"),
        (r.hiddenGradient.scalars, reference.hiddenGradient.scalars, "dH"),
      ] {
        expectClose(
          actual.map(Double.init), expected.map(Double.init), relative: tolerance.relative,
          absolute: tolerance.absolute, "\(what) \(name)", sourceLocation: sourceLocation)
      }
    }
    expectClose(
      weightGradient.map(Double.init), reference.weightGradient.scalars.map(Double.init),
      relative: tolerance.relative, absolute: tolerance.absolute, "\(what) dW",
      sourceLocation: sourceLocation)
    expectClose(
      biasGradient.map(Double.init), reference.biasGradient!.scalars.map(Double.init),
      relative: tolerance.relative, absolute: tolerance.absolute, "\(what) db",
      sourceLocation: sourceLocation)
  }

  @Test("1 to 4 ranks equal the single-process head", arguments: [1, 2, 3, 4])
  func matchesSingleProcess(ranks: Int) throws {
    let heads = [
      VocabParallelLinearCrossEntropy(),
      VocabParallelLinearCrossEntropy(reduction: .sum, labelSmoothing: 0.1),
      VocabParallelLinearCrossEntropy(labelSmoothing: 0.2, zLossScale: 0.01, logitSoftCap: 3),
      VocabParallelLinearCrossEntropy(reduction: .none, zLossScale: 0.02),
    ]
    for head in heads {
      for weighted in [false, true] {
        try check(
          Double.self, ranks: ranks, head: head, weighted: weighted,
          tolerance: Tolerance(relative: 1e-11, absolute: 1e-12))
        try check(
          Float.self, ranks: ranks, head: head, weighted: weighted,
          tolerance: Tolerance(relative: 1e-4, absolute: 2e-6))
      }
    }
  }
}
