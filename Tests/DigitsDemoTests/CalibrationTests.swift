import Testing

@testable import DigitsDemo

@Suite struct CalibrationTests {
  /// Worked by hand: bins (14/15, 1], (9/15, 10/15], (3/15, 4/15] hold 2, 3 and 1 predictions.
  /// ECE = 2/6 |1/2 - 0.95| + 3/6 |2/3 - 0.65| + 1/6 |0 - 0.25| = 0.15 + 1/120 + 1/24 = 0.2.
  @Test func handWorkedExample() {
    let calibration = Calibration(
      confidences: [0.95, 0.95, 0.65, 0.65, 0.65, 0.25],
      correct: [true, false, true, true, false, false])
    #expect(abs(calibration.expectedCalibrationError - 0.2) < 1e-12)
    #expect(calibration.bins.count == 15)
    #expect(calibration.bins.map(\.count) == [0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2])
    #expect(calibration.bins[14].accuracy == 0.5)
    #expect(abs(calibration.bins[9].confidence - 0.65) < 1e-12)
    #expect(abs(calibration.accuracy - 0.5) < 1e-12)
    #expect(abs(calibration.meanConfidence - 0.683_333_333_333) < 1e-9)
  }

  @Test func perfectlyCalibratedPredictionsHaveZeroError() {
    // Confidence 0.75, three of four right; confidence 1, all right.
    let calibration = Calibration(
      confidences: [0.75, 0.75, 0.75, 0.75, 1, 1], correct: [true, true, true, false, true, true])
    #expect(abs(calibration.expectedCalibrationError) < 1e-12)
  }

  @Test func binEdgesAreUpperInclusive() {
    #expect(Calibration.bin(of: 0, binCount: 15) == 0)
    #expect(Calibration.bin(of: 1.0 / 15, binCount: 15) == 0)
    #expect(Calibration.bin(of: (1.0 / 15).nextUp, binCount: 15) == 1)
    #expect(Calibration.bin(of: 2.0 / 15, binCount: 15) == 1)
    #expect(Calibration.bin(of: 14.0 / 15, binCount: 15) == 13)
    #expect(Calibration.bin(of: 1, binCount: 15) == 14)
    #expect(Calibration.bin(of: 0.5, binCount: 2) == 0)
  }

  @Test func emptyInputGivesZeros() {
    let calibration = Calibration(confidences: [], correct: [])
    #expect(calibration.expectedCalibrationError == 0)
    #expect(calibration.bins.allSatisfy { $0.count == 0 })
  }
}
