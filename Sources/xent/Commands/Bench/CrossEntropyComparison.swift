import CrossEntropy

/// The fp32 problem that a loss is timed on next to plain softmax cross-entropy, with the
/// caller-owned buffers its calls write.
///
/// The logits are `rows x classes`, uniform in [-4, 4) on a grid of 2^-13; the labels are
/// random. Each loss adds what else it needs from `data` (see `Losses/*Bench.swift`).
struct ComparisonProblem {
  var shape: [Int]
  var logits: ShapedArray<Float>
  var labels: ShapedArray<Int>
  /// The 1-element loss buffer.
  var loss: UnsafeMutableBufferPointer<Float>
  /// The gradient buffer, shaped like the logits.
  var gradient: UnsafeMutableBufferPointer<Float>
}

/// One timed call of a loss: the forward pass, or the forward + backward pass if `gradient`.
typealias TimedCall = (_ gradient: Bool) throws -> Void

extension Bench {
  /// Times a loss's fused fp32 kernel through its caller-buffer forms (loss and gradient in
  /// preallocated buffers) next to plain softmax cross-entropy at the same shape, through its
  /// separate-gradient caller-buffer form (the fastest form that is not in place). The figures
  /// are interleaved, so that the per-element ratio sees the same machine load.
  ///
  /// - Parameter makeCall: Builds the loss's call on the problem, drawing any further data it
  ///   needs from the generator.
  func timeNextToCrossEntropy(
    _ makeCall: (ComparisonProblem, inout SyntheticData) throws -> TimedCall
  ) throws -> (loss: Timing, crossEntropy: Timing) {
    var data = SyntheticData(seed: 0x9E37_79B9)
    let shape = [rowCount, classCount]
    let count = rowCount * classCount
    let logits = try ShapedArray<Float>(
      shape: shape, scalars: (0..<count).map { _ in Float(data.uniform(-4..<4, steps: 65536)) })
    let labels = try ShapedArray<Int>(
      shape: [rowCount], scalars: (0..<rowCount).map { _ in data.label(below: classCount) })
    func zeros(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
      let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
      buffer.initialize(repeating: 0)
      return buffer
    }
    let (loss, gradient) = (zeros(1), zeros(count))
    let (plainLoss, plainGradient) = (zeros(1), zeros(count))
    defer {
      for buffer in [loss, gradient, plainLoss, plainGradient] { buffer.deallocate() }
    }
    let problem = ComparisonProblem(
      shape: shape, logits: logits, labels: labels, loss: loss, gradient: gradient)
    let call = try makeCall(problem, &data)

    let crossEntropy = SoftmaxCrossEntropy()
    func plain(gradient: Bool) throws {
      try logits.withUnsafeBufferPointer { x in
        try labels.withUnsafeBufferPointer { y in
          if gradient {
            try crossEntropy.lossAndGradient(
              logits: x, shape: shape, labels: y, loss: plainLoss, gradient: plainGradient)
          } else {
            try crossEntropy.loss(logits: x, shape: shape, labels: y, into: plainLoss)
          }
        }
      }
    }
    let nanoseconds = 1e9 / Double(count)
    let lossForward = try Timing.median(options) { try call(false) } * nanoseconds
    let plainForward = try Timing.median(options) { try plain(gradient: false) } * nanoseconds
    let lossBoth = try Timing.median(options) { try call(true) } * nanoseconds
    let plainBoth = try Timing.median(options) { try plain(gradient: true) } * nanoseconds
    return (
      Timing(forward: lossForward, forwardBackward: lossBoth, extraBytes: -1),
      Timing(forward: plainForward, forwardBackward: plainBoth, extraBytes: -1)
    )
  }

  /// The JSON fields of the comparison with plain cross-entropy (no braces).
  func comparisonFields(_ timing: Timing, nextTo plain: Timing) -> String {
    "\"gradient\": \"caller buffer\", \"cross_entropy_gradient\": \"caller buffer\","
      + " \"cross_entropy_ns_per_element_forward\": \(plain.forward),"
      + " \"cross_entropy_ns_per_element_forward_backward\": \(plain.forwardBackward),"
      + " \"ratio_forward\": \(timing.forward / plain.forward),"
      + " \"ratio_forward_backward\": \(timing.forwardBackward / plain.forwardBackward)"
  }

  /// The table lines of the comparison with plain cross-entropy.
  func printComparison(_ timing: Timing, nextTo plain: Timing) {
    print("                (caller buffers, separate gradient: not in place)")
    print(
      "cross-entropy   \(rounded(plain.forward)) forward, \(rounded(plain.forwardBackward))"
        + " forward+bwd ns/element (same shape, caller buffers, separate gradient)")
    print(
      "ratio           \(rounded(timing.forward / plain.forward)) forward,"
        + " \(rounded(timing.forwardBackward / plain.forwardBackward)) forward+bwd")
  }
}
