import DemoSupport
import Testing

@testable import LanguageModelDemo

@Suite struct TokenizerTests {
  /// The bundled plays.
  static let corpus = try! ShakespeareCorpus.bundled()

  /// A tokenizer of 512 tokens trained on the training plays, shared by the tests (a debug build
  /// trains it in about a second).
  static let tokenizer = try! BytePairTokenizer(
    training: corpus.training.map(\.text), vocabularySize: 512)

  @Test func roundTripsEveryBundledPlay() {
    let (corpus, tokenizer) = (Self.corpus, Self.tokenizer)
    #expect(tokenizer.vocabularySize == 512)
    for split in ShakespeareCorpus.Split.allCases {
      for play in corpus[split] {
        let tokens = tokenizer.encode(play.text)
        #expect(tokens.allSatisfy { (0..<512).contains($0) }, "\(play.title)")
        #expect(tokenizer.decode(tokens) == play.text, "\(play.title) (\(split))")
        // Merges shorten the text: about 1.9 bytes a token at 512 tokens.
        #expect(tokens.count * 3 < play.text.utf8.count * 2, "\(play.title)")
      }
    }
  }

  @Test(arguments: [
    "", " ", "\n", "\r\n", "a\r\nb\r\n", "  \n\n  x  ", "crown'd 'tis I'll we've",
    "Naïve café, Straße, ΑΘΗΝΑ, Москва, 東京, עִברִית", "e\u{301} a\u{308}\u{323}",
    "👍🏽 👨‍👩‍👧 🇬🇧!", "\u{0}\u{1F}\u{7F}\u{FEFF}\u{FFFD}", "٣٤٥ Ⅻ ½ 2024", "\t\u{A0}\u{3000}x",
    String(repeating: "ab", count: 500),
  ])
  func roundTripsArbitraryText(text: String) {
    let tokenizer = Self.tokenizer
    let tokens = tokenizer.encode(text)
    #expect(tokenizer.decode(tokens) == text)
    #expect(tokens.flatMap { tokenizer.bytes(of: $0) } == Array(text.utf8))
  }

  @Test func decodingRepairsInvalidUTF8() throws {
    let tokenizer = try BytePairTokenizer(training: [], vocabularySize: 256)
    // A lone continuation byte, a truncated 3-byte sequence, then valid text.
    #expect(tokenizer.decode([0x80, 0xE2, 0x82, 0x41]) == "\u{FFFD}\u{FFFD}A")
    // The first byte of "é" alone.
    #expect(tokenizer.decode(Array(tokenizer.encode("é").dropLast())) == "\u{FFFD}")
  }

  @Test func trainingIsDeterministic() throws {
    let texts = Self.corpus.training.prefix(2).map(\.text)
    let first = try BytePairTokenizer(training: texts, vocabularySize: 400)
    let second = try BytePairTokenizer(training: texts, vocabularySize: 400)
    #expect(first.merges == second.merges)
    #expect(first == second)
    let sample = Self.corpus.test[0].text
    #expect(first.encode(sample) == second.encode(sample))
    // Only the chunk counts matter: the texts' order does not.
    let reversed = try BytePairTokenizer(training: texts.reversed(), vocabularySize: 400)
    #expect(reversed.merges == first.merges)
  }

  @Test func preTokenizationFollowsGPT2() {
    #expect(
      BytePairTokenizer.chunks(of: "What's  done is done.")
        == ["What", "'s", " ", " done", " is", " done", "."])
    #expect(
      BytePairTokenizer.chunks(of: "KING.\nTo-morrow, 'tis 42!\n\n  x")
        == ["KING", ".", "\n", "To", "-", "morrow", ",", " '", "tis", " 42", "!", "\n\n ", " x"])
    #expect(
      BytePairTokenizer.chunks(of: "crown'd we'll I'm") == [
        "crown", "'d", " we", "'ll", " I", "'m",
      ])
    #expect(BytePairTokenizer.chunks(of: "a \n b   ") == ["a", " \n", " b", "   "])
    #expect(BytePairTokenizer.chunks(of: "café ½x") == ["café", " ½", "x"])
    #expect(BytePairTokenizer.chunks(of: "") == [])
  }

  /// "to be or not to be": chunks "to", " be" (2), " or", " not", " to". The pairs counted twice
  /// are " b", "be" and "to"; the smallest ids win the tie: " b" (32, 98) becomes 256. Then
  /// (256, "e") and ("t", "o") both count 2 and "t", "o" (116, 111) is smaller: 257 = "to".
  /// Then 258 = " be". Every pair left counts once; the smallest is " n" (32, 110): 259.
  @Test func handCheckedMerges() throws {
    let tokenizer = try BytePairTokenizer(training: ["to be or not to be"], vocabularySize: 260)
    #expect(
      tokenizer.merges == [
        .init(left: 32, right: 98), .init(left: 116, right: 111), .init(left: 256, right: 101),
        .init(left: 32, right: 110),
      ])
    #expect(tokenizer.bytes(of: 258) == Array(" be".utf8))
    #expect(tokenizer.encode("to be") == [257, 258])
    #expect(tokenizer.encode("not to") == [110, 111, 116, 32, 257])
    #expect(tokenizer.encode(" nob") == [259, 111, 98])
  }

  /// "aaab aaab": the chunk "aaab" and " aaab". Pairs: "aa" 4 (twice in each), "ab" 2, " a" 1.
  /// 256 = "aa" (left to right: "aaab" is then [256, a, b]); then "ab" (97, 98) and (256, 97)
  /// count 2 each and (97, 98) is smaller: 257 = "ab"; then (256, 257) counts 2: 258 = "aaab";
  /// then " " + 258 counts 1: 259 = " aaab". Nothing is left to merge: the vocabulary stops at 260.
  @Test func overlappingPairsAndEarlyStop() throws {
    let tokenizer = try BytePairTokenizer(training: ["aaab aaab"], vocabularySize: 1_000)
    #expect(
      tokenizer.merges == [
        .init(left: 97, right: 97), .init(left: 97, right: 98), .init(left: 256, right: 257),
        .init(left: 32, right: 258),
      ])
    #expect(tokenizer.vocabularySize == 260)
    #expect(tokenizer.encode("aaab aaab") == [258, 259])
    #expect(tokenizer.encode("aaaa") == [256, 256])
    #expect(tokenizer.encode("aaaaab") == [256, 258])
  }

  @Test(arguments: [0, 255, 65_537, -1])
  func vocabularySizeOutOfRangeIsRefused(size: Int) {
    #expect(
      throws: DemoError(
        "vocabulary size \(size) is outside 256...65536 (the 256 bytes plus the merges)")
    ) {
      try BytePairTokenizer(training: ["some text"], vocabularySize: size)
    }
  }

  @Test func byteVocabularyEncodesBytes() throws {
    let tokenizer = try BytePairTokenizer(training: ["aaaa"], vocabularySize: 256)
    #expect(tokenizer.merges.isEmpty)
    #expect(tokenizer.encode("aé") == [97, 0xC3, 0xA9])
  }
}
