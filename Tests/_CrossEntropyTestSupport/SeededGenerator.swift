import Foundation

/// SplitMix64 (Steele, Lea and Flood, 2014): a small seeded generator, so that a failing sweep
/// names a seed that replays it.
///
/// `SeededGenerator(seed:)` gives the stream of the reference `splitmix64.c` started at `seed`,
/// which is also the stream of the demo's `SplitMix64`.
package struct SeededGenerator: RandomNumberGenerator, Sendable {
  /// The generator's whole state.
  package private(set) var state: UInt64

  /// Starts at state `seed`.
  package init(seed: UInt64) {
    state = seed
  }

  /// Starts at state `seed * 0x9E37_79B9_7F4A_7C15 + 0x2545_F491_4F6C_DD1D` (wrapping), so that
  /// small consecutive seeds start far apart: the stream of the random softmax cross-entropy
  /// problems (`RandomClassProblem`) and the sweeps built on it.
  package init(scrambledSeed seed: UInt64) {
    state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491_4F6C_DD1D
  }

  /// The next 64 random bits.
  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// `count` normal draws with standard deviation `scale` (Box-Muller, one value per pair of
  /// uniforms).
  package mutating func normals(_ count: Int, scale: Double = 1) -> [Double] {
    (0..<count).map { _ in
      let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
      let v = Double.random(in: 0..<1, using: &self)
      return scale * (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }
  }
}
