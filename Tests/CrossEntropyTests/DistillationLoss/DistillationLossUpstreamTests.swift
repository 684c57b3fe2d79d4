import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// Upstream gradients of the distillation loss: PyTorch's `loss.backward(gradient=g)`
// (Fixtures/upstream.json: the fused kernel and the reference, ignored rows whose NaN upstream
// value is not read), the buffer forms, ones changing nothing, the fused kernel's bits on any
// thread count, and the shape errors.
@Suite struct DistillationLossUpstreamTests {
  func criterion<Scalar: GoldenScalar>(_ c: UpstreamCase<Scalar>) -> DistillationLoss {
    DistillationLoss(
      temperature: c.option("temperature"), hardLabelWeight: c.option("hardLabelWeight"),
      reduction: c.reduction, classAxis: Int(c.option("classAxis")))
  }

  func checkGolden<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    try UpstreamFixtures.check("distillation", Scalar.self, minimumCases: 9) { c in
      let result = try criterion(c).lossAndGradient(
        studentLogits: c.input, teacherLogits: c.array("teacher")!, labels: c.integers("target"),
        upstreamGradient: c.upstreamGradient)
      return ["loss": result.loss, "gradient": result.gradient]
    }
  }

  @Test func matchesPyTorchInDouble() throws { try checkGolden(Double.self) }
  @Test func matchesPyTorchInFloat() throws { try checkGolden(Float.self) }

  @Test func bufferFormsMatchTheArrayForm() throws {
    try UpstreamFixtures.check("distillation", Float.self, minimumCases: 9) { c in
      let expected = try criterion(c).lossAndGradient(
        studentLogits: c.input, teacherLogits: c.array("teacher")!, labels: c.integers("target"),
        upstreamGradient: c.upstreamGradient)
      var loss = [Float](repeating: 7, count: expected.loss.scalars.count)
      var gradient = [Float](repeating: 7, count: c.input.scalars.count)
      var inPlace = c.input.scalars
      var inPlaceLoss = loss
      try c.input.scalars.withUnsafeBufferPointer { s in
        try c.array("teacher")!.scalars.withUnsafeBufferPointer { t in
          try withOptionalBuffer(c.integers("target")?.scalars) { y in
            try c.upstreamGradient.scalars.withUnsafeBufferPointer { u in
              try loss.withUnsafeMutableBufferPointer { l in
                try gradient.withUnsafeMutableBufferPointer { g in
                  try criterion(c).lossAndGradient(
                    studentLogits: s, shape: c.input.shape, teacherLogits: t, labels: y,
                    upstreamGradient: u, loss: l, gradient: g)
                }
              }
              try inPlace.withUnsafeMutableBufferPointer { g in
                try inPlaceLoss.withUnsafeMutableBufferPointer { l in
                  try criterion(c).lossAndGradient(
                    overwriting: g, shape: c.input.shape, teacherLogits: t, labels: y,
                    upstreamGradient: u, loss: l)
                }
              }
            }
          }
        }
      }
      #expect(identical(loss, expected.loss.scalars))
      #expect(identical(gradient, expected.gradient.scalars))
      #expect(identical(inPlaceLoss, expected.loss.scalars))
      #expect(identical(inPlace, expected.gradient.scalars))
      return ["loss": expected.loss, "gradient": expected.gradient]
    }
  }

  /// Ones change nothing, on the fused kernel (fp32, classes last) and the reference (Double).
  @Test(arguments: [Reduction.none, .mean, .sum])
  func onesChangeNothing(reduction: Reduction) throws {
    let shape = [6, 21]
    let student = randomFloats(126, seed: 41, spread: 3)
    let teacher = randomFloats(126, seed: 42, spread: 4)
    let labels = ShapedArray([1, -100, 20, 3, 0, 7])
    let criterion = DistillationLoss(
      temperature: 2, hardLabelWeight: 0.4, reduction: reduction)
    let ones: ShapedArray<Float> = onesUpstream([6], elementwise: reduction == .none)
    let s = try ShapedArray(shape: shape, scalars: student)
    let t = try ShapedArray(shape: shape, scalars: teacher)
    let plain = try criterion.lossAndGradient(studentLogits: s, teacherLogits: t, labels: labels)
    let scaled = try criterion.lossAndGradient(
      studentLogits: s, teacherLogits: t, labels: labels, upstreamGradient: ones)
    #expect(identical(scaled.loss.scalars, plain.loss.scalars))
    #expect(identical(scaled.gradient.scalars, plain.gradient.scalars))
    let sd = try ShapedArray(shape: shape, scalars: student.map { Double($0) })
    let td = try ShapedArray(shape: shape, scalars: teacher.map { Double($0) })
    let plainD = try criterion.lossAndGradient(studentLogits: sd, teacherLogits: td, labels: labels)
    let scaledD = try criterion.lossAndGradient(
      studentLogits: sd, teacherLogits: td, labels: labels,
      upstreamGradient: onesUpstream([6], elementwise: reduction == .none))
    #expect(identical(scaledD.loss.scalars, plainD.loss.scalars))
    #expect(identical(scaledD.gradient.scalars, plainD.gradient.scalars))
  }

  /// The fused kernel with an upstream gradient gives the same bits on 1, 2, 3 and 7 threads.
  @Test func threadsGiveTheSameBits() throws {
    let (rows, classes) = (64, 300)
    let student = randomFloats(rows * classes, seed: 43, spread: 3)
    let teacher = randomFloats(rows * classes, seed: 44, spread: 3)
    let labels = randomLabels(rows, classes: classes, seed: 45, ignoredEvery: 5)
    let upstream = randomUpstreamGradient(rows, seed: 46)
    func run(threads: Int) -> (loss: [Float], gradient: [Float]) {
      var loss = [Float](repeating: 7, count: rows)
      var gradient = [Float](repeating: 7, count: rows * classes)
      upstream.withUnsafeBufferPointer { u in
        RowScales.with(sampleWeights: nil, upstreamGradient: u, rows: rows) { scales in
          student.withUnsafeBufferPointer { s in
            teacher.withUnsafeBufferPointer { t in
              labels.withUnsafeBufferPointer { l in
                loss.withUnsafeMutableBufferPointer { lb in
                  gradient.withUnsafeMutableBufferPointer { g in
                    FusedDistillation.run(
                      student: s.baseAddress!, teacher: t.baseAddress!, labels: l, rows: rows,
                      classes: classes, temperature: 3, hardLabelWeight: 0.25, ignoreIndex: -100,
                      reduction: .none, loss: lb.baseAddress!, gradient: g.baseAddress!,
                      rowScales: scales, threads: threads)
                  }
                }
              }
            }
          }
        }
      }
      return (loss, gradient)
    }
    let first = run(threads: 1)
    for threads in kernelThreadCounts.dropFirst() {
      let result = run(threads: threads)
      #expect(bitPatterns(result.loss) == bitPatterns(first.loss), "threads \(threads)")
      #expect(bitPatterns(result.gradient) == bitPatterns(first.gradient), "threads \(threads)")
    }
  }

  @Test func wrongShapesAreReported() throws {
    let x = try ShapedArray<Float>(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(
      lossErrorMessage {
        _ = try DistillationLoss(reduction: .none).lossAndGradient(
          studentLogits: x, teacherLogits: x, upstreamGradient: ShapedArray<Float>([1, 2, 3]))
      } == "upstream gradient shape [3] does not match the loss shape [2] of reduction none")
    let upstream: [Float] = [1, 2]
    let teacher: [Float] = [0, 1, 2, 3, 4, 5]
    expectLossErrorWritingNothing(
      .shapeMismatch, "upstream gradient holds 2 elements but the loss of reduction sum holds 1",
      counts: [6, 1]
    ) { (buffers: [UnsafeMutableBufferPointer<Float>]) in
      try upstream.withUnsafeBufferPointer { u in
        try teacher.withUnsafeBufferPointer { t in
          try DistillationLoss(reduction: .sum).lossAndGradient(
            overwriting: buffers[0], shape: [2, 3], teacherLogits: t, upstreamGradient: u,
            loss: buffers[1])
        }
      }
    }
  }
}
