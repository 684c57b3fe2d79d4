import CrossEntropy
import CrossEntropyDistributed
import Testing
import _CrossEntropyTestSupport

// Tolerances against the single-process LinearCrossEntropy: its products block differently,
// so fp32 agrees within 1e-4 relative plus 2e-6 (of the largest gradient magnitude), Double
// within 1e-11 plus 1e-12. The streamed and one-pass heads agree more closely: only the order
// of dW's and db's sums over row chunks (and of the log-sum-exp over class blocks) differs.
private let floatTolerance = Tolerance(relative: 1e-4, absolute: 2e-6)
private let doubleTolerance = Tolerance(relative: 1e-11, absolute: 1e-12)

/// A random head: `rows` hidden states of `size`, a classifier of `classes` rows and a bias,
/// labels from `labelRange` (every fourth ignored), and optionally class weights, sample
/// weights and an upstream gradient.
private struct HeadProblem<Scalar: DistributedScalar> {
  var rows: Int
  var size: Int
  var classes: Int
  var hidden: [Scalar]
  var weight: [Scalar]
  var bias: [Scalar]
  var labels: [Int]
  var classWeights: [Scalar]?
  var sampleWeights: [Scalar]?
  var upstreamGradient: [Scalar]?

  init(
    rows: Int, size: Int = 4, classes: Int, seed: UInt64, weighted: Bool,
    labelRange: Range<Int>? = nil, ignoreIndex: Int = -100
  ) {
    var generator = SeededGenerator(scrambledSeed: seed)
    self.rows = rows
    self.size = size
    self.classes = classes
    hidden = generator.normals(rows * size).map { Scalar($0) }
    weight = generator.normals(classes * size, scale: 0.7).map { Scalar($0) }
    bias = generator.normals(classes).map { Scalar($0) }
    let range = labelRange ?? 0..<classes
    labels = (0..<rows).map { n in
      n % 4 == 2 ? ignoreIndex : Int.random(in: range, using: &generator)
    }
    classWeights =
      weighted
      ? (0..<classes).map { _ in Scalar(Double.random(in: 0.5..<2, using: &generator)) } : nil
  }

  /// This problem with sample weights (one negative, one 0) and an upstream gradient shaped
  /// for `reduction`.
  func withRowScales(for reduction: Reduction, seed: UInt64) -> HeadProblem {
    var generator = SeededGenerator(scrambledSeed: seed)
    var problem = self
    problem.sampleWeights = (0..<rows).map { n in
      n == 1 ? -0.5 : n == 3 ? 0 : Scalar(Double.random(in: 0.1..<2, using: &generator))
    }
    problem.upstreamGradient = (0..<(reduction == .none ? rows : 1)).map { _ in
      Scalar(Double.random(in: -2..<2, using: &generator))
    }
    return problem
  }
}

/// The loss and the three gradients of a whole head, assembled from the ranks.
private struct HeadResult<Scalar> {
  var loss: [Scalar]
  var hidden: [Scalar]
  var weight: [Scalar]
  var bias: [Scalar]
}

/// The single-process head on the whole problem.
private func reference<Scalar: DistributedScalar>(
  _ head: VocabParallelLinearCrossEntropy, _ p: HeadProblem<Scalar>
) throws -> HeadResult<Scalar> {
  let r = try head.singleProcess.lossAndGradient(
    hidden: ShapedArray(shape: [p.rows, p.size], scalars: p.hidden),
    weight: ShapedArray(shape: [p.classes, p.size], scalars: p.weight),
    bias: ShapedArray(shape: [p.classes], scalars: p.bias), labels: ShapedArray(p.labels),
    classWeights: p.classWeights, sampleWeights: p.sampleWeights.map { ShapedArray($0) },
    upstreamGradient: try p.upstreamGradient.map { u in
      try ShapedArray(shape: head.criterion.reduction == .none ? [p.rows] : [], scalars: u)
    })
  return HeadResult(
    loss: r.loss.scalars, hidden: r.hiddenGradient.scalars, weight: r.weightGradient.scalars,
    bias: r.biasGradient!.scalars)
}

/// Runs `head` on a `vocabularyRanks x dataRanks` grid of threads and assembles the result:
/// each data rank's rows of the loss (`.none`) and of dH, the sum over data ranks of each
/// vocabulary rank's dW and db slices. Every rank of `.mean` and `.sum` must give one loss.
private func distributed<Scalar: DistributedScalar>(
  _ head: VocabParallelLinearCrossEntropy, _ p: HeadProblem<Scalar>, vocabularyRanks: Int,
  dataRanks: Int = 1
) throws -> HeadResult<Scalar> {
  let reduction = head.criterion.reduction
  let partition = VocabularyPartition(classes: p.classes, ranks: vocabularyRanks)
  let rowPartition = VocabularyPartition(classes: p.rows, ranks: dataRanks)
  let results = ThreadCommunicator.run(size: vocabularyRanks * dataRanks, timeout: .seconds(30)) {
    world in
    let v = world.rank % vocabularyRanks
    let d = world.rank / vocabularyRanks
    let vocabulary = try world.split(colour: d, key: v)
    let data = try world.split(colour: v, key: d)
    let slice = partition.range(of: v)
    let rows = rowPartition.range(of: d)
    let upstream = p.upstreamGradient.map { u in
      try! ShapedArray(
        shape: reduction == .none ? [rows.count] : [],
        scalars: reduction == .none ? Array(u[rows]) : u)
    }
    let r = try head.lossAndGradient(
      hidden: ShapedArray(
        shape: [rows.count, p.size],
        scalars: Array(p.hidden[(rows.lowerBound * p.size)..<(rows.upperBound * p.size)])),
      weight: ShapedArray(
        shape: [slice.count, p.size],
        scalars: Array(p.weight[(slice.lowerBound * p.size)..<(slice.upperBound * p.size)])),
      bias: ShapedArray(shape: [slice.count], scalars: Array(p.bias[slice])),
      labels: ShapedArray(shape: [rows.count], scalars: Array(p.labels[rows])),
      classes: p.classes, classWeights: p.classWeights.map { Array($0[slice]) },
      sampleWeights: p.sampleWeights.map { ShapedArray(Array($0[rows])) },
      upstreamGradient: upstream, vocabulary: vocabulary, data: dataRanks > 1 ? data : nil)
    return (rows: rows, slice: slice, result: r)
  }
  var assembled = HeadResult<Scalar>(
    loss: Array(repeating: .nan, count: reduction == .none ? p.rows : 1),
    hidden: Array(repeating: .nan, count: p.rows * p.size),
    weight: Array(repeating: 0, count: p.classes * p.size),
    bias: Array(repeating: 0, count: p.classes))
  var losses: [[Scalar]] = []
  for result in results {
    let (rows, slice, r) = try result.get()
    if reduction == .none {
      for (i, n) in rows.enumerated() { assembled.loss[n] = r.loss.scalars[i] }
    } else {
      losses.append(r.loss.scalars)
    }
    for i in 0..<(rows.count * p.size) {
      assembled.hidden[rows.lowerBound * p.size + i] = r.hiddenGradient.scalars[i]
    }
    for i in 0..<(slice.count * p.size) {
      assembled.weight[slice.lowerBound * p.size + i] += r.weightGradient.scalars[i]
    }
    for (j, c) in slice.enumerated() { assembled.bias[c] += r.biasGradient.scalars[j] }
  }
  if let first = losses.first {
    #expect(losses.allSatisfy { $0 == first || ($0[0].isNaN && first[0].isNaN) })
    assembled.loss = first
  }
  return assembled
}

/// Expects two results of one head to agree within `tolerance` (gradients: relative plus
/// `absolute` times their largest magnitude).
private func expectAgree<Scalar: DistributedScalar>(
  _ actual: HeadResult<Scalar>, _ expected: HeadResult<Scalar>, tolerance: Tolerance,
  _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  for (a, e, name) in [
    (actual.loss, expected.loss, "loss"), (actual.hidden, expected.hidden, "dH"),
    (actual.weight, expected.weight, "dW"), (actual.bias, expected.bias, "db"),
  ] {
    let e = e.map(Double.init)
    let scale = name == "loss" ? 1 : max(1, largestFiniteMagnitude(e))
    expectClose(
      a.map(Double.init), e, relative: tolerance.relative,
      absolute: tolerance.absolute * scale, "\(what) \(name)", sourceLocation: sourceLocation)
  }
}

/// The heads of every option combination, with `scratchLimit`.
private func headSweep(scratchLimit: Int) -> [VocabParallelLinearCrossEntropy] {
  var heads: [VocabParallelLinearCrossEntropy] = []
  for reduction in Reduction.allCases {
    for (smoothing, zLoss, cap) in [(0.0, 0.0, nil), (0.2, 0.01, 3.0), (0.1, 0, nil)]
      as [(Double, Double, Double?)]
    {
      for normalizer in reduction == .mean ? [nil, 7.5] : [nil] {
        heads.append(
          VocabParallelLinearCrossEntropy(
            reduction: reduction, labelSmoothing: smoothing, zLossScale: zLoss,
            logitSoftCap: cap, normalizer: normalizer, scratchLimit: scratchLimit))
      }
    }
  }
  return heads
}

/// Checks `head` (streamed by its small scratch limit) against the single process and against
/// the same head with the default limit (one pass).
private func checkStreamed<Scalar: DistributedScalar>(
  _ head: VocabParallelLinearCrossEntropy, _ problem: HeadProblem<Scalar>, vocabularyRanks: Int,
  dataRanks: Int = 1, tolerance: Tolerance, _ what: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let expected = try reference(head, problem)
  let streamed = try distributed(
    head, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks)
  var onePass = head
  onePass.scratchLimit = LinearCrossEntropy.defaultScratchLimit
  let whole = try distributed(
    onePass, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks)
  let label = "\(what) \(vocabularyRanks)x\(dataRanks) \(Scalar.self) \(head)"
  expectAgree(streamed, expected, tolerance: tolerance, label, sourceLocation: sourceLocation)
  expectAgree(
    streamed, whole, tolerance: tolerance, label + " (one pass)", sourceLocation: sourceLocation)
}

@Suite("VocabParallelLinearCrossEntropy")
struct VocabParallelLinearCrossEntropyTests {
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
        let seed = UInt64(ranks)
        let double = HeadProblem<Double>(
          rows: 6, size: 5, classes: 11, seed: seed, weighted: weighted)
        expectAgree(
          try distributed(head, double, vocabularyRanks: ranks), try reference(head, double),
          tolerance: doubleTolerance, "P=\(ranks) weighted=\(weighted) \(head)")
        let float = HeadProblem<Float>(
          rows: 6, size: 5, classes: 11, seed: seed, weighted: weighted)
        expectAgree(
          try distributed(head, float, vocabularyRanks: ranks), try reference(head, float),
          tolerance: floatTolerance, "P=\(ranks) weighted=\(weighted) \(head)")
      }
    }
  }

  @Test(
    "a streamed head (row chunks, class blocks) equals the single process and the one pass",
    arguments: [1, 2, 3, 4])
  func streamed(ranks: Int) throws {
    // 37 rows: chunks of 13 rows when 16 rows fit, else blocks of 16 rows (the last of 5) and
    // a few classes; 11 classes divide by none of 2, 3, 4.
    for weighted in [false, true] {
      let problem = HeadProblem<Double>(
        rows: 37, classes: 11, seed: 50 + UInt64(ranks), weighted: weighted)
      for elements in [16 * 11, 20] {
        for head in headSweep(scratchLimit: elements * 8) {
          try checkStreamed(
            head, problem, vocabularyRanks: ranks, tolerance: doubleTolerance,
            "weighted=\(weighted) \(elements) logits")
        }
      }
    }
    let problem = HeadProblem<Float>(rows: 37, classes: 11, seed: 60, weighted: true)
    for head in headSweep(scratchLimit: 20 * 4) {
      try checkStreamed(head, problem, vocabularyRanks: ranks, tolerance: floatTolerance, "fp32")
    }
  }

  @Test("streamed edge cases: one row, ranks without targets or classes, ignore indices")
  func streamedEdges() throws {
    let smoothing = VocabParallelLinearCrossEntropy(
      labelSmoothing: 0.1, zLossScale: 0.01, scratchLimit: 3 * 8)
    // One row, one class per block.
    let one = HeadProblem<Double>(rows: 1, classes: 7, seed: 70, weighted: true)
    for ranks in 1...3 {
      try checkStreamed(smoothing, one, vocabularyRanks: ranks, tolerance: doubleTolerance, "N=1")
    }
    // Every target in rank 0's slice of 12 classes over 4 ranks (0..<3).
    let targets = HeadProblem<Double>(
      rows: 9, classes: 12, seed: 71, weighted: true, labelRange: 0..<3)
    try checkStreamed(
      smoothing, targets, vocabularyRanks: 4, tolerance: doubleTolerance, "targets on rank 0")
    // 3 classes over 4 ranks: rank 3 holds none.
    let small = HeadProblem<Double>(rows: 5, classes: 3, seed: 72, weighted: false)
    for head in headSweep(scratchLimit: 2 * 8) {
      try checkStreamed(head, small, vocabularyRanks: 4, tolerance: doubleTolerance, "V=3 P=4")
    }
    // An ignore index inside the class range.
    let inside = HeadProblem<Double>(rows: 11, classes: 9, seed: 74, weighted: true, ignoreIndex: 4)
    var four = smoothing
    four.criterion.ignoreIndex = 4
    try checkStreamed(four, inside, vocabularyRanks: 3, tolerance: doubleTolerance, "ignore 4")
    // Every label ignored: .nan or .zero, zero gradients.
    var ignored = HeadProblem<Double>(rows: 6, classes: 7, seed: 73, weighted: false)
    ignored.labels = Array(repeating: -100, count: ignored.rows)
    for allIgnored in AllIgnoredMean.allCases {
      var head = smoothing
      head.criterion.allIgnored = allIgnored
      try checkStreamed(
        head, ignored, vocabularyRanks: 3, tolerance: doubleTolerance, "all ignored")
    }
  }

  @Test(
    "a streamed head on data-parallel and 2-D grids equals the single process",
    arguments: [(1, 2), (2, 2), (1, 3), (3, 1)])
  func streamedGrids(vocabularyRanks: Int, dataRanks: Int) throws {
    // 37 rows over 2 or 3 data ranks, each rank with its own count of ignored rows.
    for weighted in [false, true] {
      let problem = HeadProblem<Double>(rows: 37, classes: 7, seed: 80, weighted: weighted)
      for head in headSweep(scratchLimit: 10 * 8) {
        try checkStreamed(
          head, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks,
          tolerance: doubleTolerance, "weighted=\(weighted)")
      }
    }
  }

  @Test(
    "sample weights and upstream gradients, one pass and streamed, on 1 to 4 ranks and grids",
    arguments: [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (1, 3)])
  func rowScales(vocabularyRanks: Int, dataRanks: Int) throws {
    for weighted in [false, true] {
      let base = HeadProblem<Double>(rows: 19, classes: 9, seed: 90, weighted: weighted)
      for head in headSweep(scratchLimit: 12 * 8) {
        let problem = base.withRowScales(for: head.criterion.reduction, seed: 91)
        try checkStreamed(
          head, problem, vocabularyRanks: vocabularyRanks, dataRanks: dataRanks,
          tolerance: doubleTolerance, "row scales weighted=\(weighted)")
      }
    }
    let problem = HeadProblem<Float>(rows: 19, classes: 9, seed: 92, weighted: true)
    for reduction in Reduction.allCases {
      let head = VocabParallelLinearCrossEntropy(
        reduction: reduction, labelSmoothing: 0.1, zLossScale: 0.01, logitSoftCap: 5,
        scratchLimit: 12 * 4)
      try checkStreamed(
        head, problem.withRowScales(for: reduction, seed: 93), vocabularyRanks: vocabularyRanks,
        dataRanks: dataRanks, tolerance: floatTolerance, "row scales fp32")
    }
  }

  @Test("sample weights and an upstream gradient of the wrong shape end every rank")
  func rowScaleShapes() {
    let results = ThreadCommunicator.run(size: 2, timeout: .seconds(10)) { c in
      let width = VocabularyPartition(classes: 5, ranks: 2).range(of: c.rank).count
      _ = try VocabParallelLinearCrossEntropy(reduction: .none).lossAndGradient(
        hidden: ShapedArray(shape: [2, 3], scalars: Array(repeating: 0.5, count: 6)),
        weight: ShapedArray(
          shape: [width, 3], scalars: Array(repeating: 0.1, count: width * 3)),
        labels: ShapedArray([0, 4]), classes: 5,
        upstreamGradient: ShapedArray(c.rank == 1 ? [1.0] : [1.0, 2.0]), vocabulary: c)
    }
    for result in results {
      #expect(throws: DistributedError.self) { try result.get() }
      if case .failure(let error as DistributedError) = result {
        #expect(
          error.description
            == "rank 1 of 2: upstream gradient shape [1] does not match the loss's, [2]")
      }
    }
  }
}
