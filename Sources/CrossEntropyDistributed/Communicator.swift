/// A group of processes (or threads) that exchange small buffers collectively: MPI's model.
///
/// Every member calls the same collectives in the same order with buffers of the same counts;
/// each call returns on every member with the same result. The losses of this module use
/// ``allReduce(_:_:)`` on O(rows) values per step, and ``allGather(_:counts:into:)`` and
/// ``broadcast(_:root:)`` only for gathering results and agreeing on errors.
///
/// Implementations: ``ThreadCommunicator`` (threads of one process, for tests and for
/// single-machine use without MPI) and `MPICommunicator` (the package trait `MPI`).
public protocol Communicator: AnyObject, Sendable {
  /// This member's index in the group, `0..<size`.
  var rank: Int { get }
  /// The number of members of the group.
  var size: Int { get }

  /// Replaces `buffer` on every member with the element-wise sum or maximum of every member's
  /// `buffer`; the counts must agree. Every member receives the same bits.
  func allReduce<Scalar: CommunicatorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, _ operation: CommunicatorOperation
  ) throws(CommunicatorError)

  /// Concatenates every member's `local` buffer, in rank order, into `result` on every member.
  /// `counts[r]` is member `r`'s count (`counts.count == size`, `local.count ==
  /// counts[rank]`, `result.count` their sum).
  func allGather<Scalar: CommunicatorScalar>(
    _ local: UnsafeBufferPointer<Scalar>, counts: [Int],
    into result: UnsafeMutableBufferPointer<Scalar>
  ) throws(CommunicatorError)

  /// Copies the `root` member's `buffer` into every other member's (same counts).
  func broadcast<Scalar: CommunicatorScalar>(
    _ buffer: UnsafeMutableBufferPointer<Scalar>, root: Int
  ) throws(CommunicatorError)

  /// Splits the group into one new group per `colour`, collectively: the members of each new
  /// group are ordered by `key`, then by their rank here (MPI's `MPI_Comm_split`).
  func split(colour: Int, key: Int) throws(CommunicatorError) -> any Communicator
}

/// The element-wise operation of ``Communicator/allReduce(_:_:)``.
public enum CommunicatorOperation: Sendable, Hashable {
  /// The sum; floating-point sums are formed in rank order on every member.
  case sum
  /// The maximum.
  case max
}

/// The element types a ``Communicator`` exchanges.
public protocol CommunicatorScalar: Comparable, AdditiveArithmetic, Sendable {
  /// Which of the four types this is, for implementations that name it (MPI's datatypes).
  static var communicatorKind: CommunicatorScalarKind { get }
}

/// The four element types a ``Communicator`` exchanges.
public enum CommunicatorScalarKind: Sendable, Hashable {
  /// `Float`, `Double`, `Int` (64 bits) and `UInt8`.
  case float, double, int, byte
}

extension Float: CommunicatorScalar {
  /// This type's ``CommunicatorScalarKind``.
  public static var communicatorKind: CommunicatorScalarKind { .float }
}
extension Double: CommunicatorScalar {
  /// This type's ``CommunicatorScalarKind``.
  public static var communicatorKind: CommunicatorScalarKind { .double }
}
extension Int: CommunicatorScalar {
  /// This type's ``CommunicatorScalarKind``.
  public static var communicatorKind: CommunicatorScalarKind { .int }
}
extension UInt8: CommunicatorScalar {
  /// This type's ``CommunicatorScalarKind``.
  public static var communicatorKind: CommunicatorScalarKind { .byte }
}

/// A collective that failed: a member timed out or left, the members disagree on a call, or
/// the transport reported an error.
public struct CommunicatorError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A one-line explanation.
  public let message: String

  /// Creates an error with a message.
  public init(_ message: String) { self.message = message }

  /// The error's ``message``.
  public var description: String { message }
}

extension Communicator {
  /// Every member's `local` buffer, all of one count, concatenated in rank order.
  func allGather<Scalar: CommunicatorScalar>(
    _ local: [Scalar]
  ) throws(CommunicatorError) -> [Scalar] {
    var result = [Scalar](repeating: .zero, count: local.count * size)
    try local.withUnsafeBufferPointer { l throws(CommunicatorError) in
      try result.withUnsafeMutableBufferPointer { r throws(CommunicatorError) in
        try allGather(l, counts: Array(repeating: local.count, count: size), into: r)
      }
    }
    return result
  }

  /// `values` reduced over the group.
  func allReduced<Scalar: CommunicatorScalar>(
    _ values: [Scalar], _ operation: CommunicatorOperation
  ) throws(CommunicatorError) -> [Scalar] {
    var values = values
    try values.withUnsafeMutableBufferPointer { b throws(CommunicatorError) in
      try allReduce(b, operation)
    }
    return values
  }
}
