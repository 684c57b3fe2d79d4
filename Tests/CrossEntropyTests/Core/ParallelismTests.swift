import Testing

@testable import CrossEntropy

@Suite(.serialized) struct ParallelismTests {
  @Test func threadCountSettingIsClampedAndEffective() {
    defer { Parallelism.maximumThreadCount = 0 }
    Parallelism.maximumThreadCount = -3
    #expect(Parallelism.maximumThreadCount == 0)
    #expect(Parallelism.effectiveThreadCount >= 1)
    Parallelism.maximumThreadCount = 5
    #expect(Parallelism.effectiveThreadCount == 5)
    #expect(Threads.count(rows: 1000, elementsPerRow: 10) == 1)
    #expect(Threads.count(rows: 1000, elementsPerRow: 100_000) == 5)
    #expect(Threads.count(rows: 2, elementsPerRow: 1_000_000) == 2)
  }
}
