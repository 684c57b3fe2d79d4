import CrossEntropy

extension Bench {
  /// Times BCE-with-logits on an (N, C) multi-label batch through the caller-buffer forms:
  /// forward into a 1-element loss, forward + backward with the gradient written over the
  /// logits. Targets are random 0/1; `--weighted` adds a per-class (last-axis) weight and
  /// positive weight.
  func timeBinary<Scalar: BinaryFloatingPoint>(_: Scalar.Type) throws -> Timing {
    var state: UInt64 = 0x2545_F491
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 11
    }
    let count = rows * classes
    let shape = [rows, classes]
    let logits = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: count)
    let targets = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: count)
    defer {
      logits.deallocate()
      targets.deallocate()
    }
    for i in 0..<count {
      logits.initializeElement(at: i, to: Scalar(Double(next() % 8192) / 1024 - 4))
      targets.initializeElement(at: i, to: next() % 2 == 0 ? 0 : 1)
    }
    let weight =
      weighted
      ? ShapedArray<Scalar>((0..<classes).map { _ in Scalar(0.5 + Double(next() % 1024) / 1024) })
      : nil
    let positiveWeight =
      weighted
      ? ShapedArray<Scalar>((0..<classes).map { _ in Scalar(1 + Double(next() % 1024) / 256) })
      : nil
    let criterion = BinaryCrossEntropy()
    let loss = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: 1)
    defer { loss.deallocate() }
    loss.initialize(repeating: 0)
    let y = UnsafeBufferPointer(targets)
    let elements = Double(count)

    func median(_ body: () throws -> Void) throws -> Double {
      for _ in 0..<warmup { try body() }
      var samples: [Double] = []
      for _ in 0..<repeats {
        let start = ContinuousClock.now
        try body()
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        samples.append((Double(seconds) * 1e9 + Double(attoseconds) * 1e-9) / elements)
      }
      samples.sort()
      return samples[samples.count / 2]
    }
    func forwardBackward() throws {
      try criterion.lossAndGradient(
        overwriting: logits, shape: shape, targets: y, weight: weight,
        positiveWeight: positiveWeight, loss: loss)
    }
    let forward = try median {
      try criterion.loss(
        logits: UnsafeBufferPointer(logits), shape: shape, targets: y, weight: weight,
        positiveWeight: positiveWeight, into: loss)
    }
    let before = residentPeakReset()
    try forwardBackward()
    let extra = residentPeak().map { peak in before.map { max(0, peak - $0) } ?? -1 } ?? -1
    let both = try median(forwardBackward)
    return Timing(forward: forward, forwardBackward: both, extraBytes: extra)
  }
}
