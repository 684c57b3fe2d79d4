import DemoSupport
import Foundation
import Testing

@testable import LanguageModelDemo

@Suite struct CorpusTests {
  @Test func bundledPlaysLoadSplitByPlay() throws {
    let corpus = try ShakespeareCorpus.bundled()
    #expect(corpus.training.count == 12)
    #expect(corpus.validation.map(\.title) == ["Twelfth Night"])
    #expect(corpus.test.map(\.title) == ["Macbeth"])
    #expect(corpus.training.first?.title == "Hamlet")
    let titles = (corpus.training + corpus.validation + corpus.test).map(\.title)
    #expect(Set(titles).count == titles.count, "a play is in two splits, or twice in one")
    let texts = (corpus.training + corpus.validation + corpus.test).map(\.text)
    #expect(Set(texts).count == texts.count)
    for play in corpus.training + corpus.validation + corpus.test {
      #expect(play.text.utf8.count > 50_000, "\(play.title) is short")
      #expect(!play.text.contains("\r"), "\(play.title) holds a carriage return")
      #expect(!play.text.localizedCaseInsensitiveContains("gutenberg"), "\(play.title)")
      #expect(play.text.hasSuffix("\n") && !play.text.hasSuffix("\n\n"), "\(play.title)")
    }
    #expect(corpus.test[0].text.hasPrefix("MACBETH\n"))
    #expect(
      corpus.test[0].text.contains(
        "To-morrow, and to-morrow, and to-morrow,\nCreeps in this petty pace"))
  }

  @Test func splitSharesAndBundleSize() throws {
    let corpus = try ShakespeareCorpus.bundled()
    func bytes(_ split: ShakespeareCorpus.Split) -> Int {
      corpus[split].reduce(0) { $0 + $1.text.utf8.count }
    }
    let total = Double(ShakespeareCorpus.Split.allCases.map(bytes).reduce(0, +))
    #expect(total > 1_700_000)
    for split in [ShakespeareCorpus.Split.validation, .test] {
      let share = Double(bytes(split)) / total
      #expect((0.04...0.09).contains(share), "\(split) holds \(share) of the text")
    }
    // Everything in the resource folder, texts, manifest and licence, within 2 MB.
    let manifest = try #require(
      Bundle.module.url(forResource: "plays", withExtension: "tsv", subdirectory: "Resources"))
    let folder = manifest.deletingLastPathComponent()
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    #expect(files.contains("LICENSE-shakespeare.md"))
    let size = try files.reduce(0) { sum, file in
      let attributes = try FileManager.default.attributesOfItem(
        atPath: folder.appendingPathComponent(file).path)
      return sum + ((attributes[.size] as? NSNumber)?.intValue ?? 0)
    }
    #expect(size <= 2_000_000, "the bundle holds \(size) bytes")
  }

  /// A manifest and files in memory.
  static func corpus(
    _ manifest: String, files: [String: String] = ["a.txt": "A", "b.txt": "B", "c.txt": "C"]
  ) throws(DemoError) -> ShakespeareCorpus {
    try ShakespeareCorpus(manifest: manifest) { (name: String) throws(DemoError) -> [UInt8] in
      guard let text = files[name] else { throw DemoError("no file \(name)") }
      return Array(text.utf8)
    }
  }

  @Test func manifestCommentsAndOrder() throws {
    let corpus = try Self.corpus(
      "# comment\ntraining\tb.txt\tBee\n\ntraining\ta.txt\tAy\nvalidation\tc.txt\tSee\n"
        + "test\td.txt\tDee\n",
      files: ["a.txt": "A", "b.txt": "B", "c.txt": "C", "d.txt": "D"])
    #expect(
      corpus.training == [.init(title: "Bee", text: "B"), .init(title: "Ay", text: "A")])
    #expect(corpus.validation == [.init(title: "See", text: "C")])
    #expect(corpus.test == [.init(title: "Dee", text: "D")])
  }

  @Test(arguments: [
    (
      "training\ta.txt\n",
      "Shakespeare corpus: plays.tsv line 1 has 2 tab-separated fields;"
        + " expected split, file and title"
    ),
    (
      "# x\ntrain\ta.txt\tA\n",
      "Shakespeare corpus: plays.tsv line 2: split \"train\" is not"
        + " one of training, validation, test"
    ),
    (
      "training\t../a.txt\tA\n",
      "Shakespeare corpus: plays.tsv line 1: file \"../a.txt\" is"
        + " not a plain .txt file name"
    ),
    (
      "training\ta.md\tA\n",
      "Shakespeare corpus: plays.tsv line 1: file \"a.md\" is not a"
        + " plain .txt file name"
    ),
    (
      "training\ta.txt\tA\ntest\ta.txt\tA\n",
      "Shakespeare corpus: plays.tsv line 2: a.txt is listed twice"
    ),
    ("training\ta.txt\t\n", "Shakespeare corpus: plays.tsv line 1: the title is empty"),
    ("training\tz.txt\tZ\n", "no file z.txt"),
    ("training\te.txt\tE\n", "Shakespeare corpus: e.txt is empty"),
    ("training\tx.txt\tX\n", "Shakespeare corpus: x.txt is not valid UTF-8"),
    (
      "training\ta.txt\tA\ntest\tb.txt\tB\n",
      "Shakespeare corpus: plays.tsv lists no validation play"
    ),
  ])
  func malformedManifestsAreRefused(manifest: String, message: String) {
    #expect(throws: DemoError(message)) {
      try ShakespeareCorpus(manifest: manifest) { (name: String) throws(DemoError) -> [UInt8] in
        switch name {
        case "a.txt", "b.txt", "c.txt": return Array("text".utf8)
        case "e.txt": return []
        case "x.txt": return [0x41, 0xFF, 0x42]
        default: throw DemoError("no file \(name)")
        }
      }
    }
  }
}
