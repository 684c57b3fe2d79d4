#if MPI
  import CMPI

  /// A ``Communicator`` over MPI (Open MPI through the package trait `MPI`): one member per
  /// process of `mpirun`.
  ///
  /// ```swift
  /// let world = try MPICommunicator.world()
  /// defer { MPICommunicator.finalize() }
  /// ```
  ///
  /// Errors of MPI's calls are returned, not fatal (`MPI_ERRORS_RETURN`), and thrown as
  /// ``CommunicatorError`` with MPI's message.
  public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// This process's rank in the communicator.
    public let rank: Int
    /// The number of processes of the communicator.
    public let size: Int
    private let communicator: MPI_Comm
    private let owned: Bool

    private init(_ communicator: MPI_Comm, owned: Bool) throws(CommunicatorError) {
      self.communicator = communicator
      self.owned = owned
      var rank: Int32 = 0
      var size: Int32 = 0
      try check(
        MPI_Comm_set_errhandler(communicator, cmpi_errors_return()), "MPI_Comm_set_errhandler")
      try check(MPI_Comm_rank(communicator, &rank), "MPI_Comm_rank")
      try check(MPI_Comm_size(communicator, &size), "MPI_Comm_size")
      self.rank = Int(rank)
      self.size = Int(size)
    }

    deinit {
      var communicator: MPI_Comm? = communicator
      var finalized: Int32 = 0
      MPI_Finalized(&finalized)
      if owned && finalized == 0 { MPI_Comm_free(&communicator) }
    }

    /// Initialises MPI (once per process, serialized threading) and returns `MPI_COMM_WORLD`.
    public static func world() throws(CommunicatorError) -> MPICommunicator {
      var initialized: Int32 = 0
      MPI_Initialized(&initialized)
      if initialized == 0 {
        var provided: Int32 = 0
        let status = MPI_Init_thread(nil, nil, cmpi_thread_serialized(), &provided)
        guard status == cmpi_success() else {
          throw CommunicatorError("MPI_Init_thread failed with code \(status)")
        }
      }
      return try MPICommunicator(cmpi_comm_world(), owned: false)
    }

    /// Finalises MPI; call it once, after the last collective, on every process.
    public static func finalize() {
      var finalized: Int32 = 0
      MPI_Finalized(&finalized)
      if finalized == 0 { MPI_Finalize() }
    }

    /// Ends every process of the job (`MPI_Abort`) with `code`.
    public func abort(code: Int32) -> Never {
      MPI_Abort(communicator, code)
      fatalError("MPI_Abort returned")
    }

    /// See ``Communicator/allReduce(_:_:)``.
    public func allReduce<Scalar: CommunicatorScalar>(
      _ buffer: UnsafeMutableBufferPointer<Scalar>, _ operation: CommunicatorOperation
    ) throws(CommunicatorError) {
      guard buffer.count > 0 else { return }
      try check(
        MPI_Allreduce(
          cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), datatype(Scalar.self),
          operation == .sum ? cmpi_sum() : cmpi_max(), communicator),
        "MPI_Allreduce")
    }

    /// See ``Communicator/allGather(_:counts:into:)``.
    public func allGather<Scalar: CommunicatorScalar>(
      _ local: UnsafeBufferPointer<Scalar>, counts: [Int],
      into result: UnsafeMutableBufferPointer<Scalar>
    ) throws(CommunicatorError) {
      guard counts.count == size, local.count == counts[rank], result.count == counts.reduce(0, +)
      else {
        throw CommunicatorError(
          "allGather on rank \(rank): counts \(counts) do not match a local buffer of"
            + " \(local.count) and a result of \(result.count) for \(size) members")
      }
      var receiveCounts = counts.map { Int32($0) }
      var offsets = [Int32](repeating: 0, count: size)
      for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + receiveCounts[r - 1] }
      var dummy = Scalar.zero
      try withUnsafeMutablePointer(to: &dummy) { dummy throws(CommunicatorError) in
        try check(
          MPI_Allgatherv(
            local.baseAddress ?? UnsafePointer(dummy), Int32(local.count), datatype(Scalar.self),
            result.baseAddress ?? dummy, &receiveCounts, &offsets, datatype(Scalar.self),
            communicator),
          "MPI_Allgatherv")
      }
    }

    /// See ``Communicator/broadcast(_:root:)``.
    public func broadcast<Scalar: CommunicatorScalar>(
      _ buffer: UnsafeMutableBufferPointer<Scalar>, root: Int
    ) throws(CommunicatorError) {
      guard buffer.count > 0 else { return }
      try check(
        MPI_Bcast(
          buffer.baseAddress, Int32(buffer.count), datatype(Scalar.self), Int32(root), communicator),
        "MPI_Bcast")
    }

    /// See ``Communicator/split(colour:key:)`` (`MPI_Comm_split`).
    public func split(colour: Int, key: Int) throws(CommunicatorError) -> any Communicator {
      var result: MPI_Comm? = cmpi_comm_null()
      try check(MPI_Comm_split(communicator, Int32(colour), Int32(key), &result), "MPI_Comm_split")
      return try MPICommunicator(result!, owned: true)
    }

    private func datatype<Scalar: CommunicatorScalar>(_: Scalar.Type) -> MPI_Datatype {
      switch Scalar.communicatorKind {
      case .float: cmpi_float()
      case .double: cmpi_double()
      case .int: cmpi_int64()
      case .byte: cmpi_byte()
      }
    }
  }

  /// Throws MPI's message for a failed call.
  private func check(_ status: Int32, _ call: String) throws(CommunicatorError) {
    guard status != cmpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    MPI_Error_string(status, &text, &length)
    let message = String(
      decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw CommunicatorError("\(call) failed: \(message)")
  }
#endif
