/// How `V` classes are split into contiguous slices over `P` ranks.
///
/// Rank `r` holds classes `[r * q + min(r, m), (r + 1) * q + min(r + 1, m))` with
/// `q = V / P` and `m = V % P`: every rank gets `q` classes and the first `m` ranks one more,
/// so slices differ by at most one class. With `V < P` the last ranks hold no class.
///
/// ```swift
/// let slice = VocabularyPartition(classes: 10, ranks: 4).range(of: 1)  // 3..<6
/// ```
public struct VocabularyPartition: Sendable, Hashable {
  /// The number of classes `V`, >= 0.
  public let classes: Int
  /// The number of ranks `P`, >= 1.
  public let ranks: Int

  /// The partition of `classes` classes over `ranks` ranks.
  public init(classes: Int, ranks: Int) {
    precondition(classes >= 0 && ranks >= 1, "a partition needs V >= 0 classes and P >= 1 ranks")
    self.classes = classes
    self.ranks = ranks
  }

  /// The first class of `rank`'s slice.
  public func lowerBound(of rank: Int) -> Int {
    let (q, m) = classes.quotientAndRemainder(dividingBy: ranks)
    return rank * q + min(rank, m)
  }

  /// The classes of `rank`'s slice, in `0..<ranks`.
  public func range(of rank: Int) -> Range<Int> {
    lowerBound(of: rank)..<lowerBound(of: rank + 1)
  }

  /// The number of classes of every rank's slice, in rank order.
  public var counts: [Int] { (0..<ranks).map { range(of: $0).count } }
}
