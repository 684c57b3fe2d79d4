// The distributed losses over MPI, run under `mpirun -np P` (P = 1 to 4 in CI): every rank
// builds the same seeded problems, computes the single-process reference itself, and checks its
// own slice of the vocabulary-parallel result (and of 2-D grids, and of a bad input on the last
// rank). Exits 0 on every rank when every check passes on every rank.
//
// `CrossEntropyMPIChecks compare ACTUAL.npy EXPECTED.npy TOLERANCE` (any build, no MPI): exits 0
// when both files have one shape and dtype and agree within TOLERANCE relative plus TOLERANCE
// times the largest magnitude of EXPECTED, for .ci/run's checks of `xent evaluate
// --vocab-parallel` against the golden files.
import Foundation
import NumPyIO

if CommandLine.arguments.count == 5 && CommandLine.arguments[1] == "compare" {
  let arguments = CommandLine.arguments
  do {
    let actual = try NumPyArray(contentsOf: arguments[2])
    let expected = try NumPyArray(contentsOf: arguments[3])
    let tolerance = Double(arguments[4]) ?? 0
    let a =
      actual.dtype == .float32
      ? try actual.scalars(as: Float.self).map(Double.init) : try actual.scalars(as: Double.self)
    let e =
      expected.dtype == .float32
      ? try expected.scalars(as: Float.self).map(Double.init)
      : try expected.scalars(as: Double.self)
    let scale = e.reduce(0.0) { max($0, abs($1)) }
    let bad = zip(a, e).filter { abs($0 - $1) > tolerance * (abs($1) + scale) }
    guard actual.shape == expected.shape, actual.dtype == expected.dtype, bad.isEmpty else {
      print(
        "compare: \(arguments[2]) differs from \(arguments[3]): shapes \(actual.shape) \(expected.shape), dtypes \(actual.dtype) \(expected.dtype), \(bad.count) values apart, first \(bad.first.map { "\($0)" } ?? "-")"
      )
      exit(1)
    }
    exit(0)
  } catch {
    print("compare: \(error)")
    exit(1)
  }
}

#if MPI
  import CrossEntropy
  import CrossEntropyDistributed

  /// SplitMix64, the same stream on every rank.
  struct Generator {
    var state: UInt64
    mutating func next() -> Double {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
  }

  func close(_ a: [Double], _ b: [Double], relative: Double, absolute: Double) -> Bool {
    a.count == b.count
      && zip(a, b).allSatisfy { x, y in
        (x.isNaN && y.isNaN) || abs(x - y) <= relative * abs(y) + absolute
      }
  }

  /// One problem on a `vocabularyRanks x dataRanks` grid of `world`.
  func check<Scalar: DistributedScalar>(
    _: Scalar.Type, world: any Communicator, criterion: VocabParallelCrossEntropy, rows: Int,
    classes: Int, weighted: Bool, vocabularyRanks: Int, seed: UInt64, tolerance: Double,
    failures: inout [String]
  ) throws {
    let dataRanks = world.size / vocabularyRanks
    var generator = Generator(state: seed)
    let logits = (0..<(rows * classes)).map { _ in Scalar(6 * generator.next() - 3) }
    let labels = (0..<rows).map { n in n % 4 == 3 ? -100 : Int(generator.next() * Double(classes)) }
    let weights = weighted ? (0..<classes).map { _ in Scalar(0.2 + 1.8 * generator.next()) } : nil
    let reference = try criterion.singleProcess.lossAndGradient(
      logits: ShapedArray(shape: [rows, classes], scalars: logits), labels: ShapedArray(labels),
      classWeights: weights)
    let v = world.rank % vocabularyRanks
    let d = world.rank / vocabularyRanks
    let vocabulary = try world.split(colour: d, key: v)
    let data = try world.split(colour: v, key: d)
    let columns = VocabularyPartition(classes: classes, ranks: vocabularyRanks).range(of: v)
    let rowRange = VocabularyPartition(classes: rows, ranks: dataRanks).range(of: d)
    let local = rowRange.flatMap { n in columns.map { logits[n * classes + $0] } }
    let result = try criterion.lossAndGradient(
      logits: ShapedArray(shape: [rowRange.count, columns.count], scalars: local),
      labels: ShapedArray(Array(labels[rowRange])), classes: classes,
      classWeights: weights.map { Array($0[columns]) }, vocabulary: vocabulary,
      data: dataRanks > 1 ? data : nil)
    let expectedLoss =
      criterion.reduction == .none
      ? Array(reference.loss.scalars[rowRange]) : reference.loss.scalars
    let expectedGradient = rowRange.flatMap { n in
      columns.map { reference.gradient.scalars[n * classes + $0] }
    }
    let scale = reference.gradient.scalars.reduce(0.0) { max($0, abs(Double($1))) }
    if !close(
      result.loss.scalars.map(Double.init), expectedLoss.map(Double.init), relative: tolerance,
      absolute: tolerance)
      || !close(
        result.gradient.scalars.map(Double.init), expectedGradient.map(Double.init),
        relative: tolerance, absolute: tolerance * scale)
    {
      failures.append(
        "rank \(world.rank): \(Scalar.self) \(vocabularyRanks)x\(dataRanks) V=\(classes)"
          + " weighted=\(weighted) \(criterion)")
    }
  }

  do {
    var failures: [String] = []
    let world = try MPICommunicator.world()
    var criteria: [VocabParallelCrossEntropy] = []
    for reduction in Reduction.allCases {
      for (smoothing, zLoss, cap) in [(0.0, 0.0, nil), (0.2, 0.01, 4.0), (0.1, 0, nil)]
        as [(Double, Double, Double?)]
      {
        criteria.append(
          VocabParallelCrossEntropy(
            reduction: reduction, labelSmoothing: smoothing, zLossScale: zLoss, logitSoftCap: cap))
      }
    }
    criteria.append(VocabParallelCrossEntropy(labelSmoothing: 0.1, normalizer: 7.5))
    let grids =
      [world.size] + (world.size % 2 == 0 && world.size > 2 ? [world.size / 2] : [])
      + (world.size > 1 ? [1] : [])
    for vocabularyRanks in grids {
      for criterion in criteria {
        for weighted in [false, true] {
          for classes in [11, 3] {
            try check(
              Double.self, world: world, criterion: criterion, rows: 10, classes: classes,
              weighted: weighted, vocabularyRanks: vocabularyRanks, seed: 7, tolerance: 1e-12,
              failures: &failures)
            try check(
              Float.self, world: world, criterion: criterion, rows: 10, classes: classes,
              weighted: weighted, vocabularyRanks: vocabularyRanks, seed: 8, tolerance: 2e-5,
              failures: &failures)
          }
        }
      }
    }
    // A label out of range on the last rank: every rank throws that rank's error.
    let partition = VocabularyPartition(classes: 5, ranks: world.size)
    let width = partition.range(of: world.rank).count
    do {
      _ = try VocabParallelCrossEntropy().loss(
        logits: ShapedArray(
          shape: [2, width], scalars: Array(repeating: Float(0), count: 2 * width)),
        labels: ShapedArray(world.rank == world.size - 1 ? [0, 5] : [0, 1]), classes: 5,
        vocabulary: world)
      failures.append("rank \(world.rank): a bad label on another rank did not throw")
    } catch let error as DistributedError {
      let expected = "rank \(world.size - 1) of \(world.size): label 5 at row 1"
      if !error.description.hasPrefix(expected) {
        failures.append("rank \(world.rank): unexpected error \(error)")
      }
    }
    var failed = [Double(failures.count)]
    try failed.withUnsafeMutableBufferPointer { try world.allReduce($0, .sum) }
    for failure in failures.prefix(5) { print("FAIL \(failure)") }
    if world.rank == 0 {
      print(
        failed[0] == 0
          ? "MPI checks passed on \(world.size) ranks" : "MPI checks: \(Int(failed[0])) failures")
    }
    MPICommunicator.finalize()
    exit(failed[0] == 0 ? 0 : 1)
  } catch {
    print("MPI checks: \(error)")
    exit(1)
  }
#else
  print("built without the package trait MPI; build with --traits MPI")
#endif
