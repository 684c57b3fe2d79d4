import CrossEntropy
import Testing

@testable import CrossEntropyDistributed

@Suite("VocabParallelLinearCrossEntropy blocks")
struct VocabParallelHeadPlanTests {
  @Test("the blocks of logits never exceed the scratch limit")
  func scratchBound() {
    for cap in [nil, 30.0] {
      for limit in [1, 7, 8, 100, 1000, 4096, 1 << 16, 1 << 20, 64 << 20] {
        for (rows, classes) in [(1, 1), (1, 100), (37, 11), (300, 7), (8192, 16032), (5, 0)] {
          for bytes in [4, 8] {
            let head = VocabParallelLinearCrossEntropy(logitSoftCap: cap, scratchLimit: limit)
            let blocks = head.plan(rows: rows, classes: classes, scalarBytes: bytes)
            let what = "limit \(limit) cap \(cap as Any) \(rows) x \(classes) x \(bytes): \(blocks)"
            let live = blocks.rows * blocks.classes * bytes * (cap == nil ? 1 : 2)
            // At least one logit, whatever the limit.
            #expect(live <= max(limit, bytes * (cap == nil ? 1 : 2)), "\(what)")
            #expect(blocks.rows >= 1 && blocks.classes >= 1, "\(what)")
            let budget = max(1, limit / (bytes * (cap == nil ? 1 : 2)))
            #expect(blocks.streamed == (rows * classes > budget), "\(what)")
            if blocks.streamed {
              #expect(blocks.rows <= rows && blocks.classes <= classes, "\(what)")
            }
          }
        }
      }
    }
  }

  @Test("the blocks the head picks")
  func picks() {
    let head = VocabParallelLinearCrossEntropy()
    // N = 8192, V = 128,256 over 8 ranks, fp32: 501 MiB of logits per rank, 8 chunks of 1024
    // rows (62.6 MiB each) under the default 64 MiB.
    #expect(
      head.plan(rows: 8192, classes: 16032, scalarBytes: 4)
        == LogitBlocks(rows: 1024, classes: 16032, streamed: true))
    // Fits: one pass.
    #expect(
      head.plan(rows: 1024, classes: 16032, scalarBytes: 4)
        == LogitBlocks(rows: 1024, classes: 16032, streamed: false))
    // With a soft cap, two buffers: half the rows.
    var capped = head
    capped.criterion.logitSoftCap = 30
    #expect(
      capped.plan(rows: 8192, classes: 16032, scalarBytes: 4)
        == LogitBlocks(rows: 512, classes: 16032, streamed: true))
    // 37 rows, 16 x 11 logits fit: 3 balanced chunks of 13, 13 and 11 rows.
    let small = VocabParallelLinearCrossEntropy(scratchLimit: 16 * 11 * 8)
    #expect(
      small.plan(rows: 37, classes: 11, scalarBytes: 8)
        == LogitBlocks(rows: 13, classes: 11, streamed: true))
    // 20 logits: blocks of 16 rows and 1 class (4 classes would take 64).
    let tiny = VocabParallelLinearCrossEntropy(scratchLimit: 20 * 8)
    #expect(
      tiny.plan(rows: 37, classes: 11, scalarBytes: 8)
        == LogitBlocks(rows: 16, classes: 1, streamed: true))
    // 3 logits and 1 row: 7 classes in blocks of 3 (3, 3 and 1).
    let three = VocabParallelLinearCrossEntropy(scratchLimit: 3 * 8)
    #expect(
      three.plan(rows: 1, classes: 7, scalarBytes: 8)
        == LogitBlocks(rows: 1, classes: 3, streamed: true))
  }
}
