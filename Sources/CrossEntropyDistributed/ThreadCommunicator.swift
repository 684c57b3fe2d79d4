import Foundation

/// A ``Communicator`` whose members are threads of one process, exchanging through shared
/// memory with a barrier: for unit tests without MPI, and for running the distributed losses on
/// one machine.
///
/// ```swift
/// let results = ThreadCommunicator.run(size: 4) { communicator in
///   try criterion.lossAndGradient(logits: myShard, labels: labels, vocabulary: communicator)
/// }
/// ```
///
/// A member that waits longer than the group's timeout for the others (one of them threw
/// before a collective, or called a different one) breaks the group: every waiting and later
/// collective of every member throws ``CommunicatorError``, so a mistake ends in an error, not
/// a hang.
public final class ThreadCommunicator: Communicator, @unchecked Sendable {
  /// This member's index in the group.
  public let rank: Int
  /// The number of members of the group.
  public let size: Int
  private let exchange: Exchange

  private init(rank: Int, exchange: Exchange) {
    self.rank = rank
    self.size = exchange.size
    self.exchange = exchange
  }

  /// A group of `size` members sharing one exchange; hand member `r` to thread `r`.
  ///
  /// - Parameters:
  ///   - size: The number of members, >= 1.
  ///   - timeout: How long a member waits for the others in a collective before the group
  ///     breaks. Default 60 seconds.
  public static func group(size: Int, timeout: Duration = .seconds(60)) -> [ThreadCommunicator] {
    precondition(size >= 1, "a group needs at least one member")
    let exchange = Exchange(size: size, timeout: timeout)
    return (0..<size).map { ThreadCommunicator(rank: $0, exchange: exchange) }
  }

  /// Runs `body` once per member of a new group of `size`, each on its own thread, and returns
  /// their results in rank order once every thread has finished.
  ///
  /// - Parameters:
  ///   - size: The number of members, >= 1.
  ///   - timeout: The group's timeout; see ``group(size:timeout:)``.
  ///   - body: The work of one member.
  public static func run<Result: Sendable>(
    size: Int, timeout: Duration = .seconds(60),
    _ body: @escaping @Sendable (ThreadCommunicator) throws -> Result
  ) -> [Swift.Result<Result, any Error>] {
    let members = group(size: size, timeout: timeout)
    let results = ResultSlots<Result>(count: size)
    let done = DispatchGroup()
    for member in members {
      done.enter()
      let thread = Thread {
        results.set(member.rank, Swift.Result { try body(member) })
        done.leave()
      }
      thread.stackSize = 8 << 20
      thread.start()
    }
    done.wait()
    return results.values
  }

  /// See ``Communicator/allReduce(_:_:)``; sums are formed in rank order.
  public func allReduce<Scalar: CommunicatorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, _ operation: CommunicatorOperation
  ) throws(CommunicatorError) {
    let call = Call(
      name: "allReduce(\(operation))", kind: Scalar.communicatorKind, count: buffer.count)
    try exchange.post(rank, call, UnsafeRawPointer(buffer.baseAddress))
    var result = [Scalar](repeating: .zero, count: buffer.count)
    for r in 0..<size {
      let other = exchange.pointer(r, as: Scalar.self, count: buffer.count)
      for i in 0..<buffer.count {
        if r == 0 {
          result[i] = other[i]
        } else if operation == .sum {
          result[i] += other[i]
        } else if !(other[i] <= result[i]) {
          result[i] = other[i]
        }
      }
    }
    try exchange.barrier()
    for i in 0..<buffer.count { buffer[i] = result[i] }
  }

  /// See ``Communicator/allGather(_:counts:into:)``.
  public func allGather<Scalar: CommunicatorScalar>(
    _ local: UnsafeBufferPointer<Scalar>, counts: [Int],
    into result: UnsafeMutableBufferPointer<Scalar>
  ) throws(CommunicatorError) {
    guard counts.count == size, counts.allSatisfy({ $0 >= 0 }), local.count == counts[rank],
      result.count == counts.reduce(0, +)
    else {
      throw CommunicatorError(
        "allGather on rank \(rank): counts \(counts) do not match a local buffer of"
          + " \(local.count) and a result of \(result.count) for \(size) members")
    }
    let call = Call(name: "allGather \(counts)", kind: Scalar.communicatorKind, count: result.count)
    try exchange.post(rank, call, UnsafeRawPointer(local.baseAddress))
    var offset = 0
    for r in 0..<size {
      let other = exchange.pointer(r, as: Scalar.self, count: counts[r])
      for i in 0..<counts[r] { result[offset + i] = other[i] }
      offset += counts[r]
    }
    try exchange.barrier()
  }

  /// See ``Communicator/broadcast(_:root:)``.
  public func broadcast<Scalar: CommunicatorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, root: Int
  ) throws(CommunicatorError) {
    guard (0..<size).contains(root) else {
      throw CommunicatorError("broadcast root \(root) is outside 0..<\(size)")
    }
    let call = Call(
      name: "broadcast from \(root)", kind: Scalar.communicatorKind, count: buffer.count)
    try exchange.post(rank, call, UnsafeRawPointer(buffer.baseAddress))
    if rank != root {
      let source = exchange.pointer(root, as: Scalar.self, count: buffer.count)
      for i in 0..<buffer.count { buffer[i] = source[i] }
    }
    try exchange.barrier()
  }

  /// See ``Communicator/split(colour:key:)``.
  public func split(colour: Int, key: Int) throws(CommunicatorError) -> any Communicator {
    let call = Call(name: "split", kind: .int, count: 0)
    try exchange.post(rank, call, nil, colour: colour, key: key)
    let members = (0..<size).filter { exchange.colours[$0] == colour }
      .sorted { (exchange.keys[$0], $0) < (exchange.keys[$1], $1) }
    let leader = members[0]
    if rank == leader {
      exchange.setCreated(rank, Exchange(size: members.count, timeout: exchange.timeout))
    }
    try exchange.barrier()
    let group = exchange.created[leader]!
    try exchange.barrier()
    return ThreadCommunicator(rank: members.firstIndex(of: rank)!, exchange: group)
  }
}

/// What a member says it is calling, compared across the members of a collective.
private struct Call: Equatable {
  var name: String
  var kind: CommunicatorScalarKind
  var count: Int
}

/// The shared state of one group: a barrier with a timeout and one slot per member.
private final class Exchange: @unchecked Sendable {
  let size: Int
  let timeout: Duration
  private let condition = NSCondition()
  private var arrived = 0
  private var generation = 0
  private var broken: String?
  private var calls: [Call?]
  private var pointers: [UnsafeRawPointer?]
  private(set) var colours: [Int]
  private(set) var keys: [Int]
  private(set) var created: [Exchange?]

  init(size: Int, timeout: Duration) {
    self.size = size
    self.timeout = timeout
    calls = Array(repeating: nil, count: size)
    pointers = Array(repeating: nil, count: size)
    colours = Array(repeating: 0, count: size)
    keys = Array(repeating: 0, count: size)
    created = Array(repeating: nil, count: size)
  }

  /// Posts this member's call and buffer, waits for every member, and checks that they agree.
  func post(
    _ rank: Int, _ call: Call, _ pointer: UnsafeRawPointer?, colour: Int = 0, key: Int = 0
  ) throws(CommunicatorError) {
    // Under the lock: the members write their slots of the same arrays at once, and the
    // barrier's lock orders these writes before every member's reads.
    condition.lock()
    calls[rank] = call
    pointers[rank] = pointer
    colours[rank] = colour
    keys[rank] = key
    condition.unlock()
    try barrier()
    for r in 0..<size where calls[r] != calls[0] {
      let mine = calls[r]!
      let first = calls[0]!
      // Every member sees the same calls, so every member throws; the group stays usable.
      try barrier()
      throw CommunicatorError(
        "members disagree on a collective: rank 0 called \(first.name) with \(first.count)"
          + " \(first.kind) values, rank \(r) \(mine.name) with \(mine.count)")
    }
  }

  /// Records the group a split's leader made for its colour (leaders of different colours
  /// write at once, so under the lock).
  func setCreated(_ rank: Int, _ group: Exchange) {
    condition.lock()
    created[rank] = group
    condition.unlock()
  }

  func pointer<Scalar>(_ rank: Int, as: Scalar.Type, count: Int) -> UnsafePointer<Scalar> {
    guard count > 0, let pointer = pointers[rank] else {
      return UnsafePointer(bitPattern: MemoryLayout<Scalar>.alignment)!
    }
    return pointer.assumingMemoryBound(to: Scalar.self)
  }

  /// Waits until every member has arrived, or throws once the group is broken or the timeout
  /// has passed (which breaks it for every member).
  func barrier() throws(CommunicatorError) {
    condition.lock()
    defer { condition.unlock() }
    if let broken { throw CommunicatorError(broken) }
    let current = generation
    arrived += 1
    if arrived == size {
      arrived = 0
      generation &+= 1
      condition.broadcast()
      return
    }
    let (seconds, attoseconds) = timeout.components
    let deadline = Date(
      timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
    while generation == current {
      if let broken { throw CommunicatorError(broken) }
      if !condition.wait(until: deadline), generation == current {
        let message =
          "a collective timed out after \(timeout): a member did not arrive (it failed or"
          + " called something else)"
        broken = message
        condition.broadcast()
        throw CommunicatorError(message)
      }
    }
  }
}

/// The results of the threads of ``ThreadCommunicator/run(size:timeout:_:)``.
private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var slots: [Swift.Result<Value, any Error>?]

  init(count: Int) { slots = Array(repeating: nil, count: count) }

  func set(_ index: Int, _ value: Swift.Result<Value, any Error>) {
    lock.lock()
    slots[index] = value
    lock.unlock()
  }

  var values: [Swift.Result<Value, any Error>] {
    lock.lock()
    defer { lock.unlock() }
    return slots.map { $0! }
  }
}
