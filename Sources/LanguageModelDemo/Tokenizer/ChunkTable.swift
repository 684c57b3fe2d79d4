/// Dense ids for the distinct chunks of a text, in the order first seen.
///
/// A chunk of at most 7 bytes, most of them, is looked up by one integer, its bytes packed below
/// a leading 1 bit; longer ones by their bytes.
struct ChunkTable {
  /// The ids of the short chunks, keyed by their packed bytes.
  private var shortIDs: [UInt64: Int32] = [:]
  /// The ids of the chunks longer than 7 bytes.
  private var longIDs: [[UInt8]: Int32] = [:]
  /// The bytes of each chunk, indexed by id.
  private(set) var chunks: [[UInt8]] = []

  /// The id of the chunk `bytes[range]`, added if new; `isNew` says whether it was.
  mutating func id(of range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> (
    id: Int32, isNew: Bool
  ) {
    if range.count <= 7 {
      var key: UInt64 = 1
      for index in range { key = key << 8 | UInt64(bytes[index]) }
      if let id = shortIDs[key] { return (id, false) }
      let id = Int32(chunks.count)
      shortIDs[key] = id
      chunks.append(Array(bytes[range]))
      return (id, true)
    }
    let chunk = Array(bytes[range])
    if let id = longIDs[chunk] { return (id, false) }
    let id = Int32(chunks.count)
    longIDs[chunk] = id
    chunks.append(chunk)
    return (id, true)
  }
}
