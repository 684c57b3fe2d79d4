import DemoSupport
import Testing

@testable import DigitsDemo

@Suite struct DatasetTests {
  /// Class sizes counted from scikit-learn's `digits.csv.gz` (its last column), not from our
  /// decoder.
  static let sklearnClassCounts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]

  @Test func bundledDataLoads() throws {
    let dataset = try DigitsDataset.bundled()
    #expect(dataset.count == 1797)
    #expect(dataset.pixels.count == 1797 * 64)
    #expect(dataset.labels.allSatisfy { (0..<10).contains($0) })
    #expect(dataset.pixels.allSatisfy { $0 <= 16 })
    #expect(dataset.classCounts() == Self.sklearnClassCounts)
  }

  @Test func firstAndLastSamplesMatchTheSourceCSV() throws {
    let dataset = try DigitsDataset.bundled()
    // The first and last lines of digits.csv.gz: 64 pixels, then the label.
    let first: [UInt8] = [
      0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12,
      0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0,
      0, 0, 6, 13, 10, 0, 0, 0,
    ]
    let last: [UInt8] = [
      0, 0, 10, 14, 8, 1, 0, 0, 0, 2, 16, 14, 6, 1, 0, 0, 0, 0, 15, 15, 8, 15, 0, 0, 0, 0, 5,
      16, 16, 10, 0, 0, 0, 0, 12, 15, 15, 12, 0, 0, 0, 4, 16, 6, 4, 16, 6, 0, 0, 8, 16, 10, 8,
      16, 8, 0, 0, 1, 8, 12, 14, 12, 1, 0,
    ]
    #expect(Array(dataset.pixels[0..<64]) == first)
    #expect(dataset.labels[0] == 0)
    #expect(Array(dataset.pixels[(1796 * 64)...]) == last)
    #expect(dataset.labels[1796] == 8)
  }

  /// A well-formed file of `count` samples, all label 0 and pixel 0.
  static func file(count: Int, features: UInt8 = 64, classes: UInt8 = 10) -> [UInt8] {
    Array("XENTDIGS".utf8) + [UInt8(count), 0, 0, 0, features, 0, classes, 0]
      + [UInt8](repeating: 0, count: count * 65)
  }

  @Test func decodesAMinimalFile() throws {
    var bytes = Self.file(count: 2)
    bytes[16 + 1] = 9  // second label
    bytes[16 + 2 + 64 + 63] = 16  // last pixel of the second sample
    let dataset = try DigitsDataset(bytes: bytes)
    #expect(dataset.labels == [0, 9])
    #expect(dataset.pixels.count == 128)
    #expect(dataset.pixels[127] == 16)
  }

  @Test func rejectsMalformedFiles() {
    #expect(
      throws: DemoError(
        "digits data: missing the XENTDIGS header; expected a file made by"
          + " Scripts/make_digits_resource.py")
    ) { try DigitsDataset(bytes: Array("XENTDIGX".utf8) + [UInt8](repeating: 0, count: 8)) }
    #expect(throws: DemoError("digits data: 63 features and 10 classes; expected 64 and 10")) {
      try DigitsDataset(bytes: Self.file(count: 1, features: 63))
    }
    #expect(throws: DemoError("digits data: 145 bytes; expected 146 for 2 samples")) {
      try DigitsDataset(bytes: Self.file(count: 2).dropLast())
    }
    var badLabel = Self.file(count: 2)
    badLabel[17] = 10
    #expect(throws: DemoError("digits data: label 10 of sample 1 is outside 0..<10")) {
      try DigitsDataset(bytes: badLabel)
    }
    var badPixel = Self.file(count: 2)
    badPixel[16 + 2 + 64 + 5] = 17
    #expect(throws: DemoError("digits data: pixel 17 of sample 1 is outside 0...16")) {
      try DigitsDataset(bytes: badPixel)
    }
  }

  @Test func splitIsStratifiedDisjointAndSeeded() throws {
    let dataset = try DigitsDataset.bundled()
    let (train, test) = dataset.stratifiedSplit(testFraction: 0.2, seed: 7)
    #expect(Set(train).isDisjoint(with: test))
    #expect(Set(train + test) == Set(0..<1797))
    for digit in 0..<10 {
      let held = test.filter { dataset.labels[$0] == digit }.count
      let expected = (Double(Self.sklearnClassCounts[digit]) * 0.2).rounded()
      #expect(held == Int(expected), "digit \(digit)")
    }
    let again = dataset.stratifiedSplit(testFraction: 0.2, seed: 7)
    #expect(again.train == train && again.test == test)
    #expect(dataset.stratifiedSplit(testFraction: 0.2, seed: 8).test != test)
  }

  @Test func preparedFeaturesAreStandardisedOnTheTrainingSet() throws {
    let data = PreparedDigits(dataset: try DigitsDataset.bundled())
    #expect(data.trainLabels.count + data.testLabels.count == 1797)
    #expect(data.trainFeatures.count == data.trainLabels.count * 64)
    #expect(data.testFeatures.count == data.testLabels.count * 64)
    let rows = data.trainLabels.count
    for feature in [20, 36] {  // central pixels, never constant
      let column = (0..<rows).map { Double(data.trainFeatures[$0 * 64 + feature]) }
      let mean = column.reduce(0, +) / Double(rows)
      let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows)
      #expect(abs(mean) < 1e-5)
      #expect(abs(variance - 1) < 1e-4)
    }
  }
}
