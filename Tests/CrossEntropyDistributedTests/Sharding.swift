import CrossEntropy
import CrossEntropyDistributed
import Foundation
import _CrossEntropyTestSupport

/// A random problem of `rows` rows and `classes` classes, its labels drawn from `labelRange`
/// (some set to the ignore index), with optional class weights.
struct ShardingProblem<Scalar: DistributedScalar> {
  var rows: Int
  var classes: Int
  var logits: [Scalar]
  var labels: [Int]
  var classWeights: [Scalar]?
  /// Per-sample weights (one per row), or nil.
  var sampleWeights: [Scalar]?
  /// The upstream gradient: one per row for `.none`, one value otherwise; or nil.
  var upstreamGradient: [Scalar]?

  init(
    rows: Int, classes: Int, seed: UInt64, weighted: Bool, ignoreIndex: Int,
    labelRange: Range<Int>? = nil
  ) {
    var generator = SeededGenerator(scrambledSeed: seed)
    self.rows = rows
    self.classes = classes
    logits = generator.normals(rows * classes, scale: 3).map { Scalar($0) }
    let range = labelRange ?? 0..<classes
    labels = (0..<rows).map { n in
      n % 4 == 3 ? ignoreIndex : Int.random(in: range, using: &generator)
    }
    classWeights =
      weighted
      ? (0..<classes).map { _ in Scalar(Double.random(in: 0.2..<2, using: &generator)) } : nil
  }

  /// This problem with random sample weights (one negative, one 0) and an upstream gradient
  /// shaped for `reduction`.
  func withRowScales(for reduction: Reduction, seed: UInt64) -> ShardingProblem {
    var generator = SeededGenerator(scrambledSeed: seed)
    var problem = self
    problem.sampleWeights = (0..<rows).map { n in
      n == 1 ? -0.5 : n == 2 ? 0 : Scalar(Double.random(in: 0.1..<2, using: &generator))
    }
    problem.upstreamGradient = (0..<(reduction == .none ? rows : 1)).map { _ in
      Scalar(Double.random(in: -2..<2, using: &generator))
    }
    return problem
  }

  /// Columns `slice` of the rows `rowRange`.
  func logits(rows rowRange: Range<Int>, columns slice: Range<Int>) -> [Scalar] {
    rowRange.flatMap { n in slice.map { c in logits[n * classes + c] } }
  }
}

/// Places the columns `slice` of a `rows x width` block into a `rows x classes` gradient.
func place<Scalar>(
  _ block: [Scalar], rows: Range<Int>, columns slice: Range<Int>, classes: Int,
  into full: inout [Scalar]
) {
  for (i, n) in rows.enumerated() {
    for (j, c) in slice.enumerated() { full[n * classes + c] = block[i * slice.count + j] }
  }
}

/// The result of one rank of a grid: its loss, its block of the gradient and where it lies.
struct RankResult<Scalar: Sendable>: Sendable {
  var loss: [Scalar]
  var gradient: [Scalar]
  var rows: Range<Int>
  var columns: Range<Int>
}

/// Runs `criterion` on a `vocabularyRanks x dataRanks` grid of threads (one world split by
/// colour), each rank holding its rows and columns of `problem`.
func runGrid<Scalar: DistributedScalar>(
  _ criterion: VocabParallelCrossEntropy, _ problem: ShardingProblem<Scalar>,
  vocabularyRanks: Int, dataRanks: Int, splitData: Bool = true
) -> [Result<RankResult<Scalar>, any Error>] {
  let partition = VocabularyPartition(classes: problem.classes, ranks: vocabularyRanks)
  let rowPartition = VocabularyPartition(classes: problem.rows, ranks: dataRanks)
  return ThreadCommunicator.run(size: vocabularyRanks * dataRanks, timeout: .seconds(30)) {
    world in
    let v = world.rank % vocabularyRanks
    let d = world.rank / vocabularyRanks
    let vocabulary = try world.split(colour: d, key: v)
    let data = try world.split(colour: v, key: d)
    let columns = partition.range(of: v)
    let rows = rowPartition.range(of: d)
    let logits = try ShapedArray(
      shape: [rows.count, columns.count], scalars: problem.logits(rows: rows, columns: columns))
    let labels = try ShapedArray(shape: [rows.count], scalars: Array(problem.labels[rows]))
    let weights = problem.classWeights.map { Array($0[columns]) }
    let upstream = problem.upstreamGradient.map { u in
      try! ShapedArray(
        shape: criterion.reduction == .none ? [rows.count] : [],
        scalars: criterion.reduction == .none ? Array(u[rows]) : u)
    }
    let result = try criterion.lossAndGradient(
      logits: logits, labels: labels, classes: problem.classes, classWeights: weights,
      sampleWeights: problem.sampleWeights.map { ShapedArray(Array($0[rows])) },
      upstreamGradient: upstream, vocabulary: vocabulary,
      data: splitData && dataRanks > 1 ? data : nil)
    return RankResult(
      loss: result.loss.scalars, gradient: result.gradient.scalars, rows: rows, columns: columns)
  }
}
