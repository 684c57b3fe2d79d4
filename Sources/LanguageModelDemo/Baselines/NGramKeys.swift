import DemoSupport

/// What the n-gram baselines share: the checks of their token splits and the packing of an
/// n-gram's ids into one integer key.
///
/// A split is one token sequence per play. The history before a sequence's first token is padded
/// with the boundary symbol, the id `vocabularySize`, which is a context word only: it is never
/// predicted, so there is no end symbol either. Each id takes 21 bits of a key, so a trigram packs
/// into one `UInt64` and the vocabulary, boundary included, must fit in 21 bits.
enum NGramKeys {
  /// The number of bits of one id in a packed key.
  static let bitsPerId: UInt64 = 21

  /// The largest vocabulary whose ids and boundary symbol fit in `bitsPerId` bits.
  static let maximumVocabularySize = (1 << 21) - 1

  /// The key of the pair `(first, second)`.
  @inline(__always)
  static func pack(_ first: Int32, _ second: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: first)) << bitsPerId | UInt64(UInt32(bitPattern: second))
  }

  /// The key of the triple `(first, second, third)`.
  @inline(__always)
  static func pack(_ first: Int32, _ second: Int32, _ third: Int32) -> UInt64 {
    pack(first, second) << bitsPerId | UInt64(UInt32(bitPattern: third))
  }

  /// Throws unless `vocabularySize` is in `1...maximumVocabularySize`.
  static func checkVocabularySize(_ vocabularySize: Int) throws(DemoError) {
    guard (1...maximumVocabularySize).contains(vocabularySize) else {
      throw DemoError(
        "vocabulary size \(vocabularySize) is outside 1...\(maximumVocabularySize)")
    }
  }

  /// The number of tokens of `split`, after checking that there is at least one and that every
  /// id is in `0..<vocabularySize`.
  ///
  /// - Parameter role: The split's name in the messages: "training", "validation", "scored".
  /// - Throws: `DemoError` naming the first id out of range and its position
  ///   `[sequence, token]`, or saying that the split has no tokens.
  static func checkedTokenCount(
    of split: [[Int32]], vocabularySize: Int, role: String
  ) throws(DemoError) -> Int {
    var count = 0
    for (sequenceIndex, sequence) in split.enumerated() {
      for (position, token) in sequence.enumerated()
      where token < 0 || Int(token) >= vocabularySize {
        throw DemoError(
          "token \(token) at position [\(sequenceIndex), \(position)] of the \(role) split "
            + "is outside 0..<\(vocabularySize)")
      }
      count += sequence.count
    }
    guard count > 0 else { throw DemoError("the \(role) split has no tokens") }
    return count
  }
}
