import CrossEntropyCPU
import Dispatch

/// How many threads the fast kernels may use.
///
/// Large problems are split into contiguous ranges of rows, one per thread; problems smaller
/// than about 64K logits per thread stay on the calling thread. Results are bit-identical for
/// every thread count: each row is computed the same way wherever it runs, and the per-row
/// losses are added in row order.
///
/// ```swift
/// Parallelism.maximumThreadCount = 1  // single-threaded
/// Parallelism.maximumThreadCount = 0  // automatic (the default): one per online processor
/// ```
public enum Parallelism {
  private final class Storage: @unchecked Sendable {
    let queue = DispatchQueue(label: "CrossEntropy.Parallelism")
    var value = 0
  }

  private static let storage = Storage()

  /// The most threads one kernel call may use; 0 (the default) means one per online processor.
  /// Negative values are treated as 0. Safe to read and write from any thread.
  public static var maximumThreadCount: Int {
    get { storage.queue.sync { storage.value } }
    set { storage.queue.sync { storage.value = max(0, newValue) } }
  }

  /// The thread count a kernel call would use for unlimited work: ``maximumThreadCount``, or the
  /// number of online processors when that is 0.
  ///
  /// - Returns: At least 1.
  public static var effectiveThreadCount: Int {
    let requested = maximumThreadCount
    return requested > 0 ? requested : Int(xent_cpu_online_count())
  }
}
