import CrossEntropy

/// `xent bench --loss cross-entropy`: ``SoftmaxCrossEntropy`` through its caller-buffer forms,
/// the forward pass into a 1-element loss and the forward + backward pass with the gradient
/// written over the logits (so later calls run on the previous call's gradient, which is as
/// good a logit row as any for timing).
///
/// The problem: logits in [-4, 4) on a grid of 1/1024 (exact in every dtype), random labels
/// (every `--ignore-every`-th one ignored), and with `--weighted` per-class weights in
/// [0.5, 1.5).
extension Bench {
  func timeCrossEntropy<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Timing {
    let shape = self.shape
    return try timeCrossEntropy(
      logit: { Scalar($0) }, weight: { Scalar($0) }, loss: Scalar(0),
      forward: { criterion, x, y, w, l in
        try criterion.loss(
          logits: UnsafeBufferPointer(x), shape: shape, labels: y, classWeights: w, into: l)
      },
      forwardBackward: { criterion, x, y, w, l in
        try criterion.lossAndGradient(
          overwriting: x, shape: shape, labels: y, classWeights: w, loss: l)
      })
  }

  /// The bfloat16 form: the logits and the gradient as bfloat16 bit patterns, the weights and
  /// the loss in float32.
  func timeBFloat16CrossEntropy() throws -> Timing {
    let shape = self.shape
    return try timeCrossEntropy(
      logit: { (value: Double) -> UInt16 in
        UInt16(truncatingIfNeeded: Float(value).bitPattern >> 16)  // exact: 1/1024 steps
      },
      weight: { Float($0) }, loss: Float(0),
      forward: { criterion, x, y, w, l in
        try criterion.loss(
          bfloat16Logits: UnsafeBufferPointer(x), shape: shape, labels: y, classWeights: w,
          into: l)
      },
      forwardBackward: { criterion, x, y, w, l in
        try criterion.lossAndGradient(
          overwritingBFloat16: x, shape: shape, labels: y, classWeights: w, loss: l)
      })
  }

  /// Times `forward` and `forwardBackward` (in place) on the synthetic problem, with the
  /// logits made by `logit` and the weights by `weight` from their values as doubles.
  private func timeCrossEntropy<Logit, Weight, Loss>(
    logit: (Double) -> Logit, weight: (Double) -> Weight, loss zero: Loss,
    forward: (
      SoftmaxCrossEntropy, UnsafeMutableBufferPointer<Logit>, UnsafeBufferPointer<Int>,
      UnsafeBufferPointer<Weight>?, UnsafeMutableBufferPointer<Loss>
    ) throws -> Void,
    forwardBackward: (
      SoftmaxCrossEntropy, UnsafeMutableBufferPointer<Logit>, UnsafeBufferPointer<Int>,
      UnsafeBufferPointer<Weight>?, UnsafeMutableBufferPointer<Loss>
    ) throws -> Void
  ) throws -> Timing {
    var data = SyntheticData(seed: 0x1234_5678)
    let (rows, classes) = (rowCount, classCount)
    let count = rows * classes * spatial
    let logits = UnsafeMutableBufferPointer<Logit>.allocate(capacity: count)
    defer { logits.deallocate() }
    for i in 0..<count {
      logits.initializeElement(at: i, to: logit(data.uniform(-4..<4, steps: 8192)))
    }
    let criterion = SoftmaxCrossEntropy(
      classAxis: spatial > 1 ? 1 : -1, labelSmoothing: labelSmoothing, zLossScale: zLossScale,
      logitSoftCap: logitSoftCap)
    let labels = (0..<rows * spatial).map { r in
      ignoreEvery > 0 && r % ignoreEvery == 0
        ? criterion.ignoreIndex : data.label(below: classes)
    }
    let weights =
      weighted ? (0..<classes).map { _ in weight(data.uniform(0.5..<1.5, steps: 1024)) } : nil
    var loss = [Loss](repeating: zero, count: 1)
    let elements = Double(count)

    return try labels.withUnsafeBufferPointer { y in
      try withOptionalBuffer(weights) { w in
        try loss.withUnsafeMutableBufferPointer { l in
          let forwardTime = try Timing.median(options) { try forward(criterion, logits, y, w, l) }
          let extra = try Timing.peakExtraBytes {
            try forwardBackward(criterion, logits, y, w, l)
          }
          let forwardBackwardTime = try Timing.median(options) {
            try forwardBackward(criterion, logits, y, w, l)
          }
          return Timing(
            forward: forwardTime * 1e9 / elements,
            forwardBackward: forwardBackwardTime * 1e9 / elements, extraBytes: extra)
        }
      }
    }
  }
}
