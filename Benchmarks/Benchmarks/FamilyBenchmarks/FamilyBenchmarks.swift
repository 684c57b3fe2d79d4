// The wider family (issue 5) next to plain softmax cross-entropy at the same shapes, so that
// "distillation and focal within 2x of plain CE per element" can be read off the
// "ps per element" metric. The family losses have array APIs only (their loss and gradient are
// allocated by design), so plain CE is measured both in its array form (like for like) and in
// its in-place caller-buffer form.

import Benchmark
import BenchmarkData
import CrossEntropy

/// The inputs of every family loss at one (N, C) shape, built once in `setup:`.
struct FamilyState: @unchecked Sendable {
  let logits: ShapedArray<Float>
  let teacher: ShapedArray<Float>
  let labels: ShapedArray<Int>
  let probabilities: ShapedArray<Float>
  let logProbabilities: ShapedArray<Float>
  let binaryTargets: ShapedArray<Float>
  let inPlaceLogits: Buffer<Float>
  let pristine: Buffer<Float>
  let labelBuffer: Buffer<Int>
  let loss = Buffer<Float>(count: 1) { _ in 0 }

  init(rows: Int, classes: Int) throws {
    let shape = [rows, classes]
    let count = rows * classes
    pristine = .logits(count: count, seed: 1)
    inPlaceLogits = Buffer(count: count) { [pristine] in pristine.memory[$0] }
    labelBuffer = .labels(count: rows, classes: classes, seed: 2)
    var generator = DataGenerator(seed: 5)
    logits = try ShapedArray(shape: shape, scalars: pristine.toArray())
    teacher = try ShapedArray(
      shape: shape, scalars: Buffer<Float>.logits(count: count, seed: 6).toArray())
    labels = try ShapedArray(shape: [rows], scalars: labelBuffer.toArray())
    // KL input: the student's log-softmax; KL target: the teacher's softmax.
    logProbabilities = try logSoftmax(logits, alongAxis: -1)
    probabilities = try softmax(teacher, alongAxis: -1)
    binaryTargets = try ShapedArray(
      shape: shape, scalars: (0..<count).map { _ in generator.next() & 1 == 0 ? 0 : 1 })
  }
}

let benchmarks: @Sendable () -> Void = {
  let shapes = [(rows: 1024, classes: 1000), (rows: 256, classes: 32000)]

  for (rows, classes) in shapes {
    let count = rows * classes
    let suffix = "\(rows)x\(classes)"

    /// Registers one forward+backward benchmark of a loss over the shared inputs.
    func register<Result>(_ name: String, _ body: @escaping (FamilyState) throws -> Result) {
      Benchmark("\(name) fwd+bwd \(suffix)", configuration: BenchmarkSettings.configuration) {
        (benchmark: Benchmark, state: FamilyState) in
        try measurePerElement(benchmark, elements: count) { try body(state) }
      } setup: {
        try FamilyState(rows: rows, classes: classes)
      }
    }

    Benchmark("CE in-place fwd+bwd \(suffix)", configuration: BenchmarkSettings.configuration) {
      (benchmark: Benchmark, state: FamilyState) in
      state.inPlaceLogits.assign(from: state.pristine)
      benchmark.startMeasurement()
      try measurePerElement(benchmark, elements: count) {
        try SoftmaxCrossEntropy().lossAndGradient(
          overwriting: state.inPlaceLogits.memory, shape: [rows, classes],
          labels: state.labelBuffer.readOnly, loss: state.loss.memory)
      }
    } setup: {
      try FamilyState(rows: rows, classes: classes)
    }

    register("CE (arrays)") {
      try SoftmaxCrossEntropy().lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    register("KLDivergence batchmean") {
      try KLDivergence(reduction: .batchmean).lossAndGradient(
        logProbabilities: $0.logProbabilities, targets: $0.probabilities)
    }
    register("SigmoidFocalLoss") {
      try SigmoidFocalLoss().lossAndGradient(logits: $0.logits, targets: $0.binaryTargets)
    }
    register("SoftmaxFocalLoss gamma2") {
      try SoftmaxFocalLoss().lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    register("DistillationLoss T2 hard0.5") {
      try DistillationLoss(temperature: 2, hardLabelWeight: 0.5).lossAndGradient(
        studentLogits: $0.logits, teacherLogits: $0.teacher, labels: $0.labels)
    }
    register("MultiMarginLoss p1") {
      try MultiMarginLoss().lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
    register("MeanSquaredError") {
      try MeanSquaredError().lossAndGradient(predictions: $0.logits, targets: $0.probabilities)
    }
    register("PolyLoss eps2") {
      try PolyLoss().lossAndGradient(logits: $0.logits, labels: $0.labels)
    }
  }
}
