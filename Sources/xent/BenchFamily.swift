import CrossEntropy

/// `xent bench --loss distillation | sigmoid-focal | softmax-focal`: the wider family's fused
/// fp32 kernels through their public (array) API, next to plain softmax cross-entropy at the
/// same shape in the same run (interleaved), so that the per-element ratio sees the same load.
///
/// Problems: `rows x classes` fp32 logits uniform in [-4, 4]; distillation's teacher is the
/// student plus uniform noise in [-1, 1] and its labels are random; sigmoid focal's targets are
/// 0 or 1 at random (the logits' shape, `classes` per row); softmax focal's labels are random.
/// The figures are ns per logit (per student logit for distillation). Every family loss runs
/// its caller-buffer form (loss and gradient in preallocated buffers), like the plain
/// cross-entropy it is compared with (its separate-gradient caller-buffer form, the fastest
/// non-in-place form).
extension Bench {
  /// Timings of a family loss and of plain cross-entropy.
  struct FamilyTiming {
    var loss: Timing
    var crossEntropy: Timing
  }

  func timeFamily() throws -> FamilyTiming {
    var state: UInt64 = 0x9E37_79B9
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 11
    }
    func uniform(_ spread: Double) -> Float {
      Float(Double(next() % 65536) / 32768 * spread - spread)
    }
    let count = rows * classes
    let shape = [rows, classes]
    let logits = try ShapedArray<Float>(shape: shape, scalars: (0..<count).map { _ in uniform(4) })
    let labels = try ShapedArray<Int>(
      shape: [rows], scalars: (0..<rows).map { _ in Int(next() % UInt64(classes)) })
    let elements = Double(count)

    func median(_ body: () throws -> Void) rethrows -> Double {
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

    var forward: () throws -> Void
    var forwardBackward: () throws -> Void
    let familyLoss = UnsafeMutableBufferPointer<Float>.allocate(capacity: 1)
    let familyGradient = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    defer {
      familyLoss.deallocate()
      familyGradient.deallocate()
    }
    familyGradient.initialize(repeating: 0)
    switch loss {
    case .distillation:
      let teacher = try ShapedArray<Float>(
        shape: shape, scalars: logits.scalars.map { $0 + uniform(1) })
      let criterion = DistillationLoss(
        temperature: temperature, hardLabelWeight: hardLabelWeight)
      func run(gradient: Bool) throws {
        try logits.withUnsafeBufferPointer { s in
          try teacher.withUnsafeBufferPointer { t in
            try labels.withUnsafeBufferPointer { y in
              if gradient {
                try criterion.lossAndGradient(
                  studentLogits: s, teacherLogits: t, shape: shape, labels: y, loss: familyLoss,
                  gradient: familyGradient)
              } else {
                try criterion.loss(
                  studentLogits: s, teacherLogits: t, shape: shape, labels: y, into: familyLoss)
              }
            }
          }
        }
      }
      forward = { try run(gradient: false) }
      forwardBackward = { try run(gradient: true) }
    case .sigmoidFocal:
      let targets = try ShapedArray<Float>(
        shape: shape, scalars: (0..<count).map { _ in next() % 2 == 0 ? 0 : 1 })
      let criterion = SigmoidFocalLoss(gamma: gamma)
      func run(gradient: Bool) throws {
        try logits.withUnsafeBufferPointer { x in
          try targets.withUnsafeBufferPointer { y in
            if gradient {
              try criterion.lossAndGradient(
                logits: x, shape: shape, targets: y, loss: familyLoss, gradient: familyGradient)
            } else {
              try criterion.loss(logits: x, shape: shape, targets: y, into: familyLoss)
            }
          }
        }
      }
      forward = { try run(gradient: false) }
      forwardBackward = { try run(gradient: true) }
    default:
      let criterion = SoftmaxFocalLoss(gamma: gamma)
      func run(gradient: Bool) throws {
        try logits.withUnsafeBufferPointer { x in
          try labels.withUnsafeBufferPointer { y in
            if gradient {
              try criterion.lossAndGradient(
                logits: x, shape: shape, labels: y, loss: familyLoss, gradient: familyGradient)
            } else {
              try criterion.loss(logits: x, shape: shape, labels: y, into: familyLoss)
            }
          }
        }
      }
      forward = { try run(gradient: false) }
      forwardBackward = { try run(gradient: true) }
    }
    let crossEntropy = SoftmaxCrossEntropy()
    let plainLoss = UnsafeMutableBufferPointer<Float>.allocate(capacity: 1)
    let plainGradient = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    defer {
      plainLoss.deallocate()
      plainGradient.deallocate()
    }
    plainGradient.initialize(repeating: 0)
    let (x, y) = (logits.scalars, labels.scalars)
    func plain(gradient: Bool) throws {
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          if gradient {
            try crossEntropy.lossAndGradient(
              logits: xb, shape: shape, labels: yb, loss: plainLoss, gradient: plainGradient)
          } else {
            try crossEntropy.loss(logits: xb, shape: shape, labels: yb, into: plainLoss)
          }
        }
      }
    }
    // Interleaved, so that both figures see the same machine load.
    let familyForward = try median(forward)
    let plainForward = try median { try plain(gradient: false) }
    let familyBoth = try median(forwardBackward)
    let plainBoth = try median { try plain(gradient: true) }
    return FamilyTiming(
      loss: Timing(forward: familyForward, forwardBackward: familyBoth, extraBytes: -1),
      crossEntropy: Timing(forward: plainForward, forwardBackward: plainBoth, extraBytes: -1))
  }

  /// The JSON fields of the cross-entropy comparison (no braces).
  func crossEntropyFields(_ family: FamilyTiming) -> String {
    let plain = family.crossEntropy
    return "\"gradient\": \"caller buffer\", \"cross_entropy_gradient\": \"caller buffer\","
      + " \"cross_entropy_ns_per_element_forward\": \(plain.forward),"
      + " \"cross_entropy_ns_per_element_forward_backward\": \(plain.forwardBackward),"
      + " \"ratio_forward\": \(family.loss.forward / plain.forward),"
      + " \"ratio_forward_backward\": \(family.loss.forwardBackward / plain.forwardBackward)"
  }

  /// The table lines of the cross-entropy comparison.
  func printCrossEntropyComparison(_ family: FamilyTiming) {
    func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    let plain = family.crossEntropy
    print("                (caller buffers, separate gradient: not in place)")
    print(
      "cross-entropy   \(rounded(plain.forward)) forward, \(rounded(plain.forwardBackward))"
        + " forward+bwd ns/element (same shape, caller buffers, separate gradient)")
    print(
      "ratio           \(rounded(family.loss.forward / plain.forward)) forward,"
        + " \(rounded(family.loss.forwardBackward / plain.forwardBackward)) forward+bwd")
  }
}
