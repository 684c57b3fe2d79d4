import CrossEntropy

/// The error of the distributed losses: the same value on every rank.
///
/// A bad input found on one rank (a label out of range, a shape that does not match the rank's
/// slice) is agreed on by every rank before any collective arithmetic, with one small
/// all-reduce, so every rank throws ``input(_:)`` with the message of the rank that found it,
/// which the message names. A collective that fails throws ``communication(_:)``.
public enum DistributedError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Bad input on some rank; the message starts with that rank.
  case input(LossError)
  /// A collective failed (a timeout, members calling different collectives, MPI's error).
  case communication(CommunicatorError)

  /// The error's message.
  public var description: String {
    switch self {
    case .input(let error): error.message
    case .communication(let error): error.message
    }
  }
}

/// The agreement on errors that precedes the collective arithmetic of every step.
enum Agreement {
  /// The longest message carried from the rank that found an error to the others, in bytes.
  static let messageCapacity = 480

  /// One value every member of a group must give alike, and its name for the error message.
  struct Check {
    var name: String
    var value: Double
  }

  /// Agrees on `local` (this rank's error, if any) over each group in turn, so that every rank
  /// of every group ends with the same error, or none; then throws it.
  ///
  /// Each group costs one max all-reduce of `1 + 2 * checks.count` doubles, plus a broadcast of
  /// the message when some rank has an error. A check whose value differs between the members
  /// of a group is an error of its own (found alike on every member).
  static func agree(
    _ local: LossError?, groups: [(communicator: any Communicator, checks: [Check])]
  ) throws(DistributedError) {
    var error = local
    for (communicator, checks) in groups {
      var buffer = [error == nil ? 0 : Double(communicator.size - communicator.rank)]
      for check in checks { buffer += [check.value, -check.value] }
      do {
        buffer = try communicator.allReduced(buffer, .max)
        if buffer[0] > 0 {
          let owner = communicator.size - Int(buffer[0])
          var bytes = [UInt8](repeating: 0, count: messageCapacity + 3)
          if communicator.rank == owner, let error { encode(error, into: &bytes) }
          try bytes.withUnsafeMutableBufferPointer { b throws(CommunicatorError) in
            try communicator.broadcast(b, root: owner)
          }
          error = decode(bytes)
        } else {
          for (i, check) in checks.enumerated() where buffer[1 + 2 * i] != -buffer[2 + 2 * i] {
            error = LossError(
              .shapeMismatch,
              "ranks disagree on \(check.name): from \(format(-buffer[2 + 2 * i])) to"
                + " \(format(buffer[1 + 2 * i]))")
            break
          }
        }
      } catch {
        throw .communication(error)
      }
    }
    if let error { throw .input(error) }
  }

  private static let kinds: [LossError.Kind] = [
    .shapeMismatch, .labelOutOfRange, .valueOutOfRange, .invalidOption, .invalidAxis,
    .emptyClassDimension,
  ]

  private static func encode(_ error: LossError, into bytes: inout [UInt8]) {
    var message = Array(error.message.utf8)
    if message.count > messageCapacity { message = Array(message.prefix(messageCapacity)) }
    bytes[0] = UInt8(kinds.firstIndex(of: error.kind) ?? 0)
    bytes[1] = UInt8(message.count >> 8)
    bytes[2] = UInt8(message.count & 0xFF)
    for (i, byte) in message.enumerated() { bytes[3 + i] = byte }
  }

  private static func decode(_ bytes: [UInt8]) -> LossError {
    let count = min(Int(bytes[1]) << 8 | Int(bytes[2]), messageCapacity)
    let kind = kinds[min(Int(bytes[0]), kinds.count - 1)]
    return LossError(kind, String(decoding: bytes[3..<(3 + count)], as: UTF8.self))
  }

  private static func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
  }
}
