import DemoSupport
import Foundation

/// A bigram language model interpolated with an add-one unigram (Jelinek and Mercer, 1980).
///
/// With `c(v, w)` the training count of `w` after `v`, `c(v)` the count of `v` as a context,
/// `c(w)` the count of `w`, `N` the number of training tokens and `V` the vocabulary size:
///
/// ```
/// P(w | v) = lambda * c(v, w) / c(v) + (1 - lambda) * (c(w) + 1) / (N + V)   if c(v) > 0
/// P(w | v) = (c(w) + 1) / (N + V)                                            otherwise
/// ```
///
/// Every token of a sequence is predicted; the first one's context is the boundary symbol (the id
/// `vocabularySize`), which is never predicted. The weight `lambda` is fixed at creation or chosen
/// on a validation split by `tune(validation:)`.
///
/// ```swift
/// let model = try BigramModel(training: train, validation: valid, vocabularySize: 4096)
/// print(model.lambda, try model.perplexity(test))
/// ```
package struct BigramModel: Sendable {
  /// The weights that `tune(validation:)` tries: 0.05, 0.10, ..., 0.95.
  package static let lambdaGrid: [Double] = (1...19).map { Double($0) / 20 }

  /// The number of token ids; tokens are `0..<vocabularySize`.
  package let vocabularySize: Int
  /// The weight of the bigram estimate, in `0..<1`.
  package private(set) var lambda: Double
  /// The count of each pair, keyed by `NGramKeys.pack(v, w)`.
  private let pairCounts: [UInt64: Int32]
  /// The count of each id as a context, the boundary symbol's last.
  private let contextCounts: [Int32]
  /// The add-one unigram probability of each token.
  private let unigramProbabilities: [Double]

  /// The id of the boundary symbol that pads the history before a sequence: `vocabularySize`.
  package var boundary: Int32 { Int32(vocabularySize) }

  /// Counts the pairs of the training split.
  ///
  /// - Parameters:
  ///   - training: One token sequence per play, ids in `0..<vocabularySize`, at least one token.
  ///   - vocabularySize: The number of token ids, in `1...2_097_151`.
  ///   - lambda: The weight of the bigram estimate, in `0..<1`. Default 0.5.
  /// - Throws: `DemoError` naming a token id out of range and its position, an empty split, a
  ///   vocabulary size or a weight out of range.
  /// - Complexity: O(n) expected for n training tokens, plus O(`vocabularySize`).
  package init(
    training: [[Int32]], vocabularySize: Int, lambda: Double = 0.5
  ) throws(DemoError) {
    try NGramKeys.checkVocabularySize(vocabularySize)
    guard (0..<1).contains(lambda) else { throw DemoError("lambda \(lambda) is outside 0..<1") }
    let tokenCount = try NGramKeys.checkedTokenCount(
      of: training, vocabularySize: vocabularySize, role: "training")
    self.vocabularySize = vocabularySize
    self.lambda = lambda
    let boundary = Int32(vocabularySize)
    var pairCounts: [UInt64: Int32] = [:]
    var contextCounts = [Int32](repeating: 0, count: vocabularySize + 1)
    var tokenCounts = [Int](repeating: 0, count: vocabularySize)
    for sequence in training {
      var previous = boundary
      for token in sequence {
        pairCounts[NGramKeys.pack(previous, token), default: 0] += 1
        contextCounts[Int(previous)] += 1
        tokenCounts[Int(token)] += 1
        previous = token
      }
    }
    let denominator = Double(tokenCount + vocabularySize)
    self.pairCounts = pairCounts
    self.contextCounts = contextCounts
    unigramProbabilities = tokenCounts.map { Double($0 + 1) / denominator }
  }

  /// Counts the pairs of the training split and chooses `lambda` on the validation split.
  ///
  /// - Parameters:
  ///   - training: One token sequence per play, ids in `0..<vocabularySize`, at least one token.
  ///   - validation: The same, for choosing `lambda`.
  ///   - vocabularySize: The number of token ids, in `1...2_097_151`.
  /// - Throws: `DemoError` naming a token id out of range and its split and position, an empty
  ///   split or a vocabulary size out of range.
  /// - Complexity: O(n + 19 m) for n training and m validation tokens.
  package init(
    training: [[Int32]], validation: [[Int32]], vocabularySize: Int
  ) throws(DemoError) {
    try self.init(training: training, vocabularySize: vocabularySize)
    try tune(validation: validation)
  }

  /// Sets `lambda` to the value of `lambdaGrid` with the lowest perplexity on `validation`.
  ///
  /// Ties go to the smaller weight. The sums run in the order of the tokens, so the choice is
  /// the same on every run.
  ///
  /// - Parameter validation: One token sequence per play, ids in `0..<vocabularySize`, at least
  ///   one token.
  /// - Returns: The validation perplexity at the chosen weight.
  /// - Throws: `DemoError` naming a token id out of range and its position, or an empty split.
  /// - Complexity: O(19 m) for m validation tokens.
  @discardableResult
  package mutating func tune(validation: [[Int32]]) throws(DemoError) -> Double {
    let tokenCount = try NGramKeys.checkedTokenCount(
      of: validation, vocabularySize: vocabularySize, role: "validation")
    let grid = Self.lambdaGrid
    var sums = [Double](repeating: 0, count: grid.count)
    for sequence in validation {
      var previous = boundary
      for token in sequence {
        let unigram = unigramProbabilities[Int(token)]
        if let bigram = maximumLikelihood(of: token, after: previous) {
          for index in grid.indices {
            sums[index] -= log(Self.interpolate(grid[index], bigram, unigram))
          }
        } else {
          let term = -log(unigram)
          for index in grid.indices { sums[index] += term }
        }
        previous = token
      }
    }
    var best = 0
    for index in grid.indices where sums[index] < sums[best] { best = index }
    lambda = grid[best]
    return exp(sums[best] / Double(tokenCount))
  }

  /// The probability of `token` after `previous` (a token or `boundary`).
  ///
  /// - Precondition: `token` is in `0..<vocabularySize` and `previous` in `0...vocabularySize`.
  /// - Complexity: O(1) expected.
  package func probability(of token: Int32, after previous: Int32) -> Double {
    precondition(0 <= token && Int(token) < vocabularySize, "token out of range")
    precondition(0 <= previous && Int(previous) <= vocabularySize, "context out of range")
    let unigram = unigramProbabilities[Int(token)]
    guard let bigram = maximumLikelihood(of: token, after: previous) else { return unigram }
    return Self.interpolate(lambda, bigram, unigram)
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
      var previous = boundary
      for token in sequence {
        sum -= log(probability(of: token, after: previous))
        previous = token
      }
    }
    return exp(sum / Double(tokenCount))
  }

  /// `c(v, w) / c(v)`, or nil when `v` was never a context in training.
  @inline(__always)
  private func maximumLikelihood(of token: Int32, after previous: Int32) -> Double? {
    let contextCount = contextCounts[Int(previous)]
    guard contextCount > 0 else { return nil }
    let pairCount = pairCounts[NGramKeys.pack(previous, token)] ?? 0
    return Double(pairCount) / Double(contextCount)
  }

  /// The mixture, written once so that tuning and scoring round alike.
  @inline(__always)
  private static func interpolate(_ lambda: Double, _ bigram: Double, _ unigram: Double) -> Double {
    lambda * bigram + (1 - lambda) * unigram
  }
}
