import DemoSupport

/// A byte-level byte-pair-encoding tokenizer, as GPT-2's, trained from text.
///
/// Tokens 0..<256 are the bytes; token 256 + i is the i-th merge, the concatenation of two
/// earlier tokens. Training (Sennrich et al., 2016, at the byte level as in GPT-2):
///
/// 1. Pre-tokenise each text into chunks as GPT-2 does (a contraction; a run of letters, digits
///    or other characters with an optional leading space; whitespace), so that no merge crosses
///    a chunk boundary, and count the distinct chunks.
/// 2. Repeat until the vocabulary is full: count every adjacent pair of tokens over the chunks
///    (weighted by the chunks' counts), merge the most frequent pair everywhere, left to right.
///    Ties go to the smallest left id, then the smallest right id. The counts are updated
///    incrementally, in the chunks that held the merged pair only.
///
/// Training stops early, with ``vocabularySize`` below the size asked for, when no chunk has two
/// tokens left to merge. The result depends only on the texts and the size: not on dictionary
/// order, threads or the process.
///
/// Encoding pre-tokenises the same way and merges each chunk by applying, while any applies, the
/// earliest learned merge present in it; the tokens of each distinct chunk are computed once per
/// call. Decoding concatenates the tokens' bytes and reads them as UTF-8, repairing invalid
/// sequences with U+FFFD, so `decode(encode(text)) == text` for every string:
///
///     let tokenizer = try BytePairTokenizer(training: ["to be or not to be"], vocabularySize: 260)
///     let tokens = tokenizer.encode("to be")  // [257, 258]: "to", " be"
///     tokenizer.decode(tokens)  // "to be"
package struct BytePairTokenizer: Sendable, Equatable {
  /// One learned merge: the two adjacent tokens it joins, left then right.
  package struct Merge: Hashable, Sendable {
    /// The left token.
    package var left: Int32
    /// The right token.
    package var right: Int32

    /// Creates a merge of `left` followed by `right`.
    package init(left: Int32, right: Int32) {
      self.left = left
      self.right = right
    }
  }

  /// The sizes a vocabulary may have: the 256 bytes, up to 65,280 merges.
  package static let vocabularySizes = 256...65_536

  /// The merges in the order learned; merge i creates token 256 + i.
  package let merges: [Merge]
  /// The bytes of each token, indexed by token.
  private let tokenBytes: [[UInt8]]
  /// The rank (index in ``merges``) of each merged pair, keyed by `left << 32 | right`.
  private let ranks: [UInt64: Int32]

  /// The number of tokens: 256 plus the number of merges.
  package var vocabularySize: Int { tokenBytes.count }

  /// Learns a vocabulary of `vocabularySize` tokens from `texts`.
  ///
  /// The texts are pre-tokenised separately: no chunk spans two of them.
  ///
  /// - Parameters:
  ///   - texts: The training text, any number of strings.
  ///   - vocabularySize: The tokens wanted, 256 bytes plus merges, in 256...65,536. The result
  ///     has fewer when the texts run out of pairs to merge; read ``vocabularySize``.
  /// - Throws: ``DemoError`` when `vocabularySize` is outside 256...65,536.
  /// - Complexity: O(n) to count the chunks of n bytes, then for each merge, work in proportion
  ///   to the distinct chunks that hold the merged pair. About 0.3 s for the 1.65 MB of the
  ///   training plays and 4,096 tokens in a release build.
  package init(training texts: [String], vocabularySize: Int) throws(DemoError) {
    guard Self.vocabularySizes.contains(vocabularySize) else {
      throw DemoError(
        "vocabulary size \(vocabularySize) is outside 256...65536 (the 256 bytes plus the"
          + " merges)")
    }
    var table = ChunkTable()
    var counts: [Int] = []
    for text in texts {
      Self.withBytes(of: text) { bytes in
        PreTokenizer.forEachChunk(in: bytes) { range in
          let (id, isNew) = table.id(of: range, in: bytes)
          if isNew { counts.append(0) }
          counts[Int(id)] += 1
        }
      }
    }
    // Sorted by their bytes, the chunks' order depends on nothing but the chunks.
    let chunks = zip(table.chunks, counts).map { (bytes: $0, count: $1) }
      .sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    var training = BytePairTraining(chunks: chunks)
    self.init(merges: training.learn(limit: vocabularySize - 256))
  }

  /// Creates the tokenizer of merges already learned (each joining tokens made before it).
  private init(merges: [Merge]) {
    var tokenBytes = (0..<256).map { [UInt8(truncatingIfNeeded: $0)] }
    var ranks: [UInt64: Int32] = [:]
    for (rank, merge) in merges.enumerated() {
      tokenBytes.append(tokenBytes[Int(merge.left)] + tokenBytes[Int(merge.right)])
      ranks[BytePairTraining.key(merge.left, merge.right)] = Int32(rank)
    }
    self.merges = merges
    self.tokenBytes = tokenBytes
    self.ranks = ranks
  }

  /// The tokens of `text`.
  ///
  /// - Returns: Token ids in 0..<``vocabularySize``.
  /// - Complexity: O(n) in the bytes of `text`, plus for each distinct chunk O(m^2) in its
  ///   length m.
  package func encode(_ text: String) -> [Int32] {
    var tokens: [Int32] = []
    tokens.reserveCapacity(text.utf8.count / 3)
    var table = ChunkTable()
    var cache: [[Int32]] = []
    Self.withBytes(of: text) { bytes in
      PreTokenizer.forEachChunk(in: bytes) { range in
        let (id, isNew) = table.id(of: range, in: bytes)
        if isNew { cache.append(encode(chunk: table.chunks[Int(id)])) }
        tokens += cache[Int(id)]
      }
    }
    return tokens
  }

  /// The text of `tokens`: their bytes read as UTF-8, invalid sequences replaced by U+FFFD.
  ///
  /// - Precondition: every token is in 0..<``vocabularySize``.
  package func decode(_ tokens: [Int32]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(tokens.count * 4)
    for token in tokens { bytes += self.bytes(of: token) }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The bytes `token` stands for.
  ///
  /// - Precondition: `token` is in 0..<``vocabularySize``.
  package func bytes(of token: Int32) -> [UInt8] {
    precondition(
      token >= 0 && Int(token) < tokenBytes.count,
      "token \(token) is outside 0..<\(tokenBytes.count)")
    return tokenBytes[Int(token)]
  }

  /// The chunks GPT-2's pre-tokenisation cuts `text` into; merges never cross them.
  ///
  ///     BytePairTokenizer.chunks(of: "What's  done is done.")
  ///     // ["What", "'s", " ", " done", " is", " done", "."]
  package static func chunks(of text: String) -> [String] {
    var chunks: [String] = []
    withBytes(of: text) { bytes in
      PreTokenizer.forEachChunk(in: bytes) { range in
        chunks.append(String(decoding: bytes[range], as: UTF8.self))
      }
    }
    return chunks
  }

  /// The tokens of one chunk: the earliest learned merge present applied, left to right, until
  /// none is.
  private func encode(chunk: [UInt8]) -> [Int32] {
    var symbols = chunk.map(Int32.init)
    while symbols.count > 1 {
      var best = Int32.max
      for position in 0..<(symbols.count - 1) {
        if let rank = ranks[BytePairTraining.key(symbols[position], symbols[position + 1])],
          rank < best
        {
          best = rank
        }
      }
      guard best != Int32.max else { break }
      let merge = merges[Int(best)]
      symbols = Self.merge(symbols, left: merge.left, right: merge.right, into: 256 + best)
    }
    return symbols
  }

  /// `symbols` with every `left, right` pair, taken left to right, replaced by `token`.
  static func merge(_ symbols: [Int32], left: Int32, right: Int32, into token: Int32) -> [Int32] {
    var merged: [Int32] = []
    merged.reserveCapacity(symbols.count)
    var position = 0
    while position < symbols.count {
      if position + 1 < symbols.count, symbols[position] == left,
        symbols[position + 1] == right
      {
        merged.append(token)
        position += 2
      } else {
        merged.append(symbols[position])
        position += 1
      }
    }
    return merged
  }

  /// Calls `body` with the UTF-8 bytes of `text`, contiguous.
  private static func withBytes(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var text = text
    text.withUTF8 { body($0) }
  }
}
