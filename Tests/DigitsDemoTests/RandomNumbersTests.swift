import DemoSupport
import Testing
import _CrossEntropyTestSupport

@testable import DigitsDemo

@Suite struct RandomNumbersTests {
  /// Reference outputs of SplitMix64 (Vigna's splitmix64.c), computed independently.
  @Test func matchesTheReferenceSequence() {
    var zero = SplitMix64(seed: 0)
    #expect(
      [zero.next(), zero.next(), zero.next()]
        == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    var other = SplitMix64(seed: 1_234_567)
    #expect(
      [other.next(), other.next(), other.next()]
        == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
  }

  /// The tests' shared generator draws the same SplitMix64 stream; its scrambled seeding starts
  /// the stream at `seed * 0x9E37_79B9_7F4A_7C15 + 0x2545_F491_4F6C_DD1D`.
  @Test(arguments: [0, 1, 1_234_567, UInt64.max])
  func testSupportGeneratorDrawsTheSameStream(seed: UInt64) {
    var demo = SplitMix64(seed: seed)
    var shared = SeededGenerator(seed: seed)
    #expect((0..<100).map { _ in demo.next() } == (0..<100).map { _ in shared.next() })
    var demoScrambled = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491_4F6C_DD1D)
    var scrambled = SeededGenerator(scrambledSeed: seed)
    #expect(
      (0..<100).map { _ in demoScrambled.next() } == (0..<100).map { _ in scrambled.next() })
  }

  @Test func boundedIntegersStayInRangeAndCoverIt() {
    var generator = SplitMix64(seed: 3)
    var seen = Set<Int>()
    for _ in 0..<1000 {
      let value = generator.nextInt(below: 7)
      #expect((0..<7).contains(value))
      seen.insert(value)
    }
    #expect(seen.count == 7)
  }

  @Test func unitAndGaussianDrawsHaveTheRightMoments() {
    var generator = SplitMix64(seed: 11)
    let count = 20_000
    let uniform = (0..<count).map { _ in generator.nextUnit() }
    #expect(uniform.allSatisfy { (0..<1).contains($0) })
    #expect(abs(uniform.reduce(0, +) / Double(count) - 0.5) < 0.01)
    let normal = (0..<count).map { _ in generator.nextGaussian() }
    let mean = normal.reduce(0, +) / Double(count)
    let variance = normal.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count)
    #expect(abs(mean) < 0.03)
    #expect(abs(variance - 1) < 0.05)
  }

  @Test func shuffleIsASeededPermutation() {
    var first = SplitMix64(seed: 5)
    var second = SplitMix64(seed: 5)
    var a = Array(0..<50)
    var b = Array(0..<50)
    first.shuffle(&a)
    second.shuffle(&b)
    #expect(a == b)
    #expect(a.sorted() == Array(0..<50))
    #expect(a != Array(0..<50))
  }
}
