/// The digits split into a training and a test set, as standardised `Float` features.
///
/// Each feature is standardised with the training set's mean and standard deviation (a feature
/// that is constant on the training set is only centred), so the test set leaks nothing.
package struct PreparedDigits: Sendable {
  /// The seed of the fixed train/test split. The split does not depend on the demo's `--seed`,
  /// so every seed is scored on the same test images.
  package static let splitSeed: UInt64 = 1998
  /// The share of each class held out for testing.
  package static let testFraction = 0.2

  /// Features per sample.
  package let featureCount = DigitsDataset.featureCount
  /// Classes.
  package let classCount = DigitsDataset.classCount
  /// Training features, ``featureCount`` per sample.
  package let trainFeatures: [Float]
  /// Training labels.
  package let trainLabels: [Int]
  /// Test features, ``featureCount`` per sample.
  package let testFeatures: [Float]
  /// Test labels.
  package let testLabels: [Int]

  /// Splits and standardises a dataset.
  ///
  /// - Parameters:
  ///   - dataset: The digits.
  ///   - splitSeed: Seeds the stratified split. Default ``splitSeed``.
  ///   - testFraction: The share of each class held out. Default ``testFraction``.
  package init(
    dataset: DigitsDataset, splitSeed: UInt64 = Self.splitSeed,
    testFraction: Double = Self.testFraction
  ) {
    let features = DigitsDataset.featureCount
    let (train, test) = dataset.stratifiedSplit(testFraction: testFraction, seed: splitSeed)
    var mean = [Double](repeating: 0, count: features)
    var meanSquare = [Double](repeating: 0, count: features)
    for sample in train {
      for feature in 0..<features {
        let value = Double(dataset.pixels[sample * features + feature])
        mean[feature] += value
        meanSquare[feature] += value * value
      }
    }
    let scale = (0..<features).map { feature -> Double in
      mean[feature] /= Double(train.count)
      let variance = meanSquare[feature] / Double(train.count) - mean[feature] * mean[feature]
      return variance > 1e-12 ? 1 / variance.squareRoot() : 1
    }
    func standardised(_ samples: [Int]) -> [Float] {
      samples.flatMap { sample in
        (0..<features).map { feature in
          let value = Double(dataset.pixels[sample * features + feature])
          return Float((value - mean[feature]) * scale[feature])
        }
      }
    }
    trainFeatures = standardised(train)
    trainLabels = train.map { dataset.labels[$0] }
    testFeatures = standardised(test)
    testLabels = test.map { dataset.labels[$0] }
  }
}
