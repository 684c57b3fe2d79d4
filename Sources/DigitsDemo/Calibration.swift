/// One bin of a reliability diagram: the samples whose confidence lies in `(lower, upper]`.
package struct ReliabilityBin: Sendable, Equatable {
  /// The bin's lower edge (excluded, except 0 for the first bin).
  package var lower: Double
  /// The bin's upper edge (included).
  package var upper: Double
  /// How many samples fell in the bin.
  package var count: Int
  /// The share of them that were classified correctly (0 when the bin is empty).
  package var accuracy: Double
  /// Their mean confidence (0 when the bin is empty).
  package var confidence: Double
}

/// How well a classifier's confidence matches its accuracy.
///
/// The confidence of a prediction is its largest class probability. With `M` equal-width bins
/// over [0, 1], bin `m` holding the predictions with confidence in `((m-1)/M, m/M]`:
///
/// ```
/// ECE = sum_m (|B_m| / n) * |accuracy(B_m) - confidence(B_m)|
/// ```
///
/// (Naeini et al., 2015; Guo et al., 2017, "On Calibration of Modern Neural Networks").
package struct Calibration: Sendable, Equatable {
  /// The bins, in increasing order of confidence.
  package var bins: [ReliabilityBin]
  /// The expected calibration error, in [0, 1].
  package var expectedCalibrationError: Double
  /// The mean confidence over all samples.
  package var meanConfidence: Double
  /// The share of correct predictions.
  package var accuracy: Double

  /// Bins predictions by confidence.
  ///
  /// - Parameters:
  ///   - confidences: The largest class probability of each prediction, in [0, 1].
  ///   - correct: Whether each prediction was right.
  ///   - binCount: The number of equal-width bins. Default 15.
  package init(confidences: [Double], correct: [Bool], binCount: Int = 15) {
    precondition(confidences.count == correct.count, "one correctness flag per confidence")
    precondition(binCount > 0, "at least one bin")
    var counts = [Int](repeating: 0, count: binCount)
    var hits = [Int](repeating: 0, count: binCount)
    var confidenceSums = [Double](repeating: 0, count: binCount)
    for (confidence, isCorrect) in zip(confidences, correct) {
      let bin = Self.bin(of: confidence, binCount: binCount)
      counts[bin] += 1
      hits[bin] += isCorrect ? 1 : 0
      confidenceSums[bin] += confidence
    }
    let total = Double(confidences.count)
    var error = 0.0
    bins = (0..<binCount).map { bin in
      let count = counts[bin]
      let accuracy = count > 0 ? Double(hits[bin]) / Double(count) : 0
      let confidence = count > 0 ? confidenceSums[bin] / Double(count) : 0
      if count > 0 { error += Double(count) / total * abs(accuracy - confidence) }
      return ReliabilityBin(
        lower: Double(bin) / Double(binCount), upper: Double(bin + 1) / Double(binCount),
        count: count, accuracy: accuracy, confidence: confidence)
    }
    expectedCalibrationError = error
    meanConfidence = total > 0 ? confidences.reduce(0, +) / total : 0
    accuracy = total > 0 ? Double(hits.reduce(0, +)) / total : 0
  }

  /// The bin `m` with `m/M < confidence <= (m+1)/M`; confidence 0 goes to the first bin.
  static func bin(of confidence: Double, binCount: Int) -> Int {
    let scaled = Double(binCount)
    var bin = Int((confidence * scaled).rounded(.up)) - 1
    bin = min(max(bin, 0), binCount - 1)
    // Settle rounding at the edges against the edges as computed for the bins.
    if bin > 0, confidence <= Double(bin) / scaled { bin -= 1 }
    if bin < binCount - 1, confidence > Double(bin + 1) / scaled { bin += 1 }
    return bin
  }
}
