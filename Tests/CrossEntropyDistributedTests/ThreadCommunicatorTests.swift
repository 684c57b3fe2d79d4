import CrossEntropy
import CrossEntropyDistributed
import Testing

@Suite("ThreadCommunicator")
struct ThreadCommunicatorTests {
  @Test("all-reduce sums in rank order and takes maxima; every member gets the same values")
  func allReduce() throws {
    for size in 1...4 {
      let results = ThreadCommunicator.run(size: size) { c in
        var sums: [Double] = [Double(c.rank), 1, -Double(c.rank) / 3]
        var maxima: [Float] = [Float(c.rank), -Float(c.rank), .zero]
        try sums.withUnsafeMutableBufferPointer { try c.allReduce($0, .sum) }
        try maxima.withUnsafeMutableBufferPointer { try c.allReduce($0, .max) }
        return (sums, maxima)
      }
      let values = try results.map { try $0.get() }
      let expectedSum = Double((0..<size).reduce(0, +))
      for (sums, maxima) in values {
        #expect(sums[0] == expectedSum && sums[1] == Double(size))
        #expect(sums[2] == values[0].0[2])
        #expect(maxima == [Float(size - 1), 0, 0])
      }
    }
  }

  @Test("all-gather with uneven counts, broadcast and split")
  func gatherBroadcastSplit() throws {
    let results = ThreadCommunicator.run(size: 4) { c in
      let counts = [2, 0, 1, 3]
      let local = [Int](repeating: c.rank, count: counts[c.rank])
      var gathered = [Int](repeating: -1, count: 6)
      try local.withUnsafeBufferPointer { l in
        try gathered.withUnsafeMutableBufferPointer { try c.allGather(l, counts: counts, into: $0) }
      }
      var bytes: [UInt8] = c.rank == 2 ? [7, 8, 9] : [0, 0, 0]
      try bytes.withUnsafeMutableBufferPointer { try c.broadcast($0, root: 2) }
      // Colours by parity, keys reversed: the odd group is [3, 1], the even one [2, 0].
      let half = try c.split(colour: c.rank % 2, key: -c.rank)
      var sum = [Double(c.rank)]
      try sum.withUnsafeMutableBufferPointer { try half.allReduce($0, .sum) }
      return (gathered, bytes, half.rank, half.size, sum[0])
    }
    for (rank, result) in results.enumerated() {
      let (gathered, bytes, halfRank, halfSize, sum) = try result.get()
      #expect(gathered == [0, 0, 2, 3, 3, 3])
      #expect(bytes == [7, 8, 9])
      #expect(halfSize == 2 && halfRank == (rank < 2 ? 1 : 0))
      #expect(sum == (rank % 2 == 0 ? 2 : 4))
    }
  }

  @Test("members calling different collectives all throw")
  func mismatch() {
    let results = ThreadCommunicator.run(size: 3, timeout: .seconds(20)) { c in
      var buffer = [Double](repeating: 0, count: c.rank == 1 ? 2 : 3)
      try buffer.withUnsafeMutableBufferPointer { try c.allReduce($0, .sum) }
    }
    for result in results {
      #expect(throws: CommunicatorError.self) { try result.get() }
    }
  }

  @Test("a member that never arrives breaks the group after the timeout, for every member")
  func timeout() {
    let start = ContinuousClock.now
    let results = ThreadCommunicator.run(size: 3, timeout: .milliseconds(300)) { c in
      guard c.rank != 0 else { return }
      var buffer = [Double(c.rank)]
      try buffer.withUnsafeMutableBufferPointer { try c.allReduce($0, .max) }
    }
    #expect(ContinuousClock.now - start < .seconds(10))
    #expect((try? results[0].get()) != nil)
    for result in results.dropFirst() {
      #expect(throws: CommunicatorError.self) { try result.get() }
    }
  }
}

@Suite("Traffic")
struct TrafficTests {
  @Test(
    "a step hands O(rows) values to the collectives: 12N + 184 bytes in fp32, 20N + 188 with weights and smoothing"
  )
  func bytesPerStep() throws {
    for (rows, weighted, smoothing) in [(16, false, 0.0), (64, false, 0.0), (64, true, 0.1)] {
      let problem = ShardingProblem<Float>(
        rows: rows, classes: 50, seed: 9, weighted: weighted, ignoreIndex: -100)
      let results = ThreadCommunicator.run(size: 3) { c in
        let counted = CountingCommunicator(c)
        let slice = VocabularyPartition(classes: 50, ranks: 3).range(of: c.rank)
        _ = try VocabParallelCrossEntropy(labelSmoothing: smoothing).lossAndGradient(
          logits: ShapedArray(
            shape: [rows, slice.count], scalars: problem.logits(rows: 0..<rows, columns: slice)),
          labels: ShapedArray(problem.labels), classes: 50,
          classWeights: problem.classWeights.map { Array($0[slice]) }, vocabulary: counted)
        return (counted.collectives, counted.bytes)
      }
      for result in results {
        let (collectives, bytes) = try result.get()
        #expect(collectives == 3)
        #expect(bytes == (weighted ? 20 * rows + 188 : 12 * rows + 184))
      }
    }
  }
}
