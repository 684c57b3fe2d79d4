import CrossEntropy
import CrossEntropyDistributed
import Testing
import _CrossEntropyTestSupport

@Suite("DataParallel")
struct DataParallelTests {
  @Test(
    "the global normaliser makes the ranks' means add up to the global batch's",
    arguments: [1, 2, 3])
  func normalizer(ranks: Int) throws {
    for weighted in [false, true] {
      let problem = ShardingProblem<Double>(
        rows: 11, classes: 6, seed: 30, weighted: weighted, ignoreIndex: -100)
      let logits = try ShapedArray(shape: [problem.rows, problem.classes], scalars: problem.logits)
      let reference = try SoftmaxCrossEntropy(labelSmoothing: 0.1).lossAndGradient(
        logits: logits, labels: ShapedArray(problem.labels), classWeights: problem.classWeights)
      let partition = VocabularyPartition(classes: problem.rows, ranks: ranks)
      let results = ThreadCommunicator.run(size: ranks) { c in
        let rows = partition.range(of: c.rank)
        let labels = Array(problem.labels[rows])
        let k = try DataParallel.normalizer(
          labels: labels, classWeights: problem.classWeights, data: c)
        return try SoftmaxCrossEntropy(labelSmoothing: 0.1, normalizer: k).lossAndGradient(
          logits: ShapedArray(
            shape: [rows.count, problem.classes],
            scalars: problem.logits(rows: rows, columns: 0..<problem.classes)),
          labels: ShapedArray(labels), classWeights: problem.classWeights)
      }
      var loss = 0.0
      var gradient: [Double] = []
      for result in results {
        let r = try result.get()
        loss += r.loss.scalars[0]
        gradient += r.gradient.scalars
      }
      #expect(agrees(loss, reference.loss.scalars[0], relative: 1e-12, absolute: 1e-14))
      expectClose(
        gradient, reference.gradient.scalars, relative: 1e-12, absolute: 1e-14, "gradient")
    }
  }
}
