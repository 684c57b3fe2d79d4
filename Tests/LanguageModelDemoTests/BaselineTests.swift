import DemoSupport
import Foundation
import Testing

@testable import LanguageModelDemo

/// The corpus worked by hand below: vocabulary {0, 1, 2}, boundary symbol 3 (written #).
/// Token 2 never occurs, and token 1 is never followed by anything.
private let tinyCorpus: [[Int32]] = [[0, 0, 1], [0, 1]]

/// `a` and `b` agree to a relative 1e-12.
private func close(_ a: Double, _ b: Double) -> Bool {
  abs(a - b) <= 1e-12 * max(abs(a), abs(b))
}

/// `sequences` random sequences of lengths in 1...`length` over `0..<vocabularySize`.
private func randomSplit(
  seed: UInt64, sequences: Int, length: Int, vocabularySize: Int
) -> [[Int32]] {
  var generator = SplitMix64(seed: seed)
  return (0..<sequences).map { _ in
    (0...generator.nextInt(below: length)).map { _ in
      Int32(generator.nextInt(below: vocabularySize))
    }
  }
}

/// `copies` repetitions of `pattern`, as one sequence.
private func repeated(_ pattern: [Int32], _ copies: Int) -> [Int32] {
  Array([[Int32]](repeating: pattern, count: copies).joined())
}

@Suite struct BigramModelTests {
  /// Worked by hand on `tinyCorpus`, lambda 1/2. N = 5 tokens, c(0) = 3, c(1) = 2, c(2) = 0, so
  /// the add-one unigram is (c + 1) / (5 + 3) = 4/8, 3/8, 1/8. Pairs: # -> 0 twice, 0 -> 0 once,
  /// 0 -> 1 twice; contexts c(#) = 2, c(0) = 3, c(1) = c(2) = 0.
  ///   P(0 | #) = 1/2 * 2/2 + 1/2 * 4/8 = 3/4,  P(1 | #) = 1/2 * 3/8 = 3/16,  P(2 | #) = 1/16
  ///   P(0 | 0) = 1/2 * 1/3 + 1/2 * 4/8 = 5/12, P(1 | 0) = 1/2 * 2/3 + 1/2 * 3/8 = 25/48,
  ///   P(2 | 0) = 1/16
  ///   P(w | 1) = P(w | 2) = the unigram (contexts never seen).
  /// Test [[0, 1, 2]]: 3/4 * 25/48 * 1/8 = 25/512, perplexity (512/25)^(1/3).
  @Test func handWorkedProbabilitiesAndPerplexity() throws {
    let model = try BigramModel(training: tinyCorpus, vocabularySize: 3, lambda: 0.5)
    let expected: [Int32: [Double]] = [
      3: [3.0 / 4, 3.0 / 16, 1.0 / 16],
      0: [5.0 / 12, 25.0 / 48, 1.0 / 16],
      1: [4.0 / 8, 3.0 / 8, 1.0 / 8],
      2: [4.0 / 8, 3.0 / 8, 1.0 / 8],
    ]
    for (context, probabilities) in expected {
      for token in 0..<3 {
        let probability = model.probability(of: Int32(token), after: context)
        #expect(close(probability, probabilities[token]), "P(\(token) | \(context))")
      }
    }
    #expect(model.boundary == 3)
    #expect(close(try model.perplexity([[0, 1, 2]]), pow(512.0 / 25, 1.0 / 3)))
  }

  @Test(arguments: [0.0, 0.05, 0.5, 0.95])
  func probabilitiesSumToOneAfterEveryContext(lambda: Double) throws {
    let training = randomSplit(seed: 7, sequences: 5, length: 12, vocabularySize: 6)
    for model in [
      try BigramModel(training: tinyCorpus, vocabularySize: 3, lambda: lambda),
      try BigramModel(training: training, vocabularySize: 6, lambda: lambda),
    ] {
      for context in 0...model.boundary {
        let sum = (0..<Int32(model.vocabularySize)).reduce(0.0) {
          $0 + model.probability(of: $1, after: context)
        }
        #expect(abs(sum - 1) < 1e-12, "context \(context), lambda \(lambda)")
      }
    }
  }

  /// On [[0, 1]] both P(0 | #) = 1/2 + lambda/2 and P(1 | 0) = 3/8 + 7 lambda/24 grow with
  /// lambda; on [[2, 2]], P(2 | #) = (1 - lambda)/8 falls and P(2 | 2) = 1/8 does not move.
  @Test func tuningPicksTheEndsOfTheGridWhenTheValidationSplitDoes() throws {
    var model = try BigramModel(training: tinyCorpus, vocabularySize: 3)
    let predictable = try model.tune(validation: [[0, 1]])
    #expect(model.lambda == 0.95)
    // sqrt(1 / (P(0 | #) P(1 | 0))) at lambda 0.95.
    let expected = 1 / ((0.5 + 0.95 / 2) * (3.0 / 8 + 7 * 0.95 / 24)).squareRoot()
    #expect(close(predictable, expected))
    try model.tune(validation: [[2, 2]])
    #expect(model.lambda == 0.05)
  }

  @Test func tuningMinimisesValidationPerplexityOverTheGrid() throws {
    let training = randomSplit(seed: 11, sequences: 20, length: 30, vocabularySize: 8)
    let validation = randomSplit(seed: 12, sequences: 5, length: 30, vocabularySize: 8)
    let model = try BigramModel(training: training, validation: validation, vocabularySize: 8)
    var copy = model
    let tuned = try copy.tune(validation: validation)
    #expect(tuned == (try model.perplexity(validation)))
    for lambda in BigramModel.lambdaGrid {
      let fixed = try BigramModel(training: training, vocabularySize: 8, lambda: lambda)
      #expect(tuned <= (try fixed.perplexity(validation)), "lambda \(lambda)")
    }
  }

  /// One play cycling 0, 1, 2, 3: the unigram is 1/4 for every token and every pair seen has
  /// ML probability 1, so each token gets 0.95 + 0.05/4 = 0.9625, the best the grid allows.
  @Test func perfectlyPredictableTextReachesTheGridsLowerBound() throws {
    let text = [repeated([0, 1, 2, 3], 250)]
    let model = try BigramModel(training: text, validation: text, vocabularySize: 4)
    #expect(model.lambda == 0.95)
    #expect(close(try model.perplexity(text), 1 / 0.9625))
  }
}

@Suite struct KneserNeyTrigramModelTests {
  /// Worked by hand on `tinyCorpus` (# is the boundary symbol 3).
  /// Trigrams: (#,#,0) twice, (#,0,0), (0,0,1), (#,0,1) once: n1 = 3, n2 = 1,
  ///   D3 = 3 / (3 + 2) = 3/5. Contexts: (#,#) total 2, 1 successor; (#,0) total 2, 2 successors;
  ///   (0,0) total 1, 1 successor.
  /// Pairs, continuation counts N1+(. v w): (#,0) <- {#}: 1, (0,0) <- {#}: 1, (0,1) <- {#, 0}: 2;
  ///   n1 = 2, n2 = 1, D2 = 2/4 = 1/2. N1+(. # .) = 1 (1 successor), N1+(. 0 .) = 3 (2).
  /// Unigram continuation counts N1+(. w): 0 <- {#, 0}: 2, 1 <- {0}: 1, 2: 0; n1 = n2 = 1,
  ///   D1 = 1/3; N1+(. .) = 3, 2 tokens with a count; the uniform weight is 1/3 * 2/3 = 2/9.
  ///   P1(0) = (2 - 1/3)/3 + 2/9 * 1/3 = 5/9 + 2/27 = 17/27, P1(1) = (1 - 1/3)/3 + 2/27 = 8/27,
  ///   P1(2) = 2/27.
  ///   P2(w | 0) = max(N1+(. 0 w) - 1/2, 0)/3 + 1/2 * 2/3 * P1(w):
  ///     P2(0 | 0) = 1/6 + 17/81 = 61/162, P2(1 | 0) = 1/2 + 8/81 = 97/162, P2(2 | 0) = 4/162.
  ///   P2(w | #) = max(N1+(. # w) - 1/2, 0)/1 + 1/2 * 1/1 * P1(w):
  ///     P2(0 | #) = 1/2 + 17/54 = 22/27, P2(1 | #) = 4/27, P2(2 | #) = 1/27.
  ///   P2(w | 1) = P2(w | 2) = P1(w) (contexts never seen).
  ///   P3(w | # #) = max(c - 3/5, 0)/2 + 3/5 * 1/2 * P2(w | #):
  ///     7/10 + 3/10 * 22/27 = 17/18, 3/10 * 4/27 = 2/45, 3/10 * 1/27 = 1/90.
  ///   P3(w | # 0) = max(c - 3/5, 0)/2 + 3/5 * 2/2 * P2(w | 0):
  ///     1/5 + 3/5 * 61/162 = 23/54, 1/5 + 3/5 * 97/162 = 151/270, 3/5 * 4/162 = 2/135.
  ///   P3(w | 0 0) = max(c - 3/5, 0)/1 + 3/5 * 1/1 * P2(w | 0):
  ///     3/5 * 61/162 = 61/270, 2/5 + 3/5 * 97/162 = 41/54, 2/135.
  ///   P3(w | 0 1) = P2(w | 1) = P1(w); P3(w | 1 #) = P2(w | #) (contexts never seen).
  /// Test [[0, 1, 2]]: P3(0 | # #) P3(1 | # 0) P3(2 | 0 1) = 17/18 * 151/270 * 2/27 = 2567/65610,
  ///   perplexity (65610/2567)^(1/3).
  @Test func handWorkedProbabilitiesAndPerplexity() throws {
    let model = try KneserNeyTrigramModel(training: tinyCorpus, vocabularySize: 3)
    #expect(close(model.trigramDiscount, 3.0 / 5))
    #expect(close(model.bigramDiscount, 1.0 / 2))
    #expect(close(model.unigramDiscount, 1.0 / 3))
    let unigram = [17.0 / 27, 8.0 / 27, 2.0 / 27]
    let expected: [(history: (Int32, Int32), probabilities: [Double])] = [
      ((3, 3), [17.0 / 18, 2.0 / 45, 1.0 / 90]),
      ((3, 0), [23.0 / 54, 151.0 / 270, 2.0 / 135]),
      ((0, 0), [61.0 / 270, 41.0 / 54, 2.0 / 135]),
      ((0, 1), unigram),
      ((2, 2), unigram),
      ((1, 3), [22.0 / 27, 4.0 / 27, 1.0 / 27]),
      ((1, 0), [61.0 / 162, 97.0 / 162, 4.0 / 162]),
    ]
    for (history, probabilities) in expected {
      for token in 0..<3 {
        let probability = model.probability(of: Int32(token), after: history)
        #expect(close(probability, probabilities[token]), "P(\(token) | \(history))")
      }
    }
    #expect(close(try model.perplexity([[0, 1, 2]]), pow(65610.0 / 2567, 1.0 / 3)))
  }

  @Test(arguments: [(3, UInt64(0)), (4, 1), (6, 2)])
  func probabilitiesSumToOneAfterEveryHistory(vocabularySize: Int, seed: UInt64) throws {
    let training =
      seed == 0
      ? tinyCorpus
      : randomSplit(seed: seed, sequences: 6, length: 15, vocabularySize: vocabularySize)
    let model = try KneserNeyTrigramModel(training: training, vocabularySize: vocabularySize)
    for first in 0...model.boundary {
      for second in 0...model.boundary {
        var sum = 0.0
        for token in 0..<Int32(vocabularySize) {
          let probability = model.probability(of: token, after: (first, second))
          #expect(probability > 0)
          sum += probability
        }
        #expect(abs(sum - 1) < 1e-12, "history (\(first), \(second)), seed \(seed)")
      }
    }
  }

  /// In 0 0 1 1 0 0 1 1 ... the previous token leaves the next one a coin flip, the previous two
  /// decide it.
  @Test func beatsTheBigramOnTextWithTrigramStructure() throws {
    let training = [[Int32]](repeating: repeated([0, 0, 1, 1], 25), count: 8)
    let test = [repeated([0, 0, 1, 1], 25)]
    let bigram = try BigramModel(training: training, validation: test, vocabularySize: 3)
    let kneserNey = try KneserNeyTrigramModel(training: training, vocabularySize: 3)
    let bigramPerplexity = try bigram.perplexity(test)
    let kneserNeyPerplexity = try kneserNey.perplexity(test)
    #expect(bigramPerplexity > 1.8)
    #expect(kneserNeyPerplexity < 1.1)
  }

  /// On one play cycling 0, 1, 2, 3 the trigram counts grow with the length and D3 stays at most
  /// 1, so each token's probability is at least 1 - 1/c: the perplexity falls towards 1.
  @Test func perfectlyPredictableTextApproachesPerplexityOne() throws {
    var perplexities: [Double] = []
    for copies in [10, 100, 1000] {
      let text = [repeated([0, 1, 2, 3], copies)]
      let model = try KneserNeyTrigramModel(training: text, vocabularySize: 4)
      perplexities.append(try model.perplexity(text))
    }
    #expect(perplexities[0] > perplexities[1] && perplexities[1] > perplexities[2])
    #expect(perplexities[2] > 1 && perplexities[2] < 1.002)
  }
}

@Suite struct BaselineInputTests {
  @Test func tokenOutOfRangeNamesTheTokenAndPosition() {
    let outside = "is outside 0..<3"
    #expect(throws: DemoError("token 3 at position [1, 2] of the training split \(outside)")) {
      _ = try BigramModel(training: [[0], [1, 2, 3]], vocabularySize: 3)
    }
    #expect(throws: DemoError("token -1 at position [0, 0] of the training split \(outside)")) {
      _ = try KneserNeyTrigramModel(training: [[-1]], vocabularySize: 3)
    }
    #expect(throws: DemoError("token 5 at position [0, 1] of the validation split \(outside)")) {
      var model = try BigramModel(training: tinyCorpus, vocabularySize: 3)
      try model.tune(validation: [[1, 5]])
    }
    #expect(throws: DemoError("token 3 at position [2, 0] of the scored split \(outside)")) {
      _ = try KneserNeyTrigramModel(training: tinyCorpus, vocabularySize: 3)
        .perplexity([[0], [1], [3]])
    }
    #expect(throws: DemoError("token 4 at position [0, 0] of the scored split \(outside)")) {
      _ = try BigramModel(training: tinyCorpus, vocabularySize: 3).perplexity([[4]])
    }
  }

  @Test func splitsWithoutTokensAreRejected() {
    #expect(throws: DemoError("the training split has no tokens")) {
      _ = try BigramModel(training: [], vocabularySize: 3)
    }
    #expect(throws: DemoError("the training split has no tokens")) {
      _ = try KneserNeyTrigramModel(training: [[], []], vocabularySize: 3)
    }
    #expect(throws: DemoError("the validation split has no tokens")) {
      _ = try BigramModel(training: tinyCorpus, validation: [[]], vocabularySize: 3)
    }
    #expect(throws: DemoError("the scored split has no tokens")) {
      _ = try KneserNeyTrigramModel(training: tinyCorpus, vocabularySize: 3).perplexity([])
    }
  }

  @Test func vocabularySizeAndLambdaOutOfRangeAreRejected() {
    #expect(throws: DemoError("vocabulary size 0 is outside 1...2097151")) {
      _ = try BigramModel(training: tinyCorpus, vocabularySize: 0)
    }
    #expect(throws: DemoError("vocabulary size 2097152 is outside 1...2097151")) {
      _ = try KneserNeyTrigramModel(training: tinyCorpus, vocabularySize: 1 << 21)
    }
    #expect(throws: DemoError("lambda 1.0 is outside 0..<1")) {
      _ = try BigramModel(training: tinyCorpus, vocabularySize: 3, lambda: 1)
    }
  }

  @Test func equalInputsGiveEqualModels() throws {
    let training = randomSplit(seed: 21, sequences: 30, length: 40, vocabularySize: 50)
    let validation = randomSplit(seed: 22, sequences: 5, length: 40, vocabularySize: 50)
    let test = randomSplit(seed: 23, sequences: 5, length: 40, vocabularySize: 50)
    let bigrams = try (0..<2).map { _ in
      try BigramModel(training: training, validation: validation, vocabularySize: 50)
    }
    #expect(bigrams[0].lambda == bigrams[1].lambda)
    #expect(try bigrams[0].perplexity(test) == bigrams[1].perplexity(test))
    let kneserNeys = try (0..<2).map { _ in
      try KneserNeyTrigramModel(training: training, vocabularySize: 50)
    }
    #expect(try kneserNeys[0].perplexity(test) == kneserNeys[1].perplexity(test))
  }
}
