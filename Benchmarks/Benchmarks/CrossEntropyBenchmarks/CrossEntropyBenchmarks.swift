// The cross-entropy suite: softmax cross-entropy in its fused caller-buffer forms, and
// BCE-with-logits, at C = 10, 1000, 32000, 128256 and 256000, with the batch chosen so that each
// case holds about `XENT_BENCH_ELEMENTS` logits (16 Mi by default).
//
// Buffers are allocated in `setup:`, and the in-place cases restore their logits before
// `startMeasurement()`, so the malloc and peak-memory metrics cover the loss call alone: the
// caller-buffer forms should show a handful of small mallocs and no N × C growth.

import Benchmark
import BenchmarkData
import CrossEntropy

/// Buffers for the in-place forward+backward form: the logits (overwritten by the gradient on
/// each call), a pristine copy to restore them from, labels, optional class weights, the loss.
final class InPlaceState<Scalar: BinaryFloatingPoint>: @unchecked Sendable {
  let pristine: Buffer<Scalar>
  let logits: Buffer<Scalar>
  let labels: Buffer<Int>
  let weights: Buffer<Scalar>?
  let loss = Buffer<Scalar>(count: 1) { _ in 0 }

  init(logitCount: Int, labelCount: Int, classes: Int, ignoredFraction: Double, weighted: Bool) {
    let source = Buffer<Float>.logits(count: logitCount, seed: 1)
    let original = Buffer<Scalar>(count: logitCount) { Scalar(source.memory[$0]) }
    pristine = original
    logits = Buffer(count: logitCount) { original.memory[$0] }
    labels = .labels(
      count: labelCount, classes: classes, seed: 2, ignoredFraction: ignoredFraction)
    if weighted {
      let draws = Buffer<Float>.logits(count: classes, seed: 3)
      weights = Buffer(count: classes) { Scalar(1 + draws.memory[$0] / 8) }
    } else {
      weights = nil
    }
  }

  /// Puts the original logits back (outside the measured region).
  func restore() { logits.assign(from: pristine) }
}

/// Registers the in-place forward+backward benchmark for one criterion and shape.
func registerInPlace<Scalar: BinaryFloatingPoint>(
  _ name: String, _: Scalar.Type, criterion: SoftmaxCrossEntropy, shape: [Int], classes: Int,
  ignoredFraction: Double = 0, weighted: Bool = false
) {
  let count = shape.reduce(1, *)
  let labelCount = count / classes
  Benchmark(name, configuration: BenchmarkSettings.configuration) {
    (benchmark: Benchmark, state: InPlaceState<Scalar>) in
    state.restore()
    benchmark.startMeasurement()
    try measurePerElement(benchmark, elements: count) {
      try criterion.lossAndGradient(
        overwriting: state.logits.memory, shape: shape, labels: state.labels.readOnly,
        classWeights: state.weights?.readOnly, loss: state.loss.memory)
    }
  } setup: {
    InPlaceState<Scalar>(
      logitCount: count, labelCount: labelCount, classes: classes,
      ignoredFraction: ignoredFraction, weighted: weighted)
  }
}

/// Buffers for bfloat16 logits in place: raw 16-bit values (the top half of a Float's bits).
final class BFloat16State: @unchecked Sendable {
  let pristine: Buffer<UInt16>
  let logits: Buffer<UInt16>
  let labels: Buffer<Int>
  let loss = Buffer<Float>(count: 1) { _ in 0 }

  init(rows: Int, classes: Int) {
    let source = Buffer<Float>.logits(count: rows * classes, seed: 1)
    let original = Buffer<UInt16>(count: rows * classes) {
      UInt16(truncatingIfNeeded: source.memory[$0].bitPattern >> 16)
    }
    pristine = original
    logits = Buffer(count: rows * classes) { original.memory[$0] }
    labels = .labels(count: rows, classes: classes, seed: 2)
  }

  /// Puts the original logits back (outside the measured region).
  func restore() { logits.assign(from: pristine) }
}

/// Buffers for the forward-only form.
final class ForwardState: @unchecked Sendable {
  let logits: Buffer<Float>
  let labels: Buffer<Int>
  let loss = Buffer<Float>(count: 1) { _ in 0 }

  init(rows: Int, classes: Int) {
    logits = .logits(count: rows * classes, seed: 1)
    labels = .labels(count: rows, classes: classes, seed: 2)
  }
}

/// Buffers for probability targets: logits, targets, and a separate gradient.
final class ProbabilityState: @unchecked Sendable {
  let logits: Buffer<Float>
  let probabilities: Buffer<Float>
  let gradient: Buffer<Float>
  let loss = Buffer<Float>(count: 1) { _ in 0 }

  init(rows: Int, classes: Int) {
    logits = .logits(count: rows * classes, seed: 1)
    probabilities = .probabilities(rows: rows, classes: classes, seed: 4)
    gradient = Buffer(count: rows * classes) { _ in 0 }
  }
}

/// Buffers for BCE-with-logits in place: logits (overwritten by the gradient on each call), a
/// pristine copy to restore them from, random 0/1 targets and the loss.
final class BinaryState: @unchecked Sendable {
  let pristine: Buffer<Float>
  let logits: Buffer<Float>
  let targets: Buffer<Float>
  let loss = Buffer<Float>(count: 1) { _ in 0 }

  init(count: Int) {
    let source = Buffer<Float>.logits(count: count, seed: 1)
    var generator = DataGenerator(seed: 5)
    pristine = source
    logits = Buffer(count: count) { source.memory[$0] }
    targets = Buffer(count: count) { _ in generator.next() & 1 == 0 ? 0 : 1 }
  }

  /// Puts the original logits back (outside the measured region).
  func restore() { logits.assign(from: pristine) }
}

let benchmarks: @Sendable () -> Void = {
  let plain = SoftmaxCrossEntropy()
  let options = SoftmaxCrossEntropy(ignoreIndex: -100, labelSmoothing: 0.1)

  // The harness's own allocations in the measured region, to subtract from the counts below.
  Benchmark("Baseline: empty measured call", configuration: BenchmarkSettings.configuration) {
    benchmark in
    measurePerElement(benchmark, elements: 1) { 0 }
  }

  for classes in BenchmarkSettings.classCounts {
    let rows = BenchmarkSettings.batch(rowSize: classes)
    let count = rows * classes
    let label = "C=\(classes) \(rows)x\(classes)"

    // 1. Plain CE, labels, mean: forward+backward with the gradient written over the logits.
    registerInPlace(
      "CE fwd+bwd in-place \(label)", Float.self, criterion: plain, shape: [rows, classes],
      classes: classes)

    // 2. Plain CE, forward only, into a caller buffer.
    Benchmark("CE forward \(label)", configuration: BenchmarkSettings.configuration) {
      (benchmark: Benchmark, state: ForwardState) in
      try measurePerElement(benchmark, elements: count) {
        try plain.loss(
          logits: state.logits.readOnly, shape: [rows, classes], labels: state.labels.readOnly,
          into: state.loss.memory)
      }
    } setup: {
      ForwardState(rows: rows, classes: classes)
    }

    // 3. Label smoothing 0.1 + class weights + 10% ignored labels, in place.
    registerInPlace(
      "CE smooth+weights+ignore in-place \(label)", Float.self, criterion: options,
      shape: [rows, classes], classes: classes, ignoredFraction: 0.1, weighted: true)

    // 4. Probability targets, forward+backward into a separate gradient buffer.
    Benchmark("CE probabilities fwd+bwd \(label)", configuration: BenchmarkSettings.configuration) {
      (benchmark: Benchmark, state: ProbabilityState) in
      try measurePerElement(benchmark, elements: count) {
        try plain.lossAndGradient(
          logits: state.logits.readOnly, shape: [rows, classes],
          probabilities: state.probabilities.readOnly, loss: state.loss.memory,
          gradient: state.gradient.memory)
      }
    } setup: {
      ProbabilityState(rows: rows, classes: classes)
    }

    // 5. (N, C, H, W) with classAxis 1, in place: H = W = 8, or smaller where one image of
    // C × 8 × 8 would exceed the element budget.
    let side = [8, 4, 2, 1].first { classes * $0 * $0 <= BenchmarkSettings.elementBudget } ?? 1
    let images = BenchmarkSettings.batch(rowSize: classes * side * side)
    registerInPlace(
      "CE NCHW axis1 in-place C=\(classes) \(images)x\(classes)x\(side)x\(side)", Float.self,
      criterion: SoftmaxCrossEntropy(classAxis: 1), shape: [images, classes, side, side],
      classes: classes)

    // 6. BCE-with-logits on an (N, C) multi-label batch, mean, gradient in place (the fused
    // kernel: no allocation proportional to N × C).
    Benchmark(
      "BCE-with-logits fwd+bwd in-place \(label)", configuration: BenchmarkSettings.configuration
    ) {
      (benchmark: Benchmark, state: BinaryState) in
      state.restore()
      benchmark.startMeasurement()
      try measurePerElement(benchmark, elements: count) {
        try BinaryCrossEntropy().lossAndGradient(
          overwriting: state.logits.memory, shape: [rows, classes],
          targets: state.targets.readOnly, loss: state.loss.memory)
      }
    } setup: {
      BinaryState(count: count)
    }

    // 7. Float16 logits (the generic caller-buffer API), in place.
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      registerInPlace(
        "CE Float16 fwd+bwd in-place \(label)", Float16.self, criterion: plain,
        shape: [rows, classes], classes: classes)
    #endif

    // 8. bfloat16 logits (raw 16-bit storage), in place.
    Benchmark(
      "CE bfloat16 fwd+bwd in-place \(label)", configuration: BenchmarkSettings.configuration
    ) { (benchmark: Benchmark, state: BFloat16State) in
      state.restore()
      benchmark.startMeasurement()
      try measurePerElement(benchmark, elements: count) {
        try plain.lossAndGradient(
          overwritingBFloat16: state.logits.memory, shape: [rows, classes],
          labels: state.labels.readOnly, loss: state.loss.memory)
      }
    } setup: {
      BFloat16State(rows: rows, classes: classes)
    }
  }

  // 9. A segmentation-like (N, C, H, W) batch: 21 classes over 256 x 256 pixels, in place.
  registerInPlace(
    "CE NCHW axis1 in-place segmentation 8x21x256x256", Float.self,
    criterion: SoftmaxCrossEntropy(classAxis: 1), shape: [8, 21, 256, 256], classes: 21)
}
