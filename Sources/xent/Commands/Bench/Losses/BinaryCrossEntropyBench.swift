import CrossEntropy

/// `xent bench --loss binary-cross-entropy-with-logits`: ``BinaryCrossEntropy`` on an (N, C)
/// multi-label batch through the caller-buffer forms, the forward pass into a 1-element loss and
/// the forward + backward pass with the gradient written over the logits.
///
/// The problem: logits in [-4, 4) on a grid of 1/1024, random 0/1 targets, and with
/// `--weighted` a per-class (last-axis) weight in [0.5, 1.5) and positive weight in [1, 5).
extension Bench {
  func timeBinaryCrossEntropy<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Timing {
    var data = SyntheticData(seed: 0x2545_F491)
    let (rows, classes) = (rowCount, classCount)
    let count = rows * classes
    let shape = [rows, classes]
    let logits = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: count)
    let targets = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: count)
    defer {
      logits.deallocate()
      targets.deallocate()
    }
    for i in 0..<count {
      logits.initializeElement(at: i, to: Scalar(data.uniform(-4..<4, steps: 8192)))
      targets.initializeElement(at: i, to: Scalar(data.binaryTarget()))
    }
    func perClass(_ range: Range<Double>) -> ShapedArray<Scalar>? {
      weighted
        ? ShapedArray((0..<classes).map { _ in Scalar(data.uniform(range, steps: 1024)) }) : nil
    }
    let weight = perClass(0.5..<1.5)
    let positiveWeight = perClass(1..<5)
    let criterion = BinaryCrossEntropy()
    let loss = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: 1)
    defer { loss.deallocate() }
    loss.initialize(repeating: 0)
    let y = UnsafeBufferPointer(targets)
    let elements = Double(count)

    func forwardBackward() throws {
      try criterion.lossAndGradient(
        overwriting: logits, shape: shape, targets: y, weight: weight,
        positiveWeight: positiveWeight, loss: loss)
    }
    let forward = try Timing.median(options) {
      try criterion.loss(
        logits: UnsafeBufferPointer(logits), shape: shape, targets: y, weight: weight,
        positiveWeight: positiveWeight, into: loss)
    }
    let extra = try Timing.peakExtraBytes(forwardBackward)
    let both = try Timing.median(options, forwardBackward)
    return Timing(
      forward: forward * 1e9 / elements, forwardBackward: both * 1e9 / elements,
      extraBytes: extra)
  }
}
