import CrossEntropy
import CrossEntropyDistributed
import Testing
import _CrossEntropyTestSupport

// Tolerances against the single-process SoftmaxCrossEntropy on the whole problem: the
// distributed log-sum-exp is combined from per-slice ones and the sums are formed in another
// order, so fp32 agrees to a few ulps of the loss (2e-5 relative) and of the gradient (2e-5
// relative plus 1e-6 of its largest magnitude); Double to 1e-12.
private let floatTolerance = Tolerance(relative: 2e-5, absolute: 1e-6)
private let doubleTolerance = Tolerance(relative: 1e-12, absolute: 1e-13)

/// Every combination of the options, on one problem.
private func optionSweep() -> [VocabParallelCrossEntropy] {
  var criteria: [VocabParallelCrossEntropy] = []
  for reduction in Reduction.allCases {
    for smoothing in [0.0, 0.2] {
      for zLoss in [0.0, 0.01] {
        for cap in [nil, 4.0] {
          for normalizer in reduction == .mean ? [nil, 7.5] : [nil] {
            criteria.append(
              VocabParallelCrossEntropy(
                reduction: reduction, ignoreIndex: -100, labelSmoothing: smoothing,
                zLossScale: zLoss, logitSoftCap: cap, normalizer: normalizer))
          }
        }
      }
    }
  }
  return criteria
}

/// Runs the grid and compares the (identical on every rank) loss and the assembled gradient
/// with the single-process criterion on the whole problem.
private func expectMatchesSingleProcess<Scalar: DistributedScalar>(
  _ criterion: VocabParallelCrossEntropy, _ problem: ShardingProblem<Scalar>,
  vocabularyRanks: Int, dataRanks: Int = 1, tolerance: Tolerance, _ what: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let logits = try ShapedArray(shape: [problem.rows, problem.classes], scalars: problem.logits)
  let labels = try ShapedArray(shape: [problem.rows], scalars: problem.labels)
  let reference = try criterion.singleProcess.lossAndGradient(
    logits: logits, labels: labels, classWeights: problem.classWeights,
    sampleWeights: try problem.sampleWeights.map {
      try ShapedArray(shape: [problem.rows], scalars: $0)
    },
    upstreamGradient: try problem.upstreamGradient.map { u in
      try ShapedArray(shape: criterion.reduction == .none ? [problem.rows] : [], scalars: u)
    })
  let results = runGrid(criterion, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks)
  var gradient = [Scalar](repeating: .nan, count: problem.rows * problem.classes)
  var perRow = [Scalar](repeating: .nan, count: problem.rows)
  for result in results {
    let rank = try result.get()
    place(
      rank.gradient, rows: rank.rows, columns: rank.columns, classes: problem.classes,
      into: &gradient)
    if criterion.reduction == .none {
      for (i, n) in rank.rows.enumerated() { perRow[n] = rank.loss[i] }
    } else {
      expectClose(
        rank.loss.map(Double.init), reference.loss.scalars.map(Double.init),
        relative: tolerance.relative, absolute: tolerance.absolute, "\(what) loss",
        sourceLocation: sourceLocation)
    }
  }
  if criterion.reduction == .none {
    expectClose(
      perRow.map(Double.init), reference.loss.scalars.map(Double.init),
      relative: tolerance.relative, absolute: tolerance.absolute, "\(what) loss",
      sourceLocation: sourceLocation)
  }
  let expected = reference.gradient.scalars.map(Double.init)
  expectClose(
    gradient.map(Double.init), expected, relative: tolerance.relative,
    absolute: tolerance.absolute * largestFiniteMagnitude(expected), "\(what) gradient",
    sourceLocation: sourceLocation)
}

@Suite("VocabParallelCrossEntropy")
struct VocabParallelCrossEntropyTests {
  @Test(
    "1 to 4 ranks equal the single process for every option, fp32",
    arguments: [1, 2, 3, 4])
  func everyOptionFloat(ranks: Int) throws {
    // 11 classes divide by none of 2, 3, 4.
    for weighted in [false, true] {
      let problem = ShardingProblem<Float>(
        rows: 9, classes: 11, seed: UInt64(ranks), weighted: weighted, ignoreIndex: -100)
      for criterion in optionSweep() {
        try expectMatchesSingleProcess(
          criterion, problem, vocabularyRanks: ranks, tolerance: floatTolerance,
          "P=\(ranks) weighted=\(weighted) \(criterion)")
      }
    }
  }

  @Test(
    "1 to 4 ranks equal the single process for every option, Double",
    arguments: [1, 2, 3, 4])
  func everyOptionDouble(ranks: Int) throws {
    for weighted in [false, true] {
      let problem = ShardingProblem<Double>(
        rows: 7, classes: 10, seed: 10 + UInt64(ranks), weighted: weighted, ignoreIndex: -100)
      for criterion in optionSweep() {
        try expectMatchesSingleProcess(
          criterion, problem, vocabularyRanks: ranks, tolerance: doubleTolerance,
          "P=\(ranks) weighted=\(weighted) \(criterion)")
      }
    }
  }

  @Test("ranks whose slice holds no target, and a rank with no class at all")
  func emptySlices() throws {
    // Every target in rank 0's slice of 12 classes over 4 ranks (0..<3).
    let problem = ShardingProblem<Double>(
      rows: 8, classes: 12, seed: 3, weighted: true, ignoreIndex: -1, labelRange: 0..<3)
    let smoothing = VocabParallelCrossEntropy(
      ignoreIndex: -1, labelSmoothing: 0.1, zLossScale: 0.01)
    try expectMatchesSingleProcess(
      smoothing, problem, vocabularyRanks: 4, tolerance: doubleTolerance, "targets on rank 0")
    // 3 classes over 4 ranks: rank 3 holds none.
    let small = ShardingProblem<Float>(
      rows: 5, classes: 3, seed: 4, weighted: true, ignoreIndex: -100)
    for criterion in optionSweep() {
      try expectMatchesSingleProcess(
        criterion, small, vocabularyRanks: 4, tolerance: floatTolerance, "V=3 P=4 \(criterion)")
    }
  }

  @Test(
    "an ignore index inside the class range, and a batch whose labels are all ignored (NaN or 0)")
  func ignoreIndex() throws {
    var problem = ShardingProblem<Double>(
      rows: 6, classes: 9, seed: 5, weighted: false, ignoreIndex: 4)
    let criterion = VocabParallelCrossEntropy(ignoreIndex: 4, labelSmoothing: 0.3)
    try expectMatchesSingleProcess(
      criterion, problem, vocabularyRanks: 3, tolerance: doubleTolerance, "ignore index 4")
    problem.labels = Array(repeating: 4, count: problem.rows)
    for allIgnored in AllIgnoredMean.allCases {
      for zLoss in [0, 0.01] {
        var all = criterion
        all.allIgnored = allIgnored
        all.zLossScale = zLoss
        try expectMatchesSingleProcess(
          all, problem, vocabularyRanks: 3, tolerance: doubleTolerance, "all ignored \(all)")
        try expectMatchesSingleProcess(
          all, problem, vocabularyRanks: 2, dataRanks: 2, tolerance: doubleTolerance,
          "all ignored, 2 x 2 \(all)")
      }
    }
  }

  @Test(
    "data-parallel and 2-D grids equal the single process over the global batch",
    arguments: [(1, 2), (1, 3), (2, 2), (3, 1), (2, 3)])
  func grids(vocabularyRanks: Int, dataRanks: Int) throws {
    for weighted in [false, true] {
      // 10 rows over 3 data ranks: 4, 3, 3; ranks hold different numbers of ignored rows.
      let problem = ShardingProblem<Double>(
        rows: 10, classes: 7, seed: 20, weighted: weighted, ignoreIndex: -100)
      for criterion in optionSweep() {
        try expectMatchesSingleProcess(
          criterion, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks,
          tolerance: doubleTolerance,
          "grid \(vocabularyRanks)x\(dataRanks) weighted=\(weighted) \(criterion)")
      }
    }
    let problem = ShardingProblem<Float>(
      rows: 10, classes: 7, seed: 21, weighted: true, ignoreIndex: -100)
    try expectMatchesSingleProcess(
      VocabParallelCrossEntropy(labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 5), problem,
      vocabularyRanks: vocabularyRanks, dataRanks: dataRanks, tolerance: floatTolerance,
      "grid fp32")
  }

  @Test(
    "sample weights and upstream gradients, on 1 to 4 ranks and 2-D grids",
    arguments: [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (1, 3)])
  func rowScales(vocabularyRanks: Int, dataRanks: Int) throws {
    for weighted in [false, true] {
      let base = ShardingProblem<Double>(
        rows: 9, classes: 7, seed: 40, weighted: weighted, ignoreIndex: -100)
      for criterion in optionSweep() {
        let problem = base.withRowScales(for: criterion.reduction, seed: 41)
        try expectMatchesSingleProcess(
          criterion, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks,
          tolerance: doubleTolerance,
          "row scales \(vocabularyRanks)x\(dataRanks) weighted=\(weighted) \(criterion)")
      }
    }
    let problem = ShardingProblem<Float>(
      rows: 9, classes: 7, seed: 42, weighted: true, ignoreIndex: -100
    ).withRowScales(for: .mean, seed: 43)
    try expectMatchesSingleProcess(
      VocabParallelCrossEntropy(labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 5), problem,
      vocabularyRanks: vocabularyRanks, dataRanks: dataRanks, tolerance: floatTolerance,
      "row scales fp32")
  }

  @Test("without the data communicator, each data rank's mean is its own (the common mistake)")
  func localMeanDiffers() throws {
    let problem = ShardingProblem<Double>(
      rows: 12, classes: 5, seed: 22, weighted: false, ignoreIndex: -100)
    let results = runGrid(
      VocabParallelCrossEntropy(), problem, vocabularyRanks: 1, dataRanks: 2, splitData: false)
    let losses = try results.map { try $0.get().loss[0] }
    let logits = try ShapedArray(shape: [problem.rows, problem.classes], scalars: problem.logits)
    let labels = try ShapedArray(shape: [problem.rows], scalars: problem.labels)
    let global = try SoftmaxCrossEntropy().loss(logits: logits, labels: labels).scalars[0]
    #expect(abs((losses[0] + losses[1]) / 2 - global) > 1e-6)
  }
}
