import ArgumentParser
import CrossEntropy
import CrossEntropyCPU

/// `xent bench --loss linear-cross-entropy`: ``LinearCrossEntropy`` through its caller-buffer
/// forms, the forward pass (loss only) and the forward + backward pass writing the hidden,
/// classifier and bias gradients, with `--rows` N tokens, `--hidden` D and `--classes` V.
///
/// The problem: hidden states in [-1, 1) and classifier weights in [-1/16, 1/16) on grids that
/// are exact in every dtype, a zero bias, random labels (every `--ignore-every`-th one ignored),
/// and with `--weighted` per-class weights in [0.5, 1.5). The extra memory is the growth of the
/// peak resident set during one forward + backward call, beyond the inputs and the gradient
/// outputs, which are allocated and written before it.
extension Bench {
  func validateLinearCrossEntropy() throws {
    guard hiddenCount > 0 else { throw ValidationError("--hidden \(hiddenCount) must be > 0") }
  }

  func timeLinearCrossEntropy() throws {
    let (n, d, v) = (rowCount, hiddenCount, classCount)
    var data = SyntheticData(seed: 0x5eed_1234)
    let hidden = (0..<n * d).map { _ in Float(data.uniform(-1..<1, steps: 256)) }
    let weight = (0..<v * d).map { _ in Float(data.uniform(-0.0625..<0.0625, steps: 256)) }
    let bias = [Float](repeating: 0, count: v)
    let criterion = LinearCrossEntropy(
      labelSmoothing: labelSmoothing, zLossScale: zLossScale, logitSoftCap: logitSoftCap)
    let labels = (0..<n).map { r in
      ignoreEvery > 0 && r % ignoreEvery == 0 ? criterion.ignoreIndex : data.label(below: v)
    }
    let classWeights =
      weighted ? (0..<v).map { _ in Float(data.uniform(0.5..<1.5, steps: 1024)) } : nil
    let shapes = ([n, d], [v, d])
    let call: any LinearCall
    switch dtype {
    case .float32:
      call = FloatingLinearCall(
        criterion: criterion,
        buffers: Buffers(
          hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
          gradient: Float(0)), shapes: shapes)
    case .float64:
      call = FloatingLinearCall(
        criterion: criterion,
        buffers: Buffers(
          hidden: hidden.map(Double.init), weight: weight.map(Double.init),
          bias: bias.map(Double.init), labels: labels,
          classWeights: classWeights?.map(Double.init), gradient: Double(0)), shapes: shapes)
    case .bfloat16:
      // Exact: every value is a multiple of 1/128 or 1/4096 with at most 8 significant bits.
      func bits(_ x: Float) -> UInt16 { UInt16(truncatingIfNeeded: x.bitPattern >> 16) }
      call = BFloat16LinearCall(
        criterion: criterion,
        buffers: Buffers(
          hidden: hidden.map(bits), weight: weight.map(bits), bias: bias.map(bits),
          labels: labels, classWeights: classWeights, gradient: Float(0)), shapes: shapes)
    case .float16:
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        call = Float16LinearCall(
          criterion: criterion,
          buffers: Buffers(
            hidden: hidden.map(Float16.init), weight: weight.map(Float16.init),
            bias: bias.map(Float16.init), labels: labels, classWeights: classWeights,
            gradient: Float(0)), shapes: shapes)
      #else
        throw ValidationError("float16 is not available on this platform")
      #endif
    }
    defer { call.deallocate() }
    let forward = try Timing.median(options) { try call.forward() }
    let forwardBackward = try Timing.median(options) { try call.forwardBackward() }
    let extra = try Timing.peakExtraBytes { try call.forwardBackward() }
    let flops = 6 * Double(n) * Double(d) * Double(v)
    let build = xent_cpu_is_native_build() != 0 ? "native" : "portable"
    let threads = Parallelism.effectiveThreadCount
    if options.json {
      print(
        "{\"loss\": \"linear-cross-entropy\", \"rows\": \(n), \"hidden\": \(d),"
          + " \"classes\": \(v), \"dtype\": \"\(dtype.rawValue)\", \"threads\": \(threads),"
          + " \"label_smoothing\": \(labelSmoothing), \"weighted\": \(weighted),"
          + " \"ignore_every\": \(ignoreEvery), \"z_loss_scale\": \(zLossScale),"
          + " \"logit_soft_cap\": \(logitSoftCap.map { "\($0)" } ?? "null"),"
          + " \"gemm_kernel\": \"\(GEMMBenchmark.activeKernel)\","
          + " \"seconds_forward\": \(forward),"
          + " \"seconds_forward_backward\": \(forwardBackward),"
          + " \"gflops\": \(rounded(flops / forwardBackward * 1e-9)),"
          + " \"peak_extra_bytes\": \(extra), \"build\": \"\(build)\"}")
    } else {
      print("loss            linear-cross-entropy (\(dtype.rawValue), \(build) build)")
      print("shape           N \(n), D \(d), V \(v), \(threads) thread(s)")
      print("matrix kernel   \(GEMMBenchmark.activeKernel)")
      print("forward         \(rounded(forward)) s (median of \(options.repeats))")
      print(
        "forward+bwd     \(rounded(forwardBackward)) s, "
          + "\(rounded(flops / forwardBackward * 1e-9)) GFLOP/s (6·N·D·V)")
      print("extra memory    \(extra) bytes (peak resident growth)")
    }
  }
}

/// One timed problem: its buffers and the two calls on them.
private protocol LinearCall {
  func forward() throws
  func forwardBackward() throws
  func deallocate()
}

/// Float or Double: inputs, loss and gradients in `Scalar`.
private struct FloatingLinearCall<Scalar: BinaryFloatingPoint>: LinearCall {
  let criterion: LinearCrossEntropy
  let buffers: Buffers<Scalar, Scalar, Scalar>
  let shapes: ([Int], [Int])

  func forward() throws {
    let b = buffers
    try criterion.loss(
      hidden: UnsafeBufferPointer(b.hidden), shape: shapes.0,
      weight: UnsafeBufferPointer(b.weight), weightShape: shapes.1,
      bias: UnsafeBufferPointer(b.bias), labels: UnsafeBufferPointer(b.labels),
      classWeights: b.classWeightsView, into: b.loss)
  }

  func forwardBackward() throws {
    let b = buffers
    try criterion.lossAndGradient(
      hidden: UnsafeBufferPointer(b.hidden), shape: shapes.0,
      weight: UnsafeBufferPointer(b.weight), weightShape: shapes.1,
      bias: UnsafeBufferPointer(b.bias), labels: UnsafeBufferPointer(b.labels),
      classWeights: b.classWeightsView, loss: b.loss,
      hiddenGradient: b.hiddenGradient, weightGradient: b.weightGradient,
      biasGradient: b.biasGradient)
  }

  func deallocate() { buffers.deallocate() }
}

/// bfloat16 inputs (raw bits), fp32 class weights, loss and gradients.
private struct BFloat16LinearCall: LinearCall {
  let criterion: LinearCrossEntropy
  let buffers: Buffers<UInt16, Float, Float>
  let shapes: ([Int], [Int])

  func forward() throws {
    let b = buffers
    try criterion.loss(
      bfloat16Hidden: UnsafeBufferPointer(b.hidden), shape: shapes.0,
      bfloat16Weight: UnsafeBufferPointer(b.weight), weightShape: shapes.1,
      bfloat16Bias: UnsafeBufferPointer(b.bias), labels: UnsafeBufferPointer(b.labels),
      classWeights: b.classWeightsView, into: b.loss)
  }

  func forwardBackward() throws {
    let b = buffers
    try criterion.lossAndGradient(
      bfloat16Hidden: UnsafeBufferPointer(b.hidden), shape: shapes.0,
      bfloat16Weight: UnsafeBufferPointer(b.weight), weightShape: shapes.1,
      bfloat16Bias: UnsafeBufferPointer(b.bias), labels: UnsafeBufferPointer(b.labels),
      classWeights: b.classWeightsView, loss: b.loss,
      hiddenGradient: b.hiddenGradient, weightGradient: b.weightGradient,
      biasGradient: b.biasGradient)
  }

  func deallocate() { buffers.deallocate() }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  /// Float16 inputs, fp32 class weights, loss and gradients.
  private struct Float16LinearCall: LinearCall {
    let criterion: LinearCrossEntropy
    let buffers: Buffers<Float16, Float, Float>
    let shapes: ([Int], [Int])

    func forward() throws {
      let b = buffers
      try criterion.loss(
        hidden: UnsafeBufferPointer(b.hidden), shape: shapes.0,
        weight: UnsafeBufferPointer(b.weight), weightShape: shapes.1,
        bias: UnsafeBufferPointer(b.bias), labels: UnsafeBufferPointer(b.labels),
        classWeights: b.classWeightsView, into: b.loss)
    }

    func forwardBackward() throws {
      let b = buffers
      try criterion.lossAndGradient(
        hidden: UnsafeBufferPointer(b.hidden), shape: shapes.0,
        weight: UnsafeBufferPointer(b.weight), weightShape: shapes.1,
        bias: UnsafeBufferPointer(b.bias), labels: UnsafeBufferPointer(b.labels),
        classWeights: b.classWeightsView, loss: b.loss,
        hiddenGradient: b.hiddenGradient, weightGradient: b.weightGradient,
        biasGradient: b.biasGradient)
    }

    func deallocate() { buffers.deallocate() }
  }
#endif

/// Heap copies of the inputs and written (so resident) gradient outputs of one problem.
private struct Buffers<Input, Weight, Output: BinaryFloatingPoint> {
  let hidden: UnsafeMutableBufferPointer<Input>
  let weight: UnsafeMutableBufferPointer<Input>
  let bias: UnsafeMutableBufferPointer<Input>
  let labels: UnsafeMutableBufferPointer<Int>
  let classWeights: UnsafeMutableBufferPointer<Weight>?
  let loss: UnsafeMutableBufferPointer<Output>
  let hiddenGradient: UnsafeMutableBufferPointer<Output>
  let weightGradient: UnsafeMutableBufferPointer<Output>
  let biasGradient: UnsafeMutableBufferPointer<Output>

  init(
    hidden: [Input], weight: [Input], bias: [Input], labels: [Int], classWeights: [Weight]?,
    gradient zero: Output
  ) {
    func copy<T>(_ values: [T]) -> UnsafeMutableBufferPointer<T> {
      let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: values.count)
      _ = buffer.initialize(from: values)
      return buffer
    }
    func zeros(_ count: Int) -> UnsafeMutableBufferPointer<Output> {
      let buffer = UnsafeMutableBufferPointer<Output>.allocate(capacity: count)
      buffer.initialize(repeating: zero)
      return buffer
    }
    self.hidden = copy(hidden)
    self.weight = copy(weight)
    self.bias = copy(bias)
    self.labels = copy(labels)
    self.classWeights = classWeights.map(copy)
    loss = zeros(1)
    hiddenGradient = zeros(hidden.count)
    weightGradient = zeros(weight.count)
    biasGradient = zeros(bias.count)
  }

  /// The class weights as read-only memory (no closure: a generic metatype captured in one would
  /// not be `Sendable`).
  var classWeightsView: UnsafeBufferPointer<Weight>? {
    guard let classWeights else { return nil }
    return UnsafeBufferPointer(classWeights)
  }

  func deallocate() {
    for buffer in [hiddenGradient, weightGradient, biasGradient, loss] { buffer.deallocate() }
    hidden.deallocate()
    weight.deallocate()
    bias.deallocate()
    labels.deallocate()
    classWeights?.deallocate()
  }
}
