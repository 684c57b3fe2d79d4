import Foundation
import NumPyIO
import Testing

/// The fixtures of Scripts/make_npy_fixtures.py hold 0, 1, 2, ... in row-major order.
@Suite struct NumPyReadingTests {
  static let numericKinds = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]
  static let multiByteKinds = numericKinds.filter { !$0.hasSuffix("1") }

  func read(_ name: String) throws -> NumPyArray {
    try NumPyArray(contentsOf: fixtures.appendingPathComponent("npy/\(name).npy").path)
  }

  func expectCounting(_ array: NumPyArray, dtype: String) {
    #expect(array.shape == [2, 3, 4])
    #expect(array.dtype.descriptor.dropFirst() == dtype)
    #expect(array.doubles() == (0..<24).map(Double.init))
  }

  @Test(arguments: numericKinds)
  func cOrder(_ kind: String) throws {
    expectCounting(try read("c-\(kind)"), dtype: kind)
  }

  @Test(arguments: numericKinds)
  func fortranOrderIsTransposedToCOrder(_ kind: String) throws {
    expectCounting(try read("fortran-\(kind)"), dtype: kind)
  }

  @Test(arguments: multiByteKinds)
  func bigEndianIsByteSwapped(_ kind: String) throws {
    expectCounting(try read("big-\(kind)"), dtype: kind)
  }

  @Test func fortranBigEndian() throws {
    expectCounting(try read("fortran-big-f8"), dtype: "f8")
  }

  @Test(arguments: ["v2-f4", "v3-f4"])
  func laterFormatVersions(_ name: String) throws {
    expectCounting(try read(name), dtype: "f4")
  }

  @Test func bool() throws {
    let array = try read("c-b1")
    #expect(array.dtype == .bool)
    #expect(try array.scalars(as: Bool.self) == (0..<24).map { $0 % 3 == 0 })
  }

  @Test func zeroDimensional() throws {
    let array = try read("zero-d-f8")
    #expect(array.shape == [])
    #expect(try array.scalars(as: Double.self) == [0])
  }

  @Test func empty() throws {
    let array = try read("empty-f4")
    #expect(array.shape == [0, 3])
    #expect(array.count == 0)
  }

  @Test func typedAccessChecksTheDType() throws {
    let error = #expect(throws: NumPyError.self) { try read("c-f4").scalars(as: Double.self) }
    #expect(error?.message == "expected float64 elements, found float32")
    let integers = #expect(throws: NumPyError.self) { try read("c-f4").integers() }
    #expect(integers?.message == "expected integer elements, found float32")
    #expect(try read("c-i8").integers() == Array(0..<24))
    #expect(try read("c-u1").integers() == Array(0..<24))
  }

  @Test func missingFileAndDirectory() throws {
    let missing = #expect(throws: NumPyError.self) {
      try NumPyArray(contentsOf: "/nonexistent/a.npy")
    }
    #expect(missing?.message == "/nonexistent/a.npy: no such file")
    let folder = try makeTemporaryFolder()
    let directory = #expect(throws: NumPyError.self) {
      try NumPyArray(contentsOf: folder.path)
    }
    #expect(directory?.message == "\(folder.path): is a directory, expected a .npy file")
  }
}

@Suite struct NumPyWritingTests {
  func roundTrip<Scalar: NumPyScalar & Equatable>(_ shape: [Int], _ scalars: [Scalar]) throws {
    let array = try NumPyArray(shape: shape, scalars: scalars)
    let decoded = try NumPyArray(npyBytes: array.npyBytes)
    #expect(decoded == array)
    #expect(try decoded.scalars(as: Scalar.self) == scalars)
  }

  @Test func everyDType() throws {
    try roundTrip([2, 2], [true, false, false, true])
    try roundTrip([3], [Int8.min, 0, Int8.max])
    try roundTrip([3], [UInt8.min, 7, UInt8.max])
    try roundTrip([3], [Int16.min, 0, Int16.max])
    try roundTrip([3], [UInt16.min, 7, UInt16.max])
    try roundTrip([3], [Int32.min, 0, Int32.max])
    try roundTrip([3], [UInt32.min, 7, UInt32.max])
    try roundTrip([3], [Int64.min, 0, Int64.max])
    try roundTrip([3], [UInt64.min, 7, UInt64.max])
    try roundTrip([1, 3], [Float(-1.5), .infinity, .leastNonzeroMagnitude])
    try roundTrip([3, 1], [-1.5, Double.greatestFiniteMagnitude, -.infinity])
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      try roundTrip([2], [Float16(0.333), -.infinity])
    #endif
  }

  @Test func zeroDimensionalAndEmpty() throws {
    try roundTrip([], [Float(0.25)])
    try roundTrip([0, 5], [Double]())
  }

  /// The writer produces byte for byte what `np.save` does (header text, padding to 64 bytes).
  @Test func writesTheSameBytesAsNumPy() throws {
    func numpy(_ name: String) throws -> [UInt8] {
      [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("npy/\(name).npy")))
    }
    let counting = (0..<24).map(Double.init)
    #expect(try NumPyArray(shape: [2, 3, 4], scalars: counting).npyBytes == numpy("c-f8"))
    #expect(
      try NumPyArray(shape: [2, 3, 4], scalars: counting.map { UInt8($0) }).npyBytes
        == numpy("c-u1"))
    #expect(
      try NumPyArray(shape: [2, 3, 4], scalars: (0..<24).map { $0 % 3 == 0 }).npyBytes
        == numpy("c-b1"))
    #expect(try NumPyArray(shape: [], scalars: [0.0]).npyBytes == numpy("zero-d-f8"))
    #expect(try NumPyArray(shape: [0, 3], scalars: [Float]()).npyBytes == numpy("empty-f4"))
  }

  @Test func largeHeaderUsesVersion2() throws {
    let shape = [Int](repeating: 1, count: 64)
    let array = try NumPyArray(shape: shape, scalars: [Float(1)])
    let bytes = array.npyBytes
    #expect(bytes[6] == 1)  // 64 axes still fit in version 1
    #expect(try NumPyArray(npyBytes: bytes) == array)
    let tooManyAxes = #expect(throws: NumPyError.self) {
      try NumPyArray(shape: [Int](repeating: 1, count: 65), scalars: [Float(1)])
    }
    #expect(tooManyAxes?.message == "shape has 65 axes; at most 64 are supported")
  }

  @Test func sizeMismatchOnCreation() {
    let error = #expect(throws: NumPyError.self) {
      try NumPyArray(shape: [2, 2], scalars: [Float(1)])
    }
    #expect(error?.message == "shape (2, 2) of float32 needs 16 bytes of data but 4 were given")
  }

  @Test func writeAndReadAFile() throws {
    let folder = try makeTemporaryFolder()
    let array = try NumPyArray(shape: [2], scalars: [Int64(-3), 4])
    let path = try save(array, "a.npy", in: folder)
    #expect(try NumPyArray(contentsOf: path) == array)
    #expect(try files(in: folder) == ["a.npy"])
    let error = #expect(throws: NumPyError.self) {
      try array.write(to: folder.appendingPathComponent("missing/a.npy").path)
    }
    #expect(error?.kind == .io)
  }
}
