// KL divergence, sigmoid and softmax focal, distillation, multi-margin, MSE and Poly-1 next to
// plain softmax cross-entropy at the same shapes, so that "distillation and focal within 2x of
// plain CE per element" can be read off the "ps per element" metric, and "no N x C temporaries"
// off the malloc metrics.
//
// Each loss is measured three ways where it has caller-buffer forms: its array form (which
// allocates its loss and gradient, like for like with CE's array form), its caller-buffer
// forward + backward (gradient into a preallocated buffer: the mallocs left are the kernel's own
// O(N + C) scratch), and its caller-buffer forward only. Sigmoid focal has the array form only.

import Benchmark
import BenchmarkData
import CrossEntropy

/// The inputs of every loss of this suite at one (N, C) shape, built once in `setup:`.
struct LossState: @unchecked Sendable {
  let rows: Int
  let classes: Int
  var shape: [Int] { [rows, classes] }
  let logits: ShapedArray<Float>
  let teacher: ShapedArray<Float>
  let labels: ShapedArray<Int>
  let probabilities: ShapedArray<Float>
  let logProbabilities: ShapedArray<Float>
  let binaryTargets: ShapedArray<Float>
  let inPlaceLogits: Buffer<Float>
  let pristine: Buffer<Float>
  let teacherBuffer: Buffer<Float>
  let probabilityBuffer: Buffer<Float>
  let logProbabilityBuffer: Buffer<Float>
  let gradient: Buffer<Float>
  let labelBuffer: Buffer<Int>
  let loss = Buffer<Float>(count: 1) { _ in 0 }

  init(rows: Int, classes: Int) throws {
    self.rows = rows
    self.classes = classes
    let shape = [rows, classes]
    let count = rows * classes
    pristine = .logits(count: count, seed: 1)
    inPlaceLogits = Buffer(count: count) { [pristine] in pristine.memory[$0] }
    gradient = Buffer(count: count) { _ in 0 }
    labelBuffer = .labels(count: rows, classes: classes, seed: 2)
    teacherBuffer = .logits(count: count, seed: 6)
    var generator = DataGenerator(seed: 5)
    logits = try ShapedArray(shape: shape, scalars: pristine.toArray())
    teacher = try ShapedArray(shape: shape, scalars: teacherBuffer.toArray())
    labels = try ShapedArray(shape: [rows], scalars: labelBuffer.toArray())
    // KL input: the student's log-softmax; KL target: the teacher's softmax.
    logProbabilities = try logSoftmax(logits, alongAxis: -1)
    probabilities = try softmax(teacher, alongAxis: -1)
    logProbabilityBuffer = Buffer(count: count) { [logProbabilities] in
      logProbabilities.scalars[$0]
    }
    probabilityBuffer = Buffer(count: count) { [probabilities] in probabilities.scalars[$0] }
    binaryTargets = try ShapedArray(
      shape: shape, scalars: (0..<count).map { _ in generator.next() & 1 == 0 ? 0 : 1 })
  }
}

let benchmarks: @Sendable () -> Void = {
  let shapes = [(rows: 1024, classes: 1000), (rows: 256, classes: 32000)]

  for (rows, classes) in shapes {
    let count = rows * classes
    let suffix = "\(rows)x\(classes)"

    /// Registers one benchmark of a call over the shared inputs.
    func register<Result>(_ name: String, _ body: @escaping (LossState) throws -> Result) {
      Benchmark("\(name) \(suffix)", configuration: BenchmarkSettings.configuration) {
        (benchmark: Benchmark, state: LossState) in
        try measurePerElement(benchmark, elements: count) { try body(state) }
      } setup: {
        try LossState(rows: rows, classes: classes)
      }
    }

    /// Registers the caller-buffer forward + backward and forward-only benchmarks of a loss.
    func registerBuffers(
      _ name: String,
      forward: @escaping (LossState) throws -> Void,
      forwardBackward: @escaping (LossState) throws -> Void
    ) {
      register("\(name) buffers fwd+bwd", forwardBackward)
      register("\(name) buffers fwd", forward)
    }

    /// Registers the caller-buffer benchmarks of a loss over (logits, labels): `forward(logits,
    /// shape, labels, loss)` and `forwardBackward(logits, shape, labels, loss, gradient)` get
    /// the shared buffers.
    func registerLabelledBuffers(
      _ name: String,
      forward:
        @escaping (
          UnsafeBufferPointer<Float>, [Int], UnsafeBufferPointer<Int>,
          UnsafeMutableBufferPointer<Float>
        ) throws -> Void,
      forwardBackward:
        @escaping (
          UnsafeBufferPointer<Float>, [Int], UnsafeBufferPointer<Int>,
          UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>
        ) throws -> Void
    ) {
      registerBuffers(
        name,
        forward: {
          try forward($0.pristine.readOnly, $0.shape, $0.labelBuffer.readOnly, $0.loss.memory)
        },
        forwardBackward: {
          try forwardBackward(
            $0.pristine.readOnly, $0.shape, $0.labelBuffer.readOnly, $0.loss.memory,
            $0.gradient.memory)
        })
    }

    Benchmark("CE in-place fwd+bwd \(suffix)", configuration: BenchmarkSettings.configuration) {
      (benchmark: Benchmark, state: LossState) in
      state.inPlaceLogits.assign(from: state.pristine)
      benchmark.startMeasurement()
      try measurePerElement(benchmark, elements: count) {
        try SoftmaxCrossEntropy().lossAndGradient(
          overwriting: state.inPlaceLogits.memory, shape: [rows, classes],
          labels: state.labelBuffer.readOnly, loss: state.loss.memory)
      }
    } setup: {
      try LossState(rows: rows, classes: classes)
    }

    register("CE (arrays) fwd+bwd") {
      try SoftmaxCrossEntropy().lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    registerLabelledBuffers(
      "CE",
      forward: { try SoftmaxCrossEntropy().loss(logits: $0, shape: $1, labels: $2, into: $3) },
      forwardBackward: {
        try SoftmaxCrossEntropy().lossAndGradient(
          logits: $0, shape: $1, labels: $2, loss: $3, gradient: $4)
      })

    let kl = KLDivergence(reduction: .batchmean)
    register("KLDivergence batchmean (arrays) fwd+bwd") {
      try kl.lossAndGradient(logProbabilities: $0.logProbabilities, targets: $0.probabilities)
    }
    registerBuffers(
      "KLDivergence batchmean",
      forward: {
        try kl.loss(
          logProbabilities: $0.logProbabilityBuffer.readOnly,
          targets: $0.probabilityBuffer.readOnly, shape: $0.shape, into: $0.loss.memory)
      },
      forwardBackward: {
        try kl.lossAndGradient(
          logProbabilities: $0.logProbabilityBuffer.readOnly,
          targets: $0.probabilityBuffer.readOnly, shape: $0.shape, loss: $0.loss.memory,
          gradient: $0.gradient.memory)
      })

    register("SigmoidFocalLoss (arrays) fwd+bwd") {
      try SigmoidFocalLoss().lossAndGradient(logits: $0.logits, targets: $0.binaryTargets)
    }

    let focal = SoftmaxFocalLoss()
    register("SoftmaxFocalLoss gamma2 (arrays) fwd+bwd") {
      try focal.lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    registerLabelledBuffers(
      "SoftmaxFocalLoss gamma2",
      forward: { try focal.loss(logits: $0, shape: $1, labels: $2, into: $3) },
      forwardBackward: {
        try focal.lossAndGradient(logits: $0, shape: $1, labels: $2, loss: $3, gradient: $4)
      })

    let distillation = DistillationLoss(temperature: 2, hardLabelWeight: 0.5)
    register("DistillationLoss T2 hard0.5 (arrays) fwd+bwd") {
      try distillation.lossAndGradient(
        studentLogits: $0.logits, teacherLogits: $0.teacher, labels: $0.labels)
    }
    registerBuffers(
      "DistillationLoss T2 hard0.5",
      forward: {
        try distillation.loss(
          studentLogits: $0.pristine.readOnly, teacherLogits: $0.teacherBuffer.readOnly,
          shape: $0.shape, labels: $0.labelBuffer.readOnly, into: $0.loss.memory)
      },
      forwardBackward: {
        try distillation.lossAndGradient(
          studentLogits: $0.pristine.readOnly, teacherLogits: $0.teacherBuffer.readOnly,
          shape: $0.shape, labels: $0.labelBuffer.readOnly, loss: $0.loss.memory,
          gradient: $0.gradient.memory)
      })

    let margin = MultiMarginLoss()
    register("MultiMarginLoss p1 (arrays) fwd+bwd") {
      try margin.lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    registerLabelledBuffers(
      "MultiMarginLoss p1",
      forward: { try margin.loss(logits: $0, shape: $1, labels: $2, into: $3) },
      forwardBackward: {
        try margin.lossAndGradient(logits: $0, shape: $1, labels: $2, loss: $3, gradient: $4)
      })

    let mse = MeanSquaredError()
    register("MeanSquaredError (arrays) fwd+bwd") {
      try mse.lossAndGradient(predictions: $0.logits, targets: $0.probabilities)
    }
    registerBuffers(
      "MeanSquaredError",
      forward: {
        try mse.loss(
          predictions: $0.pristine.readOnly, targets: $0.probabilityBuffer.readOnly,
          shape: $0.shape, into: $0.loss.memory)
      },
      forwardBackward: {
        try mse.lossAndGradient(
          predictions: $0.pristine.readOnly, targets: $0.probabilityBuffer.readOnly,
          shape: $0.shape, loss: $0.loss.memory, gradient: $0.gradient.memory)
      })

    let poly = PolyLoss()
    register("PolyLoss eps2 (arrays) fwd+bwd") {
      try poly.lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    registerLabelledBuffers(
      "PolyLoss eps2",
      forward: { try poly.loss(logits: $0, shape: $1, labels: $2, into: $3) },
      forwardBackward: {
        try poly.lossAndGradient(logits: $0, shape: $1, labels: $2, loss: $3, gradient: $4)
      })
  }
}
