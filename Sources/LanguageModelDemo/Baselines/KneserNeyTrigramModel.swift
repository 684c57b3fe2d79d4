import DemoSupport
import Foundation

/// An interpolated Kneser-Ney trigram language model (Chen and Goodman, 1998, section 3.5).
///
/// The trigram level uses counts `c`, the lower levels continuation counts `N1+`, each level one
/// absolute discount `D`, and the unigram level is interpolated with the uniform distribution
/// over the `V` tokens:
///
/// ```
/// P3(w | u v) = max(c(u v w) - D3, 0) / c(u v .) + D3 N1+(u v .) / c(u v .) P2(w | v)
/// P2(w | v)   = max(N1+(. v w) - D2, 0) / N1+(. v .) + D2 N1+(v .) / N1+(. v .) P1(w)
/// P1(w)       = max(N1+(. w) - D1, 0) / N1+(. .) + D1 N1+(.) / N1+(. .) / V
/// ```
///
/// `N1+(. v w)` is the number of distinct `u` before `v w` in training, `N1+(. w)` the number of
/// distinct `v` before `w`; `N1+(u v .)`, `N1+(v .)` and `N1+(.)` count the distinct words that
/// follow a context, or have a continuation count. A context never seen in training gives its
/// level's weight to the level below. Each discount is `D = n1 / (n1 + 2 n2)`, with `n1` and `n2`
/// the numbers of n-grams of the level whose count (trigram level) or continuation count (lower
/// levels) is 1 and 2; when `n1` is 0 the discount is 0.5. As `D <= 1`, the probabilities sum to
/// 1 over the vocabulary for every context, and every token has a nonzero probability.
///
/// Every token of a sequence is predicted; the history before a sequence is padded with the
/// boundary symbol (the id `vocabularySize`), which is never predicted.
///
/// ```swift
/// let model = try KneserNeyTrigramModel(training: train, vocabularySize: 4096)
/// print(try model.perplexity(test))
/// ```
package struct KneserNeyTrigramModel: Sendable {
  /// The total count and the number of distinct successors of a context.
  private struct ContextCounts: Sendable {
    var total: Int32 = 0
    var successors: Int32 = 0

    /// Adds one distinct successor seen `count` times.
    mutating func add(_ count: Int32) {
      total += count
      successors += 1
    }
  }

  /// The number of token ids; tokens are `0..<vocabularySize`.
  package let vocabularySize: Int
  /// The trigram level's discount `D3`.
  package let trigramDiscount: Double
  /// The bigram level's discount `D2`.
  package let bigramDiscount: Double
  /// The unigram level's discount `D1`.
  package let unigramDiscount: Double
  /// `c(u v w)`, keyed by `NGramKeys.pack(u, v, w)`.
  private let trigramCounts: [UInt64: Int32]
  /// `c(u v .)` and `N1+(u v .)`, keyed by `NGramKeys.pack(u, v)`.
  private let trigramContexts: [UInt64: ContextCounts]
  /// `N1+(. v w)`, keyed by `NGramKeys.pack(v, w)`.
  private let bigramContinuations: [UInt64: Int32]
  /// `N1+(. v .)` and `N1+(v .)` for each id `v`, the boundary symbol's last.
  private let bigramContexts: [ContextCounts]
  /// `P1(w)` for each token.
  private let unigramProbabilities: [Double]

  /// The id of the boundary symbol that pads the history before a sequence: `vocabularySize`.
  package var boundary: Int32 { Int32(vocabularySize) }

  /// Counts the trigrams of the training split and estimates the discounts from them.
  ///
  /// - Parameters:
  ///   - training: One token sequence per play, ids in `0..<vocabularySize`, at least one token.
  ///   - vocabularySize: The number of token ids, in `1...2_097_151`.
  /// - Throws: `DemoError` naming a token id out of range and its position, an empty split or a
  ///   vocabulary size out of range.
  /// - Complexity: O(n log n) for n training tokens, plus O(`vocabularySize`).
  package init(training: [[Int32]], vocabularySize: Int) throws(DemoError) {
    try NGramKeys.checkVocabularySize(vocabularySize)
    let tokenCount = try NGramKeys.checkedTokenCount(
      of: training, vocabularySize: vocabularySize, role: "training")
    self.vocabularySize = vocabularySize
    let boundary = Int32(vocabularySize)
    let bits = NGramKeys.bitsPerId
    let idMask: UInt64 = (1 << bits) - 1

    // Every trigram occurrence, sorted, so that equal trigrams and equal contexts are adjacent.
    var trigrams = [UInt64]()
    trigrams.reserveCapacity(tokenCount)
    for sequence in training {
      var (first, second) = (boundary, boundary)
      for token in sequence {
        trigrams.append(NGramKeys.pack(first, second, token))
        (first, second) = (second, token)
      }
    }
    trigrams.sort()

    // Trigram counts and context counts; one (v, w) key per distinct trigram for the level below.
    var trigramCounts = [UInt64: Int32](minimumCapacity: tokenCount)
    var trigramContexts = [UInt64: ContextCounts](minimumCapacity: tokenCount)
    var trigramCountsOfCounts = CountsOfCounts()
    var pairs = [UInt64]()
    pairs.reserveCapacity(tokenCount)
    var start = 0
    while start < trigrams.count {
      let key = trigrams[start]
      var end = start + 1
      while end < trigrams.count && trigrams[end] == key { end += 1 }
      let count = Int32(end - start)
      trigramCounts[key] = count
      trigramContexts[key >> bits, default: ContextCounts()].add(count)
      trigramCountsOfCounts.add(count)
      pairs.append(key & (idMask << bits | idMask))
      start = end
    }
    pairs.sort()

    // Continuation counts of pairs: the number of distinct trigrams that end in each pair.
    var bigramContinuations = [UInt64: Int32](minimumCapacity: pairs.count)
    var bigramContexts = [ContextCounts](repeating: ContextCounts(), count: vocabularySize + 1)
    var bigramCountsOfCounts = CountsOfCounts()
    var unigramContinuations = [Int32](repeating: 0, count: vocabularySize)
    start = 0
    while start < pairs.count {
      let key = pairs[start]
      var end = start + 1
      while end < pairs.count && pairs[end] == key { end += 1 }
      let count = Int32(end - start)
      bigramContinuations[key] = count
      bigramContexts[Int(key >> bits)].add(count)
      bigramCountsOfCounts.add(count)
      unigramContinuations[Int(key & idMask)] += 1
      start = end
    }

    // The unigram level, interpolated with the uniform distribution.
    var unigramCountsOfCounts = CountsOfCounts()
    var unigramTotal = 0
    var unigramTypes = 0
    for count in unigramContinuations where count > 0 {
      unigramCountsOfCounts.add(count)
      unigramTotal += Int(count)
      unigramTypes += 1
    }
    let unigramDiscount = unigramCountsOfCounts.discount
    let total = Double(unigramTotal)
    let uniformWeight = unigramDiscount * Double(unigramTypes) / total / Double(vocabularySize)
    unigramProbabilities = unigramContinuations.map { count in
      max(Double(count) - unigramDiscount, 0) / total + uniformWeight
    }

    self.trigramCounts = trigramCounts
    self.trigramContexts = trigramContexts
    self.bigramContinuations = bigramContinuations
    self.bigramContexts = bigramContexts
    self.trigramDiscount = trigramCountsOfCounts.discount
    self.bigramDiscount = bigramCountsOfCounts.discount
    self.unigramDiscount = unigramDiscount
  }

  /// The probability of `token` after `history`, the two previous ids in text order (tokens or
  /// `boundary`).
  ///
  /// - Precondition: `token` is in `0..<vocabularySize` and both ids of `history` in
  ///   `0...vocabularySize`.
  /// - Complexity: O(1) expected.
  package func probability(of token: Int32, after history: (Int32, Int32)) -> Double {
    precondition(0 <= token && Int(token) < vocabularySize, "token out of range")
    precondition(
      0 <= history.0 && Int(history.0) <= vocabularySize && 0 <= history.1
        && Int(history.1) <= vocabularySize, "history out of range")
    let (first, second) = history
    let unigram = unigramProbabilities[Int(token)]

    var bigram = unigram
    let bigramContext = bigramContexts[Int(second)]
    if bigramContext.total > 0 {
      let continuation = bigramContinuations[NGramKeys.pack(second, token)] ?? 0
      let total = Double(bigramContext.total)
      bigram =
        max(Double(continuation) - bigramDiscount, 0) / total
        + bigramDiscount * Double(bigramContext.successors) / total * unigram
    }

    guard let trigramContext = trigramContexts[NGramKeys.pack(first, second)] else {
      return bigram
    }
    let count = trigramCounts[NGramKeys.pack(first, second, token)] ?? 0
    let total = Double(trigramContext.total)
    return max(Double(count) - trigramDiscount, 0) / total
      + trigramDiscount * Double(trigramContext.successors) / total * bigram
  }

  /// The perplexity of a split: `exp` of the mean negative log-likelihood, in nats, of all its
  /// tokens.
  ///
  /// - Parameter split: One token sequence per play, ids in `0..<vocabularySize`, at least one
  ///   token.
  /// - Throws: `DemoError` naming a token id out of range and its position, or an empty split.
  /// - Complexity: O(m) expected for m tokens.
  package func perplexity(_ split: [[Int32]]) throws(DemoError) -> Double {
    let tokenCount = try NGramKeys.checkedTokenCount(
      of: split, vocabularySize: vocabularySize, role: "scored")
    var sum = 0.0
    for sequence in split {
      var history = (boundary, boundary)
      for token in sequence {
        sum -= log(probability(of: token, after: history))
        history = (history.1, token)
      }
    }
    return exp(sum / Double(tokenCount))
  }
}

/// The numbers `n1` and `n2` of n-grams seen once and twice, and the discount they give.
private struct CountsOfCounts {
  var once = 0
  var twice = 0

  mutating func add(_ count: Int32) {
    if count == 1 { once += 1 } else if count == 2 { twice += 1 }
  }

  /// `n1 / (n1 + 2 n2)`, or 0.5 when `n1` is 0.
  var discount: Double {
    once == 0 ? 0.5 : Double(once) / Double(once + 2 * twice)
  }
}
