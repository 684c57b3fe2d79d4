import Foundation

/// A ``Communicator`` that forwards to another and counts what this member hands to the
/// collectives: how many calls, and the bytes of their buffers.
///
/// An all-reduce of `n` values counts `n` values (MPI's ring algorithm then sends and receives
/// about `2 (P - 1) / P` times that per rank); an all-gather counts the gathered result; a
/// broadcast its buffer.
///
/// ```swift
/// let counted = CountingCommunicator(world)
/// _ = try criterion.loss(logits: shard, labels: labels, classes: v, vocabulary: counted)
/// print(counted.bytes, counted.collectives)
/// ```
public final class CountingCommunicator: Communicator, @unchecked Sendable {
  /// The communicator that does the work.
  public let base: any Communicator
  private let lock = NSLock()
  private var counts = (collectives: 0, bytes: 0)

  /// Wraps `base`.
  public init(_ base: any Communicator) { self.base = base }

  /// The rank of ``base``.
  public var rank: Int { base.rank }
  /// The size of ``base``.
  public var size: Int { base.size }

  /// The collectives called so far.
  public var collectives: Int {
    lock.lock()
    defer { lock.unlock() }
    return counts.collectives
  }

  /// The bytes of the buffers of the collectives called so far.
  public var bytes: Int {
    lock.lock()
    defer { lock.unlock() }
    return counts.bytes
  }

  /// Sets both counts to 0.
  public func reset() {
    lock.lock()
    counts = (0, 0)
    lock.unlock()
  }

  private func count<Scalar>(_ values: Int, _: Scalar.Type) {
    lock.lock()
    counts.collectives += 1
    counts.bytes += values * MemoryLayout<Scalar>.size
    lock.unlock()
  }

  /// Forwards to ``base`` and counts `buffer`.
  public func allReduce<Scalar: CommunicatorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, _ operation: CommunicatorOperation
  ) throws(CommunicatorError) {
    count(buffer.count, Scalar.self)
    try base.allReduce(buffer, operation)
  }

  /// Forwards to ``base`` and counts `result`.
  public func allGather<Scalar: CommunicatorScalar>(
    _ local: UnsafeBufferPointer<Scalar>, counts: [Int],
    into result: UnsafeMutableBufferPointer<Scalar>
  ) throws(CommunicatorError) {
    count(result.count, Scalar.self)
    try base.allGather(local, counts: counts, into: result)
  }

  /// Forwards to ``base`` and counts `buffer`.
  public func broadcast<Scalar: CommunicatorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, root: Int
  ) throws(CommunicatorError) {
    count(buffer.count, Scalar.self)
    try base.broadcast(buffer, root: root)
  }

  /// Forwards to ``base``; the new communicator is not counted.
  public func split(colour: Int, key: Int) throws(CommunicatorError) -> any Communicator {
    try base.split(colour: colour, key: key)
  }
}
