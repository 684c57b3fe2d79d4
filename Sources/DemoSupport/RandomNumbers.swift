import Foundation

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast, seeded generator.
///
/// The demo draws every random number from it, through its own methods rather than the standard
/// library's (whose algorithms may change between releases), so that a seed gives the same run on
/// every platform and toolchain.
package struct SplitMix64: RandomNumberGenerator, Sendable {
  /// The generator's whole state.
  package private(set) var state: UInt64

  /// Creates a generator from a seed; equal seeds give equal sequences.
  package init(seed: UInt64) {
    state = seed
  }

  /// The next 64 random bits.
  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform double in [0, 1), from the top 53 bits.
  package mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A uniform integer in `0..<bound`, without modulo bias (rejection sampling).
  package mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive")
    let range = UInt64(bound)
    let limit = UInt64.max - UInt64.max % range
    while true {
      let value = next()
      if value < limit { return Int(value % range) }
    }
  }

  /// A standard normal deviate (Box-Muller; one of the pair is discarded for simplicity).
  package mutating func nextGaussian() -> Double {
    let u1 = 1 - nextUnit()  // (0, 1]: log stays finite
    let u2 = nextUnit()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// Shuffles `elements` in place (Fisher-Yates).
  package mutating func shuffle<Element>(_ elements: inout [Element]) {
    guard elements.count > 1 else { return }
    for index in stride(from: elements.count - 1, to: 0, by: -1) {
      elements.swapAt(index, nextInt(below: index + 1))
    }
  }
}
