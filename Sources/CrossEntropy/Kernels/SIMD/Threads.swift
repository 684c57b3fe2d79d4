import Dispatch

/// A value handed to the worker threads of one kernel call. The kernels confine it to that call
/// and give each thread disjoint rows, which is what makes the unchecked conformance sound.
struct Unchecked<Value>: @unchecked Sendable {
  let value: Value
}

/// Splitting rows over threads.
enum Threads {
  /// The fewest logits worth a thread of their own.
  static let minimumElementsPerThread = 1 << 16

  /// The number of threads for `rows` rows of `elementsPerRow` logits each.
  static func count(rows: Int, elementsPerRow: Int) -> Int {
    let work = rows * max(elementsPerRow, 1)
    let byWork = max(1, work / minimumElementsPerThread)
    return max(1, min(Parallelism.effectiveThreadCount, byWork, rows))
  }

  /// Calls `body` once per contiguous range of `0..<rows`, `threads` ranges in all, each on its
  /// own thread when `threads > 1`. The ranges depend only on `rows` and `threads`.
  static func forEachRange(rows: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    guard threads > 1 else {
      body(0..<rows)
      return
    }
    withoutActuallyEscaping(body) { escaping in
      let work = Unchecked(value: escaping)
      DispatchQueue.concurrentPerform(iterations: threads) { t in
        work.value(rows * t / threads..<rows * (t + 1) / threads)
      }
    }
  }
}
