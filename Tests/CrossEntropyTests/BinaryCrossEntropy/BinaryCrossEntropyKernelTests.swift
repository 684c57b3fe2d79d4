import RealModule
import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The fused BCE-with-logits kernel (FusedBinaryCrossEntropy, through Kernels' dispatch) against
// the reference kernel run on the same Float values (which rounds each step to Float, in
// PyTorch's order). Every case runs with 1, 2, 3 and 7 threads, which must agree bit for bit.
//
// Tolerances (fp32 fast path vs fp32 reference), per element with
// s = |w| (|(1 - y) x| + |1 + (pw - 1) y| (|x| + 1)) (the size of the terms that may cancel):
// - loss: 2e-5 relative + 2e-6 s absolute; for .sum and .mean, 2e-5 relative + 2e-6 sum(s)
//   (divided by n for .mean);
// - gradient: 2e-5 relative + 1e-6 of the largest gradient magnitude.
// NaN must match NaN and infinities exactly.

private struct BinaryCase {
  var shape: [Int]
  var logits: [Float]
  var targets: [Float]
  var weight: ShapedArray<Float>?
  var positiveWeight: ShapedArray<Float>?
  var reduction: Reduction

  init(
    shape: [Int], seed: UInt64, soft: Bool, weightShape: [Int]?, positiveShape: [Int]?,
    reduction: Reduction
  ) {
    var generator = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    self.shape = shape
    logits = (0..<count).map { _ in Float.random(in: -12...12, using: &generator) }
    targets = (0..<count).map { _ in
      soft ? Float.random(in: 0...1, using: &generator) : (Bool.random(using: &generator) ? 1 : 0)
    }
    func weights(_ shape: [Int]?) -> ShapedArray<Float>? {
      shape.map { shape in
        try! ShapedArray(
          shape: shape,
          scalars: (0..<shape.reduce(1, *)).map { _ in
            Float.random(in: 0.1...3, using: &generator)
          })
      }
    }
    weight = weights(weightShape)
    positiveWeight = weights(positiveShape)
    self.reduction = reduction
  }

  var count: Int { logits.count }

  func argument(_ w: ShapedArray<Float>?, _ body: (BinaryWeightArgument<Float>?) -> Void) {
    guard let w else { return body(nil) }
    let index = try! BroadcastIndex(source: w.shape, target: shape, name: "weight")
    w.withUnsafeBufferPointer {
      body(BinaryWeightArgument(values: $0, shape: w.shape, index: index))
    }
  }

  /// The dispatch (fused where it applies), or the reference when `reference` is true.
  func run(threads: Int, wantsGradient: Bool, reference: Bool = false) -> (
    loss: [Float], gradient: [Float]?
  ) {
    var loss = [Float](repeating: -7, count: reduction == .none ? count : 1)
    var gradient: [Float]? = wantsGradient ? [Float](repeating: -7, count: count) : nil
    logits.withUnsafeBufferPointer { x in
      targets.withUnsafeBufferPointer { y in
        loss.withUnsafeMutableBufferPointer { l in
          argument(weight) { w in
            argument(positiveWeight) { p in
              func go(_ g: UnsafeMutablePointer<Float>?) {
                if reference {
                  Reference.binaryCrossEntropy(
                    .logits, input: x, targets: y, weight: w.map { ($0.values, $0.index) },
                    positiveWeight: p.map { ($0.values, $0.index) }, shape: shape,
                    reduction: reduction, loss: l,
                    gradient: g.map { UnsafeMutableBufferPointer(start: $0, count: count) })
                } else {
                  Kernels.binaryCrossEntropyWithLogits(
                    logits: x.baseAddress!, targets: y.baseAddress!, shape: shape, count: count,
                    weight: w, positiveWeight: p, reduction: reduction, loss: l, gradient: g,
                    threads: threads)
                }
              }
              if gradient != nil {
                gradient!.withUnsafeMutableBufferPointer { go($0.baseAddress!) }
              } else {
                go(nil)
              }
            }
          }
        }
      }
    }
    return (loss, gradient)
  }

  /// The size of the terms of each element's loss (see the tolerances above).
  func termSizes() -> [Double] {
    func expanded(_ w: ShapedArray<Float>?) -> [Double] {
      var values = [Double](repeating: 1, count: count)
      if let w {
        try! BroadcastIndex(source: w.shape, target: shape, name: "w").forEach { t, s in
          values[t] = Double(w.scalars[s])
        }
      }
      return values
    }
    let (w, pw) = (expanded(weight), expanded(positiveWeight))
    return (0..<count).map { i in
      let (x, y) = (Double(logits[i]), Double(targets[i]))
      let size = abs(w[i]) * (abs((1 - y) * x) + abs(1 + (pw[i] - 1) * y) * (abs(x) + 1))
      return size.isFinite ? size : 0
    }
  }

  func check(sourceLocation: SourceLocation = #_sourceLocation) {
    let what =
      "shape \(shape) weight \(weight?.shape ?? []) pos \(positiveWeight?.shape ?? [])"
      + " \(reduction)"
    let sizes = termSizes()
    var first: (loss: [Float], gradient: [Float]?)? = nil
    for wantsGradient in [false, true] {
      let expected = run(threads: 1, wantsGradient: wantsGradient, reference: true)
      for threads in kernelThreadCounts {
        let result = run(threads: threads, wantsGradient: wantsGradient)
        var failures = 0
        for i in result.loss.indices {
          let size =
            reduction == .none
            ? sizes[i] : sizes.reduce(0, +) / (reduction == .mean ? Double(count) : 1)
          if !agrees(
            Double(result.loss[i]), Double(expected.loss[i]), relative: 2e-5,
            absolute: 2e-6 * size)
          {
            failures += 1
            if failures <= 3 {
              let message = "\(what) threads \(threads): loss[\(i)] \(result.loss[i])"
              Issue.record("\(message) vs \(expected.loss[i])", sourceLocation: sourceLocation)
            }
          }
        }
        if let gradient = result.gradient, let reference = expected.gradient {
          let largest = reference.reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 }
          failures = 0
          for i in gradient.indices
          where !agrees(
            Double(gradient[i]), Double(reference[i]), relative: 2e-5,
            absolute: 1e-6 * Double(largest))
          {
            failures += 1
            if failures <= 3 {
              Issue.record(
                "\(what) threads \(threads): gradient[\(i)] \(gradient[i]) vs \(reference[i])",
                sourceLocation: sourceLocation)
            }
          }
          if let first {
            #expect(bits(result.loss) == bits(first.loss), sourceLocation: sourceLocation)
            #expect(bits(gradient) == bits(first.gradient!), sourceLocation: sourceLocation)
          } else {
            first = result
          }
        }
      }
    }
  }
}

private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

@Suite struct BinaryCrossEntropyKernelTests {
  /// Shapes with odd sizes and tails, against every weight layout the kernel reads (none; a
  /// scalar; per class on the last axis; a trailing block; the full shape) and one it does not
  /// (per channel, which takes the reference).
  @Test(arguments: [[1], [15], [16], [17], [3, 7], [4, 33], [2, 5, 3], [2049], [5, 1000]])
  func matchesReference(shape: [Int]) {
    let last = shape.last!
    var layouts: [[Int]?] = [nil, [1], [last], shape]
    if shape.count >= 2 {
      layouts.append([1, last])
      layouts.append(Array(shape.suffix(2)))
      layouts.append([shape[shape.count - 2], 1])  // per channel: repeats in runs, reference
    }
    var seed = UInt64(shape.reduce(1, *)) * 1000
    for weightShape in layouts {
      for positiveShape in [nil, [last], shape] as [[Int]?] {
        for reduction in [Reduction.none, .sum, .mean] {
          for soft in [false, true] {
            seed += 1
            BinaryCase(
              shape: shape, seed: seed, soft: soft, weightShape: weightShape,
              positiveShape: positiveShape, reduction: reduction
            ).check()
          }
        }
      }
    }
  }

  @Test func manyBlocksSplitOverThreadsMatchReference() {
    for (weight, positive) in [(nil, nil), ([777], [777]), ([300, 777], nil)] as [([Int]?, [Int]?)]
    {
      BinaryCase(
        shape: [300, 777], seed: 5, soft: true, weightShape: weight, positiveShape: positive,
        reduction: .mean
      ).check()
    }
  }

  /// Extreme and non-finite logits and targets, where the reference defines them.
  @Test func extremeAndNonFiniteElementsMatchReference() {
    let specials: [(Float, Float)] = [
      (.infinity, 1), (.infinity, 0), (-.infinity, 1), (-.infinity, 0), (.nan, 1), (1, .nan),
      (2, .infinity), (.infinity, 0.5), (0, 0), (-0.0, 1), (100, 1), (-100, 0), (100, 0),
      (-100, 1), (88, 0.5), (-88, 0.5), (1e30, 0), (-1e30, 1), (-6, 0.0004), (6, 0.9996),
    ]
    for weightShape in [nil, [37], [3, 37]] as [[Int]?] {
      for positiveShape in [nil, [37]] as [[Int]?] {
        for reduction in [Reduction.none, .sum, .mean] {
          var problem = BinaryCase(
            shape: [3, 37], seed: 9, soft: true, weightShape: weightShape,
            positiveShape: positiveShape, reduction: reduction)
          for (k, (x, y)) in specials.enumerated() {
            problem.logits[5 * k + 3] = x
            problem.targets[5 * k + 3] = y
          }
          problem.check()
        }
      }
    }
  }

  @Test func periodsOfWeightLayouts() {
    let period = FusedBinaryCrossEntropy.period
    #expect(period([], [4, 5]) == 1)
    #expect(period([1], [4, 5]) == 1)
    #expect(period([5], [4, 5]) == 5)
    #expect(period([1, 5], [4, 5]) == 5)
    #expect(period([4, 5], [4, 5]) == 20)
    #expect(period([3, 1], [2, 3, 1]) == 3)
    #expect(period([3, 1, 1], [2, 3, 4, 4]) == nil)
    #expect(period([4, 1], [4, 5]) == nil)
  }

  /// The array API, the buffer API and the in-place form give the kernel's bits.
  @Test func publicFormsTakeTheFastPath() throws {
    let problem = BinaryCase(
      shape: [37, 29], seed: 3, soft: true, weightShape: [29], positiveShape: [37, 29],
      reduction: .mean)
    let direct = problem.run(threads: 1, wantsGradient: true)
    let criterion = BinaryCrossEntropy(reduction: .mean)
    let logits = try ShapedArray(shape: problem.shape, scalars: problem.logits)
    let targets = try ShapedArray(shape: problem.shape, scalars: problem.targets)
    let arrays = try criterion.lossAndGradient(
      logits: logits, targets: targets, weight: problem.weight,
      positiveWeight: problem.positiveWeight)
    #expect(bits(arrays.loss.scalars) == bits(direct.loss))
    #expect(bits(arrays.gradient.scalars) == bits(direct.gradient!))
    let lossOnly = try criterion.loss(
      logits: logits, targets: targets, weight: problem.weight,
      positiveWeight: problem.positiveWeight)
    #expect(bits(lossOnly.scalars) == bits(direct.loss))

    var loss: [Float] = [0]
    var gradient = [Float](repeating: 0, count: problem.count)
    var inPlace = problem.logits
    try problem.logits.withUnsafeBufferPointer { x in
      try problem.targets.withUnsafeBufferPointer { y in
        try loss.withUnsafeMutableBufferPointer { l in
          try criterion.loss(
            logits: x, shape: problem.shape, targets: y, weight: problem.weight,
            positiveWeight: problem.positiveWeight, into: l)
          #expect(bits([l[0]]) == bits(direct.loss))
          try gradient.withUnsafeMutableBufferPointer { g in
            try criterion.lossAndGradient(
              logits: x, shape: problem.shape, targets: y, weight: problem.weight,
              positiveWeight: problem.positiveWeight, loss: l, gradient: g)
          }
          #expect(bits([l[0]]) == bits(direct.loss))
          l[0] = 0
          try inPlace.withUnsafeMutableBufferPointer { z in
            try criterion.lossAndGradient(
              overwriting: z, shape: problem.shape, targets: y, weight: problem.weight,
              positiveWeight: problem.positiveWeight, loss: l)
          }
          #expect(bits([l[0]]) == bits(direct.loss))
        }
      }
    }
    #expect(bits(gradient) == bits(direct.gradient!))
    #expect(bits(inPlace) == bits(direct.gradient!))
  }

  /// The buffer forms in Double (the reference path) agree with the array API.
  @Test func bufferFormsInDoubleMatchTheArrayAPI() throws {
    let x: [Double] = [2.5, -1, 0, 30, -30, 0.25]
    let y: [Double] = [1, 0, 0.5, 0, 1, 0.75]
    let weight = ShapedArray<Double>([0.5, 2, 1])
    let criterion = BinaryCrossEntropy(reduction: .none)
    let expected = try criterion.lossAndGradient(
      logits: ShapedArray(shape: [2, 3], scalars: x),
      targets: ShapedArray(shape: [2, 3], scalars: y),
      weight: weight, positiveWeight: weight)
    var loss = [Double](repeating: 0, count: 6)
    var z = x
    try y.withUnsafeBufferPointer { yb in
      try loss.withUnsafeMutableBufferPointer { l in
        try z.withUnsafeMutableBufferPointer { zb in
          try criterion.lossAndGradient(
            overwriting: zb, shape: [2, 3], targets: yb, weight: weight, positiveWeight: weight,
            loss: l)
        }
      }
    }
    #expect(loss == expected.loss.scalars)
    #expect(z == expected.gradient.scalars)
  }

  @Test func emptyInputsGiveTheReferenceResults() throws {
    let criterion = BinaryCrossEntropy(reduction: .mean)
    let empty = try ShapedArray<Float>(shape: [0, 3], scalars: [])
    let result = try criterion.lossAndGradient(logits: empty, targets: empty)
    #expect(result.loss.scalar!.isNaN)
    #expect(result.gradient.shape == [0, 3])
    let sum = try BinaryCrossEntropy(reduction: .sum).loss(logits: empty, targets: empty)
    #expect(sum.scalar == 0)
  }

  /// The log1p the kernel uses on e = exp(-|x|) in [0, 1] (no special cases): within 2 ULP of
  /// libm's log1p on a sweep of every 61st float in [0, 1].
  @Test func log1pOfUnitIsWithinTwoULP() {
    let inputs = Array(stride(from: 0, through: Float(1).bitPattern, by: 61)).map {
      Float(bitPattern: UInt32($0))
    }
    var worst = 0.0
    var at: Float = 0
    var i = 0
    while i < inputs.count {
      var v = Vector(repeating: 1)
      let n = min(16, inputs.count - i)
      for j in 0..<n { v[j] = inputs[i + j] }
      let out = VectorMath.log1pOfUnit(v)
      for j in 0..<n {
        let exact = Double.log(onePlus: Double(v[j]))
        let error = abs(Double(out[j]) - exact) / Double(Float(exact).ulp)
        if !(error <= worst) {
          worst = error
          at = v[j]
        }
      }
      i += n
    }
    #expect(worst <= 2, "worst error \(worst) ULP at \(at)")
  }
}

/// Every error path of the caller-buffer forms of ``BinaryCrossEntropy``, with its message.
@Suite struct BinaryCrossEntropyBufferErrorTests {
  let x: [Float] = [0, 1, 2, 3, 4, 5]

  func call(
    shape: [Int] = [2, 3], targets: Int = 6, loss: Int = 1, gradient: Int? = nil,
    reduction: Reduction = .mean, weight: ShapedArray<Float>? = nil,
    positiveWeight: ShapedArray<Float>? = nil
  ) throws(LossError) {
    let criterion = BinaryCrossEntropy(reduction: reduction)
    let y = [Float](repeating: 0.5, count: targets)
    var l = [Float](repeating: 0, count: loss)
    var g = [Float](repeating: 0, count: gradient ?? 0)
    var z = x
    let result: Result<Void, LossError> = x.withUnsafeBufferPointer { xb in
      y.withUnsafeBufferPointer { yb in
        l.withUnsafeMutableBufferPointer { lb in
          g.withUnsafeMutableBufferPointer { gb in
            z.withUnsafeMutableBufferPointer { zb in
              do throws(LossError) {
                if gradient != nil {
                  try criterion.lossAndGradient(
                    logits: xb, shape: shape, targets: yb, weight: weight,
                    positiveWeight: positiveWeight, loss: lb, gradient: gb)
                } else {
                  try criterion.loss(
                    logits: xb, shape: shape, targets: yb, weight: weight,
                    positiveWeight: positiveWeight, into: lb)
                  try criterion.lossAndGradient(
                    overwriting: zb, shape: shape, targets: yb, weight: weight,
                    positiveWeight: positiveWeight, loss: lb)
                }
                return .success(())
              } catch { return .failure(error) }
            }
          }
        }
      }
    }
    try result.get()
  }

  @Test func logitsCountMustMatchTheShape() {
    expectLossError(.shapeMismatch, "logits holds 6 elements but its shape [4, 2] needs 8") {
      try call(shape: [4, 2])
    }
    expectLossError(.shapeMismatch, "logits shape [-1, 3] has a negative extent -1") {
      try call(shape: [-1, 3])
    }
  }

  @Test func targetsCountMustMatch() {
    expectLossError(
      .shapeMismatch,
      "targets hold 5 elements but logits shape [2, 3] holds 6; expected the same shape"
    ) { try call(targets: 5) }
  }

  @Test func gradientCountMustMatch() {
    expectLossError(
      .shapeMismatch, "gradient holds 5 elements but logits shape [2, 3] holds 6"
    ) { try call(gradient: 5) }
  }

  @Test func lossBufferMustFitTheReduction() {
    expectLossError(.shapeMismatch, "loss buffer holds 1 element but reduction none writes 6") {
      try call(reduction: .none)
    }
    expectLossError(.shapeMismatch, "loss buffer holds 6 elements but reduction sum writes 1") {
      try call(loss: 6, reduction: .sum)
    }
  }

  @Test func weightsMustBroadcast() {
    expectLossError(
      .shapeMismatch,
      "weight shape [2] does not broadcast to the target shape [2, 3] (right-aligned"
        + " broadcasting); a length-2 vector broadcasts along the LAST axis, so a per-class"
        + " weight for classes on axis 1 needs shape [C, 1, ...]"
    ) { try call(weight: ShapedArray([1, 2])) }
    expectLossError(
      .shapeMismatch,
      "positive weight shape [3, 1] does not broadcast to the target shape [2, 3]"
        + " (right-aligned broadcasting)"
    ) {
      try call(gradient: 6, positiveWeight: try! ShapedArray(shape: [3, 1], scalars: [1, 2, 3]))
    }
  }

  /// The in-place form leaves the logits alone when it throws.
  @Test func inPlaceLeavesLogitsUnchangedOnError() throws {
    var z: [Float] = [1, 2, 3]
    var l: [Float] = [0]
    let y: [Float] = [0, 1]
    z.withUnsafeMutableBufferPointer { zb in
      l.withUnsafeMutableBufferPointer { lb in
        y.withUnsafeBufferPointer { yb in
          expectLossError(
            .shapeMismatch,
            "targets hold 2 elements but logits shape [3] holds 3; expected the same shape"
          ) {
            try BinaryCrossEntropy().lossAndGradient(
              overwriting: zb, shape: [3], targets: yb, loss: lb)
          }
        }
      }
    }
    #expect(z == [1, 2, 3])
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  /// Float16 inputs take the fused kernel through the storage abstraction (fp32 arithmetic,
  /// one rounding to Float16 per output): within 2e-3 relative (4 half-precision ULP) + 2e-3 of
  /// the term size of the fp32 reference on the same (widened) values, for the loss; the gradient
  /// within 2e-3 relative + 1e-3 of its largest magnitude.
  @Suite struct BinaryCrossEntropyHalfTests {
    @Test(arguments: [Reduction.none, .sum, .mean])
    func halfMatchesTheFloatReference(reduction: Reduction) throws {
      var problem = BinaryCase(
        shape: [13, 29], seed: 21, soft: true, weightShape: [29], positiveShape: [13, 29],
        reduction: reduction)
      // Values that Float16 holds exactly, so that both sides see the same inputs.
      problem.logits = problem.logits.map { Float(Float16($0)) }
      problem.targets = problem.targets.map { Float(Float16($0)) }
      func half(_ w: ShapedArray<Float>?) throws -> ShapedArray<Float16>? {
        try w.map { try ShapedArray(shape: $0.shape, scalars: $0.scalars.map { Float16($0) }) }
      }
      problem.weight = try half(problem.weight).map {
        try ShapedArray(shape: $0.shape, scalars: $0.scalars.map { Float($0) })
      }
      problem.positiveWeight = try half(problem.positiveWeight).map {
        try ShapedArray(shape: $0.shape, scalars: $0.scalars.map { Float($0) })
      }
      let expected = problem.run(threads: 1, wantsGradient: true, reference: true)
      let sizes = problem.termSizes()
      let result = try BinaryCrossEntropy(reduction: reduction).lossAndGradient(
        logits: ShapedArray(shape: problem.shape, scalars: problem.logits.map { Float16($0) }),
        targets: ShapedArray(shape: problem.shape, scalars: problem.targets.map { Float16($0) }),
        weight: half(problem.weight), positiveWeight: half(problem.positiveWeight))
      for i in result.loss.scalars.indices {
        let size =
          reduction == .none
          ? sizes[i] : sizes.reduce(0, +) / (reduction == .mean ? Double(problem.count) : 1)
        #expect(
          agrees(
            Double(result.loss.scalars[i]), Double(expected.loss[i]), relative: 2e-3,
            absolute: 2e-3 * size), "loss[\(i)]")
      }
      let largest = Double(expected.gradient!.map(abs).max()!)
      for i in result.gradient.scalars.indices {
        #expect(
          agrees(
            Double(result.gradient.scalars[i]), Double(expected.gradient![i]), relative: 2e-3,
            absolute: 1e-3 * largest), "gradient[\(i)]")
      }
    }
  }
#endif
