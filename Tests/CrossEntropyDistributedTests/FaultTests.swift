import CrossEntropy
import CrossEntropyDistributed
import Testing

/// Runs one step on `ranks` threads where `corrupt` may change one rank's input, and returns
/// each rank's error (nil when it did not throw). A short group timeout turns a hang into a
/// communication error, which the tests reject.
private func errors(
  ranks: Int, _ criterion: VocabParallelCrossEntropy = VocabParallelCrossEntropy(),
  corrupt: @escaping @Sendable (Int, inout [Float], inout [Int], inout [Int]) -> Void
) -> [DistributedError?] {
  let classes = 10
  let rows = 4
  let partition = VocabularyPartition(classes: classes, ranks: ranks)
  let start = ContinuousClock.now
  let results = ThreadCommunicator.run(size: ranks, timeout: .seconds(10)) { c in
    let width = partition.range(of: c.rank).count
    var logits = (0..<(rows * width)).map { Float($0 % 7) / 3 }
    var labels = [1, 9, -100, 4]
    var shape = [rows, width]
    corrupt(c.rank, &logits, &labels, &shape)
    _ = try VocabParallelCrossEntropy().lossAndGradient(
      logits: ShapedArray(shape: shape, scalars: logits), labels: ShapedArray(labels),
      classes: classes, vocabulary: c)
  }
  #expect(ContinuousClock.now - start < .seconds(8), "a rank waited for a timeout")
  return results.map { result in
    switch result {
    case .success: return nil
    case .failure(let error): return error as? DistributedError
    }
  }
}

@Suite("Faults")
struct FaultTests {
  @Test("a label out of range on one rank ends every rank with that rank's error")
  func labelOutOfRange() {
    let found = errors(ranks: 4) { rank, _, labels, _ in
      if rank == 2 { labels[1] = 10 }
    }
    guard case .input(let error)? = found[0] else {
      Issue.record("rank 0 did not throw an input error: \(String(describing: found[0]))")
      return
    }
    #expect(error.kind == .labelOutOfRange)
    #expect(error.message.hasPrefix("rank 2 of 4: label 10 at row 1 is outside 0..<10"))
    #expect(found.allSatisfy { $0 == found[0] })
  }

  @Test("logits that do not match a rank's slice end every rank with the same error")
  func shapeMismatch() {
    let found = errors(ranks: 3) { rank, logits, _, shape in
      if rank == 1 {
        shape = [4, 2]
        logits = Array(logits.prefix(8))
      }
    }
    #expect(found.allSatisfy { $0 == found[0] })
    #expect(found[0]?.description.hasPrefix("rank 1 of 3: logits hold 2 classes") == true)
  }

  @Test("ranks that disagree on the number of rows all throw, not hang")
  func rowsDisagree() {
    let found = errors(ranks: 2) { rank, logits, labels, shape in
      if rank == 1 {
        labels = Array(labels.prefix(3))
        shape[0] = 3
        logits = Array(logits.prefix(3 * shape[1]))
      }
    }
    #expect(found.allSatisfy { $0 == found[0] })
    #expect(
      found[0]?.description.hasPrefix("ranks disagree on the number of rows: from 3 to 4") == true)
  }

  @Test("bad options on every rank: SoftmaxCrossEntropy's message, prefixed with the first rank")
  func badOption() {
    let results = ThreadCommunicator.run(size: 2, timeout: .seconds(10)) { c in
      _ = try VocabParallelCrossEntropy(labelSmoothing: 1.5).loss(
        logits: ShapedArray(shape: [1, 1], scalars: [Float(0)]), labels: ShapedArray([0]),
        classes: 2, vocabulary: c)
    }
    let found = results.map { r -> DistributedError? in
      if case .failure(let e) = r { return e as? DistributedError }
      return nil
    }
    #expect(found.allSatisfy { $0 == found[0] })
    #expect(found[0]?.description.hasPrefix("rank 0 of 2:") == true)
  }

  @Test("a bad input on one rank of a 2 x 2 grid ends all four ranks with its error")
  func grid() {
    let results = ThreadCommunicator.run(size: 4, timeout: .seconds(10)) { world in
      let vocabulary = try world.split(colour: world.rank / 2, key: world.rank)
      let data = try world.split(colour: world.rank % 2, key: world.rank)
      let partition = VocabularyPartition(classes: 5, ranks: 2)
      let width = partition.range(of: vocabulary.rank).count
      let labels = world.rank == 3 ? [0, -7] : [0, 4]
      _ = try VocabParallelCrossEntropy().lossAndGradient(
        logits: ShapedArray(
          shape: [2, width], scalars: Array(repeating: Double(1), count: 2 * width)),
        labels: ShapedArray(labels), classes: 5, vocabulary: vocabulary, data: data)
    }
    let found = results.map { r -> DistributedError? in
      if case .failure(let e) = r { return e as? DistributedError }
      return nil
    }
    #expect(found.allSatisfy { $0 == found[0] })
    #expect(
      found[0]?.description.hasPrefix(
        "rank 1 of 2, data-parallel rank 1 of 2: label -7 at row 1") == true)
  }

  @Test("a classifier slice of the wrong hidden size on one rank ends every rank of the head")
  func linearHead() {
    let results = ThreadCommunicator.run(size: 3, timeout: .seconds(10)) { c in
      let width = VocabularyPartition(classes: 7, ranks: 3).range(of: c.rank).count
      let size = c.rank == 1 ? 5 : 4
      _ = try VocabParallelLinearCrossEntropy().lossAndGradient(
        hidden: ShapedArray(shape: [2, 4], scalars: Array(repeating: Float(0.5), count: 8)),
        weight: ShapedArray(
          shape: [width, size], scalars: Array(repeating: Float(0.1), count: width * size)),
        labels: ShapedArray([0, 6]), classes: 7, vocabulary: c)
    }
    let found = results.map { r -> DistributedError? in
      if case .failure(let e) = r { return e as? DistributedError }
      return nil
    }
    #expect(found.allSatisfy { $0 == found[0] })
    #expect(found[0]?.description.hasPrefix("rank 1 of 3: weight shape [2, 5]") == true)
  }
}
