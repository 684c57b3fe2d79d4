/// Every predicted position of a split: its context (the previous tokens, padded with the
/// boundary symbol before a play's start) and its target token.
///
/// A split is one token sequence per play; every token of every sequence is a target, so the
/// neural model and the n-gram baselines are scored on exactly the same predictions.
package struct TokenPositions: Sendable {
  /// Tokens of context per position.
  package let context: Int
  /// `count x context` context tokens, oldest first.
  package var contexts: [Int32]
  /// The token to predict at each position.
  package var targets: [Int]

  /// The number of positions.
  package var count: Int { targets.count }

  /// The positions of `sequences`, with `boundary` as the history before each sequence.
  package init(sequences: [[Int32]], context: Int, boundary: Int32) {
    self.context = context
    let total = sequences.reduce(0) { $0 + $1.count }
    var contexts = [Int32]()
    contexts.reserveCapacity(total * context)
    var targets = [Int]()
    targets.reserveCapacity(total)
    for sequence in sequences {
      for position in sequence.indices {
        for back in stride(from: context, through: 1, by: -1) {
          let source = position - back
          contexts.append(source >= 0 ? sequence[source] : boundary)
        }
        targets.append(Int(sequence[position]))
      }
    }
    self.contexts = contexts
    self.targets = targets
  }
}
