import Foundation
import NumPyIO
import Testing

/// The malformed-file regression corpus (Scripts/make-npy-corpus.py and inputs found by
/// Scripts/fuzz-npy.sh): each `KIND--what.npy` must throw a ``NumPyError`` of kind `KIND`, with
/// a one-line message, without trapping.
@Suite struct NumPyCorpusTests {
  static let folder = fixtures.appendingPathComponent("npy-corpus")
  static let names = ((try? files(in: folder)) ?? []).filter { $0.hasSuffix(".npy") }

  @Test func corpusIsThere() {
    #expect(Self.names.count >= 50)
  }

  @Test(arguments: names)
  func throwsACleanError(_ name: String) throws {
    let expectedKind = try #require(
      name.components(separatedBy: "--").first.flatMap(NumPyError.Kind.init(rawValue:)),
      "\(name) does not start with a NumPyError.Kind and --")
    let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent(name)))
    let error = #expect(throws: NumPyError.self) { try NumPyArray(npyBytes: bytes) }
    #expect(error?.kind == expectedKind, "\(name): \(error?.message ?? "")")
    #expect(error.map { !$0.message.isEmpty && !$0.message.contains("\n") } == true)
  }

  /// Through the command too: one line on standard error, non-zero status, no output file.
  @Test func evaluateRefusesEveryCorpusFile() throws {
    let output = try makeTemporaryFolder()
    let target = try save(
      NumPyArray(shape: [2], scalars: [Int64(0), 1]), "y.npy", in: output)
    for name in Self.names {
      let path = Self.folder.appendingPathComponent(name).path
      let message = errorMessage([
        "--loss", "cross-entropy", "--input", path, "--target", target, "--output",
        output.appendingPathComponent("loss.npy").path,
      ])
      #expect(message.hasPrefix("--input \(path): "), "\(name): \(message)")
    }
    #expect(try files(in: output) == ["y.npy"])
  }
}
