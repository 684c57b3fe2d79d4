import ArgumentParser
import CrossEntropy

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `xent bench --loss ctc`: ``ConnectionistTemporalClassification`` through its array forms,
/// in milliseconds per call (the figures `Scripts/bench_ctc.py` compares with PyTorch's CPU
/// `ctc_loss`).
///
/// The problem: `T x N x C` log-probabilities (a log-softmax of seeded pseudo-random scores in
/// [-2, 2)), every input length `T`, every target `S` labels drawn from `1..<C` (blank 0),
/// reduction mean.
extension Bench {
  /// `--time-steps`, or its default.
  var timeStepCount: Int { timeSteps ?? 500 }
  /// `--batch`, or its default.
  var batchCount: Int { batch ?? 32 }
  /// `--target-length`, or its default.
  var targetLengthCount: Int { targetLength ?? 100 }

  /// The checks of `--loss ctc`'s options.
  func validateCTC() throws {
    if rows != nil {
      throw ValidationError(
        "--rows does not apply to --loss ctc; it takes --time-steps, --batch and --classes")
    }
    guard spatial == 1 else {
      throw ValidationError("--spatial applies to --loss cross-entropy only")
    }
    guard timeStepCount > 0, batchCount > 0, classCount > 1, targetLengthCount >= 0 else {
      throw ValidationError(
        "--time-steps and --batch must be > 0, --classes > 1, --target-length >= 0")
    }
  }

  /// Times the loss and the loss with its gradient, and prints the figures.
  func timeCTC<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws {
    var data = SyntheticData(seed: 0x5EED_C7C0)
    let (steps, batch, classes, length) = (
      timeStepCount, batchCount, classCount, targetLengthCount
    )
    var logProbabilities = [Scalar](repeating: 0, count: steps * batch * classes)
    for row in 0..<(steps * batch) {
      let scores = (0..<classes).map { _ in data.uniform(-2..<2, steps: 8192) }
      let largest = scores.max()!
      let logSum = largest + log(scores.reduce(0) { $0 + exp($1 - largest) })
      for c in 0..<classes { logProbabilities[row * classes + c] = Scalar(scores[c] - logSum) }
    }
    let input = try ShapedArray(shape: [steps, batch, classes], scalars: logProbabilities)
    let targets = try ShapedArray(
      shape: [batch, length],
      scalars: (0..<(batch * length)).map { _ in 1 + data.label(below: classes - 1) })
    let inputLengths = [Int](repeating: steps, count: batch)
    let targetLengths = [Int](repeating: length, count: batch)
    let ctc = ConnectionistTemporalClassification()

    var checksum = 0.0
    let forward =
      try Timing.median(options) {
        checksum += Double(
          try ctc.loss(
            logProbabilities: input, labels: targets, inputLengths: inputLengths,
            labelLengths: targetLengths
          ).scalar!)
      } * 1e3
    let forwardBackward =
      try Timing.median(options) {
        let (loss, gradient) = try ctc.lossAndGradient(
          logProbabilities: input, labels: targets, inputLengths: inputLengths,
          labelLengths: targetLengths)
        checksum += Double(loss.scalar!) + Double(gradient.scalars[0])
      } * 1e3
    if options.json {
      print(
        "{\"loss\": \"ctc\", \"time_steps\": \(steps), \"batch\": \(batch),"
          + " \"classes\": \(classes), \"target_length\": \(length),"
          + " \"dtype\": \"\(dtype.rawValue)\", \"repeats\": \(options.repeats),"
          + " \"threads\": \(Parallelism.effectiveThreadCount),"
          + " \"ms_forward\": \(forward), \"ms_forward_backward\": \(forwardBackward),"
          + " \"checksum\": \(checksum)}")
    } else {
      print("ctc             T=\(steps) N=\(batch) C=\(classes) S=\(length) \(dtype.rawValue)")
      print("forward         \(forward) ms (median of \(options.repeats))")
      print("forward+bwd     \(forwardBackward) ms (median of \(options.repeats))")
    }
  }
}
