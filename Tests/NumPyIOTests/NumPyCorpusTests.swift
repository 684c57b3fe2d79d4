import Foundation
import NumPyIO
import Testing

/// The malformed-file regression corpus (Scripts/make_npy_corpus.py and inputs found by
/// Scripts/fuzz_npy.sh): each `KIND--what.npy` must throw a ``NumPyError`` of kind `KIND`, with
/// a one-line message, without trapping. (xentTests runs `xent evaluate` on the same corpus.)
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
}
