import DemoSupport
import Foundation

/// The UCI "Optical Recognition of Handwritten Digits" 8x8 set, as scikit-learn ships it:
/// 1,797 images of 64 pixel counts in 0...16, labelled 0...9 (CC BY 4.0; see
/// `Resources/LICENSE-digits.md`).
///
/// The bundled file `digits.bin` (made by `Scripts/make_digits_resource.py`) is, little-endian:
/// the magic `XENTDIGS`, a UInt32 sample count, a UInt16 feature count (64), a UInt16 class count
/// (10), one label byte per sample, then 64 pixel bytes per sample.
package struct DigitsDataset: Sendable {
  /// Pixels per image (8 x 8).
  package static let featureCount = 64
  /// Digit classes, 0...9.
  package static let classCount = 10
  /// The largest pixel count.
  package static let maximumPixel: UInt8 = 16

  /// One label in 0..<10 per sample.
  package let labels: [Int]
  /// The pixel counts, ``featureCount`` per sample, sample after sample.
  package let pixels: [UInt8]

  /// The number of samples.
  package var count: Int { labels.count }

  /// Decodes the dataset from the bytes of a `digits.bin` file.
  ///
  /// - Throws: ``DemoError`` when the header, the size or a value is wrong.
  package init(bytes: [UInt8]) throws(DemoError) {
    let headerSize = 16
    guard bytes.count >= headerSize, Array(bytes[0..<8]) == Array("XENTDIGS".utf8) else {
      throw DemoError(
        "digits data: missing the XENTDIGS header; expected a file made by"
          + " Scripts/make_digits_resource.py")
    }
    func integer(at offset: Int, size: Int) -> Int {
      (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }
    let count = integer(at: 8, size: 4)
    let features = integer(at: 12, size: 2)
    let classes = integer(at: 14, size: 2)
    guard features == Self.featureCount, classes == Self.classCount else {
      throw DemoError(
        "digits data: \(features) features and \(classes) classes;"
          + " expected \(Self.featureCount) and \(Self.classCount)")
    }
    let expectedSize = headerSize + count * (1 + features)
    guard bytes.count == expectedSize else {
      throw DemoError(
        "digits data: \(bytes.count) bytes; expected \(expectedSize) for \(count)"
          + " samples")
    }
    let labels = bytes[headerSize..<(headerSize + count)].map(Int.init)
    if let position = labels.firstIndex(where: { $0 >= classes }) {
      throw DemoError(
        "digits data: label \(labels[position]) of sample \(position) is outside"
          + " 0..<\(classes)")
    }
    let pixels = Array(bytes[(headerSize + count)...])
    if let position = pixels.firstIndex(where: { $0 > Self.maximumPixel }) {
      throw DemoError(
        "digits data: pixel \(pixels[position]) of sample \(position / features)"
          + " is outside 0...\(Self.maximumPixel)")
    }
    self.labels = labels
    self.pixels = pixels
  }

  /// Loads the copy bundled with the package.
  ///
  /// - Throws: ``DemoError`` when the resource is missing or malformed.
  package static func bundled() throws(DemoError) -> DigitsDataset {
    guard let url = Bundle.module.url(forResource: "digits", withExtension: "bin") else {
      throw DemoError("digits data: the resource digits.bin is missing from the DigitsDemo bundle")
    }
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw DemoError("digits data: cannot read \(url.path): \(error.localizedDescription)")
    }
    return try DigitsDataset(bytes: [UInt8](data))
  }

  /// The number of samples of each class, indexed by class.
  package func classCounts() -> [Int] {
    var counts = [Int](repeating: 0, count: Self.classCount)
    for label in labels { counts[label] += 1 }
    return counts
  }

  /// A stratified split: in each class, a seeded shuffle sends `testFraction` of the samples
  /// (rounded to nearest) to the test set and the rest to the training set.
  ///
  /// - Parameters:
  ///   - testFraction: The share of each class held out, in [0, 1].
  ///   - seed: Seeds the shuffle; the same seed gives the same split.
  /// - Returns: Sample indices of each part, in increasing order.
  package func stratifiedSplit(testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
    var generator = SplitMix64(seed: seed)
    var train: [Int] = []
    var test: [Int] = []
    for digit in 0..<Self.classCount {
      var members = labels.indices.filter { labels[$0] == digit }
      generator.shuffle(&members)
      let held = Int((Double(members.count) * testFraction).rounded())
      test += members[..<held]
      train += members[held...]
    }
    return (train.sorted(), test.sorted())
  }
}
