/// Learns byte-pair merges from chunk counts, updating the pair counts incrementally.
///
/// The state is the distinct chunks (each a sequence of token ids, with its count in the
/// corpus), the count of every adjacent pair summed over them (a chunk of count c holding a pair
/// k times adds k x c), the chunks each pair occurs in, and a max-heap of (count, pair) with lazy
/// deletion. Each step pops the most frequent pair, breaking ties by the smallest left id and
/// then the smallest right id (the heap's order), appends the merge, and rewrites only the
/// chunks that hold the pair: each is merged left to right, its old pairs subtracted and its new
/// ones added, and every pair whose count changed is pushed again. A popped entry whose count is
/// out of date is skipped. Nothing depends on a dictionary's iteration order: the chunks are
/// sorted by their bytes, and the heap's order is total.
struct BytePairTraining {
  /// A pair of adjacent token ids packed as `left << 32 | right`, so that the smaller key is the
  /// smaller pair (left id first, then right id).
  typealias PairKey = UInt64

  /// The token ids of each distinct chunk, as merged so far.
  private var chunks: [[Int32]]
  /// How often each distinct chunk occurs in the training text.
  private let chunkCounts: [Int]
  /// The number of times each pair occurs in the training text; absent when zero.
  private var pairCounts: [PairKey: Int] = [:]
  /// The chunks each pair occurred in when it was counted (entries may be out of date).
  private var pairChunks: [PairKey: [Int32]] = [:]
  /// (count, pair) entries, the largest count first, then the smallest pair.
  private var heap = PairHeap()

  /// Sets up the counts of `chunks`, given as byte strings with their counts.
  init(chunks: [(bytes: [UInt8], count: Int)]) {
    self.chunks = chunks.map { $0.bytes.map(Int32.init) }
    chunkCounts = chunks.map(\.count)
    for (index, symbols) in self.chunks.enumerated() where symbols.count > 1 {
      let count = chunkCounts[index]
      for position in 0..<(symbols.count - 1) {
        let pair = Self.key(symbols[position], symbols[position + 1])
        pairCounts[pair, default: 0] += count
        if pairChunks[pair]?.last != Int32(index) {
          pairChunks[pair, default: []].append(Int32(index))
        }
      }
    }
    for (pair, count) in pairCounts { heap.push(count: count, pair: pair) }
  }

  /// Packs a pair into its key.
  @inline(__always)
  static func key(_ left: Int32, _ right: Int32) -> PairKey {
    PairKey(UInt32(bitPattern: left)) << 32 | PairKey(UInt32(bitPattern: right))
  }

  /// Learns up to `limit` merges; fewer when no adjacent pair is left.
  ///
  /// - Returns: The merges in order; the i-th creates token 256 + i.
  mutating func learn(limit: Int) -> [BytePairTokenizer.Merge] {
    var merges: [BytePairTokenizer.Merge] = []
    merges.reserveCapacity(limit)
    var visited = [Int](repeating: -1, count: chunks.count)
    while merges.count < limit, let entry = heap.pop() {
      let pair = entry.pair
      guard pairCounts[pair] == entry.count else { continue }  // out of date
      let left = Int32(truncatingIfNeeded: pair >> 32)
      let right = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
      let token = Int32(256 + merges.count)
      merges.append(BytePairTokenizer.Merge(left: left, right: right))
      var changes: [PairKey: Int] = [:]
      for chunk in pairChunks.removeValue(forKey: pair) ?? [] {
        let index = Int(chunk)
        guard visited[index] != merges.count else { continue }
        visited[index] = merges.count
        let old = chunks[index]
        let new = BytePairTokenizer.merge(old, left: left, right: right, into: token)
        guard new.count < old.count else { continue }
        let weight = chunkCounts[index]
        for position in 0..<(old.count - 1) {
          changes[Self.key(old[position], old[position + 1]), default: 0] -= weight
        }
        for position in 0..<max(new.count - 1, 0) {
          let newPair = Self.key(new[position], new[position + 1])
          changes[newPair, default: 0] += weight
          if new[position] == token || new[position + 1] == token,
            pairChunks[newPair]?.last != chunk
          {
            pairChunks[newPair, default: []].append(chunk)
          }
        }
        chunks[index] = new
      }
      pairCounts[pair] = nil
      for (changed, change) in changes where change != 0 && changed != pair {
        let updated = pairCounts[changed, default: 0] + change
        if updated > 0 {
          pairCounts[changed] = updated
          heap.push(count: updated, pair: changed)
        } else {
          pairCounts[changed] = nil
          pairChunks[changed] = nil
        }
      }
    }
    return merges
  }
}

/// A binary max-heap of (count, pair): larger count first, then smaller pair.
struct PairHeap {
  private var counts: [Int] = []
  private var pairs: [UInt64] = []

  /// Whether entry `a` comes out before entry `b`.
  @inline(__always)
  private func precedes(_ a: Int, _ b: Int) -> Bool {
    counts[a] != counts[b] ? counts[a] > counts[b] : pairs[a] < pairs[b]
  }

  private mutating func swapAt(_ a: Int, _ b: Int) {
    counts.swapAt(a, b)
    pairs.swapAt(a, b)
  }

  /// Adds an entry.
  mutating func push(count: Int, pair: UInt64) {
    counts.append(count)
    pairs.append(pair)
    var child = counts.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard precedes(child, parent) else { break }
      swapAt(child, parent)
      child = parent
    }
  }

  /// Removes and returns the first entry, or nil when the heap is empty.
  mutating func pop() -> (count: Int, pair: UInt64)? {
    guard let lastCount = counts.last, let lastPair = pairs.last else { return nil }
    let top = (counts[0], pairs[0])
    counts[0] = lastCount
    pairs[0] = lastPair
    counts.removeLast()
    pairs.removeLast()
    var parent = 0
    while true {
      let left = 2 * parent + 1
      guard left < counts.count else { break }
      let right = left + 1
      let child = right < counts.count && precedes(right, left) ? right : left
      guard precedes(child, parent) else { break }
      swapAt(child, parent)
      parent = child
    }
    return top
  }
}
