/// The benchmarks' synthetic data: a seeded PCG-style generator (a 64-bit linear congruential
/// step, the top 53 bits returned), so that a seed gives the same problem on every run.
///
/// Every value lies on a grid of `steps` points, so converting it to a narrower float type is
/// exact as long as the grid fits in its significand.
struct SyntheticData {
  private var state: UInt64

  /// A generator whose values depend only on `seed`.
  init(seed: UInt64) {
    state = seed
  }

  /// The next raw value (53 bits).
  mutating func next() -> UInt64 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return state >> 11
  }

  /// A value in `range` on a grid of `steps` equal steps (`steps` a power of two).
  mutating func uniform(_ range: Range<Double>, steps: UInt64) -> Double {
    let fraction = Double(next() % steps) / Double(steps)
    return range.lowerBound + (range.upperBound - range.lowerBound) * fraction
  }

  /// A class index in `0..<classes`.
  mutating func label(below classes: Int) -> Int {
    Int(next() % UInt64(classes))
  }

  /// A binary target: 0 or 1 with equal odds.
  mutating func binaryTarget() -> Double {
    next() % 2 == 0 ? 0 : 1
  }
}
