import _CrossEntropyTestSupport

// Seeded random inputs for the kernel and buffer-form checks. The three draw differently
// (Float or Double uniforms, class indices), so each keeps its own stream.

/// Uniform floats in -spread...spread (offset by `shift`), from a seeded generator.
func randomFloats(_ count: Int, seed: UInt64, spread: Float, shift: Float = 0) -> [Float] {
  var generator = SeededGenerator(seed: seed)
  return (0..<count).map { _ in Float.random(in: -spread...spread, using: &generator) + shift }
}

/// Uniform values in -spread...spread, drawn in Double and rounded to `Scalar`, from a seeded
/// generator.
func randomValues<Scalar: BinaryFloatingPoint>(
  _ count: Int, seed: UInt64, spread: Double = 3, _: Scalar.Type = Scalar.self
) -> [Scalar] {
  var generator = SeededGenerator(seed: seed)
  return (0..<count).map { _ in Scalar(Double.random(in: -spread...spread, using: &generator)) }
}

/// Random class indices, every `ignoredEvery`-th one the ignore index -100 (0: none).
func randomLabels(_ count: Int, classes: Int, seed: UInt64, ignoredEvery: Int = 0) -> [Int] {
  var generator = SeededGenerator(seed: seed)
  return (0..<count).map { r in
    ignoredEvery > 0 && r % ignoredEvery == ignoredEvery - 1
      ? -100 : Int.random(in: 0..<classes, using: &generator)
  }
}
