import Dispatch
import RealModule

/// Everything a CTC kernel needs besides the data, validated by the public API.
///
/// Log-probabilities are laid out `(T, N, C)` row-major: element `(t, n, c)` sits at
/// `(t * batch + n) * classes + c`. Targets are stored concatenated whatever the caller's layout.
struct CTCProblem: Sendable {
  /// The time extent `T` of the log-probabilities.
  var timeSteps: Int
  /// The batch size `N`.
  var batch: Int
  /// The number of classes `C`, blank included.
  var classes: Int
  /// The blank class, in `0..<classes`.
  var blank: Int
  /// One input length per sample, each in `0...timeSteps`.
  var inputLengths: [Int]
  /// One target length per sample, each at least 0.
  var targetLengths: [Int]
  /// Where each sample's labels start in ``targets``.
  var targetOffsets: [Int]
  /// The labels of every sample, concatenated, each in `0..<classes`.
  var targets: [Int]
  /// How the per-sample losses are combined.
  var reduction: Reduction
  /// The batch count that `.mean` divides by: the caller's normaliser, or `N`.
  var meanBatch: Double
  /// Whether infinite losses (and their gradients) become 0.
  var zeroInfinity: Bool
  /// The upstream gradient, if any: one value per sample for `.none`, else one value.
  var upstream: [Double]? = nil

  /// The factor that multiplies sample `n`'s gradient: `1 / (N * max(targetLength, 1))` for
  /// `.mean` (``meanBatch`` for `N`), 1 otherwise, times the sample's upstream gradient when there is one (PyTorch's
  /// `grad_out` for that sample).
  func gradientScale(ofSample n: Int) -> Double {
    let scale = reduction == .mean ? 1 / (meanBatch * Double(max(targetLengths[n], 1))) : 1
    guard let upstream else { return scale }
    return scale * upstream[upstream.count == batch ? n : 0]
  }
}

/// The pointers a batch of CTC work reads and writes, shared by the worker threads.
///
/// Each sample reads its own slices and writes only its own loss and gradient slices, so no two
/// threads touch the same element. The box never escapes ``CTCKernel/evaluate``.
private struct CTCBuffers<Scalar: BinaryFloatingPoint>: @unchecked Sendable {
  let input: UnsafePointer<Scalar>
  let losses: UnsafeMutablePointer<Double>
  let gradient: UnsafeMutablePointer<Scalar>?

  /// Runs sample `n`: the vectorised path for `Float` when it applies, else the reference. The
  /// sample's gradient rows at and after its input length get 0, so that every element of the
  /// gradient is written (it may be the input's own memory).
  func runSample(_ n: Int, problem: CTCProblem, fromLogits: Bool) {
    let sample = CTCSample(problem: problem, index: n)
    let input = self.input + n * problem.classes
    let gradient = self.gradient.map { $0 + n * problem.classes }
    if let gradient {
      for t in sample.inputLength..<problem.timeSteps {
        for c in 0..<problem.classes { gradient[t * sample.rowStride + c] = 0 }
      }
    }
    if Scalar.self == Float.self,
      let nll = CTCVectorKernel.sample(
        sample, input: Kernels.cast(input, to: Float.self), fromLogits: fromLogits,
        gradient: gradient.map { Kernels.cast($0, to: Float.self) })
    {
      losses[n] = nll
      return
    }
    losses[n] = CTCKernel.referenceSample(
      sample, input: input, fromLogits: fromLogits, gradient: gradient)
  }
}

/// The CTC kernels: a driver that spreads the batch over threads, the vectorised `Float` path
/// (``CTCVectorKernel``) and the plain `Double` reference that follows PyTorch's `LossCTC.cpp`
/// recursion step by step.
enum CTCKernel {
  /// Computes every sample's negative log-likelihood and, if asked, the gradient.
  ///
  /// - Parameters:
  ///   - input: Log-probabilities, or raw logits when `fromLogits` is true, laid out `(T, N, C)`.
  ///   - fromLogits: Whether a log-softmax over the classes comes first.
  ///   - losses: Receives `N` losses, before `zeroInfinity` and the reduction.
  ///   - gradient: If not nil, `T * N * C` elements that receive d(loss)/d(input) for the
  ///     problem's reduction and `zeroInfinity`, every one written. It may be `input` itself: each
  ///     sample reads its own input rows before it writes its gradient rows.
  static func evaluate<Scalar: BinaryFloatingPoint>(
    input: UnsafePointer<Scalar>, problem: CTCProblem, fromLogits: Bool,
    losses: UnsafeMutablePointer<Double>, gradient: UnsafeMutablePointer<Scalar>?
  ) {
    // The threads see concrete element types only (a generic metatype is not Sendable).
    if Scalar.self == Float.self {
      run(
        CTCBuffers(
          input: Kernels.cast(input, to: Float.self), losses: losses,
          gradient: gradient.map { Kernels.cast($0, to: Float.self) }),
        problem: problem, fromLogits: fromLogits)
    } else if Scalar.self == Double.self {
      run(
        CTCBuffers(
          input: Kernels.cast(input, to: Double.self), losses: losses,
          gradient: gradient.map { Kernels.cast($0, to: Double.self) }),
        problem: problem, fromLogits: fromLogits)
    } else {
      // Other formats (Float16, ...) run in Double and round once at the end.
      let count = problem.timeSteps * problem.batch * problem.classes
      let wide = (0..<count).map { Double(input[$0]) }
      var wideGradient = [Double](repeating: 0, count: gradient == nil ? 0 : count)
      wide.withUnsafeBufferPointer { wideInput in
        wideGradient.withUnsafeMutableBufferPointer { wideOutput in
          run(
            CTCBuffers(
              input: wideInput.baseAddress!, losses: losses,
              gradient: gradient == nil ? nil : wideOutput.baseAddress),
            problem: problem, fromLogits: fromLogits)
        }
      }
      if let gradient {
        for index in 0..<count { gradient[index] = Scalar(wideGradient[index]) }
      }
    }
  }

  private static func run(_ buffers: CTCBuffers<Float>, problem: CTCProblem, fromLogits: Bool) {
    forEachSample(problem) { n in buffers.runSample(n, problem: problem, fromLogits: fromLogits) }
  }

  private static func run(_ buffers: CTCBuffers<Double>, problem: CTCProblem, fromLogits: Bool) {
    forEachSample(problem) { n in buffers.runSample(n, problem: problem, fromLogits: fromLogits) }
  }

  /// Calls `body` once per sample, on up to ``Parallelism/maximumThreadCount`` threads when the
  /// batch is worth it; thread `k` takes samples `k`, `k + threads`, ... (so that sorted lengths
  /// still share the work evenly). Each sample's result depends only on that sample, so it is the
  /// same whatever the thread count.
  private static func forEachSample(
    _ problem: CTCProblem, _ body: @escaping @Sendable (Int) -> Void
  ) {
    var work = 0
    for n in 0..<problem.batch {
      work += problem.inputLengths[n] * (2 * problem.targetLengths[n] + 1)
    }
    let threads = min(Parallelism.effectiveThreadCount, problem.batch)
    if threads <= 1 || work < 4096 {
      for n in 0..<problem.batch { body(n) }
    } else {
      let batch = problem.batch
      DispatchQueue.concurrentPerform(iterations: threads) { first in
        for n in stride(from: first, to: batch, by: threads) { body(n) }
      }
    }
  }

  /// One sample of the reference path, in `Double`, exactly PyTorch's recursion.
  ///
  /// - Returns: The sample's negative log-likelihood (before `zeroInfinity`).
  static func referenceSample<Scalar: BinaryFloatingPoint>(
    _ sample: CTCSample, input: UnsafePointer<Scalar>, fromLogits: Bool,
    gradient: UnsafeMutablePointer<Scalar>?
  ) -> Double {
    let classes = sample.classes
    let length = sample.inputLength
    let extended = sample.extendedCount
    let negativeInfinity = -Double.infinity
    if length == 0 {
      // No time steps: only the empty target has a (single, empty) alignment. PyTorch's
      // gradient is then 0 whatever the loss.
      return sample.targetLength == 0 ? 0 : .infinity
    }

    // Scratch (unchecked pointers: the indices below stay inside the counts by construction).
    func scratch(_ count: Int, _ value: Double) -> UnsafeMutablePointer<Double> {
      let pointer = UnsafeMutablePointer<Double>.allocate(capacity: count)
      pointer.initialize(repeating: value, count: count)
      return pointer
    }
    let logProbabilities = scratch(length * classes, 0)
    let row = scratch(classes, 0)
    let alpha = scratch(length * extended, negativeInfinity)
    let labels = UnsafeMutablePointer<Int>.allocate(capacity: extended)
    defer {
      logProbabilities.deallocate()
      row.deallocate()
      alpha.deallocate()
      labels.deallocate()
    }
    for s in 0..<extended { labels[s] = sample.label(s) }

    // The log-probabilities of this sample, in Double.
    for t in 0..<length {
      let source = input + t * sample.rowStride
      for c in 0..<classes { row[c] = Double(source[c]) }
      let shift =
        fromLogits ? Reference.logSumExp(UnsafeBufferPointer(start: row, count: classes)) : 0
      for c in 0..<classes { logProbabilities[t * classes + c] = row[c] - shift }
    }
    @inline(__always) func lp(_ t: Int, _ s: Int) -> Double {
      logProbabilities[t * classes + labels[s]]
    }

    // Forward: alpha[t][s], log space, three-term log-sum-exp as PyTorch writes it.
    alpha[0] = lp(0, 0)
    if sample.targetLength > 0 { alpha[1] = lp(0, 1) }
    for t in 1..<length {
      for s in 0..<extended {
        let a1 = alpha[(t - 1) * extended + s]
        var largest = a1
        var a2 = negativeInfinity
        var a3 = negativeInfinity
        if s > 0 {
          a2 = alpha[(t - 1) * extended + s - 1]
          if a2 > largest { largest = a2 }
        }
        if s > 1 && labels[s - 2] != labels[s] {
          a3 = alpha[(t - 1) * extended + s - 2]
          if a3 > largest { largest = a3 }
        }
        if largest == negativeInfinity { largest = 0 }
        alpha[t * extended + s] =
          .log(.exp(a1 - largest) + .exp(a2 - largest) + .exp(a3 - largest)) + largest + lp(t, s)
      }
    }
    let last = (length - 1) * extended
    let nll: Double
    if sample.targetLength == 0 {
      nll = -alpha[last]
    } else {
      let l1 = alpha[last + extended - 1]
      let l2 = alpha[last + extended - 2]
      var largest = max(l1, l2)
      if largest == negativeInfinity { largest = 0 }
      nll = -(.log(.exp(l1 - largest) + .exp(l2 - largest)) + largest)
    }
    guard let gradient else { return nll }

    if nll == .infinity {
      // PyTorch: zero_infinity zeroes the gradient; otherwise every entry up to the input
      // length is NaN (the log of an empty sum plus an infinite loss).
      sample.fillGradient(gradient, with: sample.zeroInfinity ? 0 : .nan)
      return nll
    }

    // Backward: beta, and the log of the summed alpha * beta per (t, class).
    let beta = scratch(length * extended, negativeInfinity)
    let collected = scratch(length * classes, negativeInfinity)
    defer {
      beta.deallocate()
      collected.deallocate()
    }
    @inline(__always) func collect(_ t: Int, _ s: Int) {
      let value = alpha[t * extended + s] + beta[t * extended + s]
      let index = t * classes + labels[s]
      let current = collected[index]
      if current == negativeInfinity {
        collected[index] = value
      } else {
        let largest = max(current, value)
        collected[index] = .log(.exp(current - largest) + .exp(value - largest)) + largest
      }
    }
    beta[last + extended - 1] = lp(length - 1, extended - 1)
    collect(length - 1, extended - 1)
    if sample.targetLength > 0 {
      beta[last + extended - 2] = lp(length - 1, extended - 2)
      // PyTorch assigns (rather than log-adds) this last-step term, assuming the last label is
      // not the blank; when it is, the blank's term above is overwritten. Reproduced as is.
      collected[(length - 1) * classes + labels[extended - 2]] = negativeInfinity
      collect(length - 1, extended - 2)
    }
    var t = length - 2
    while t >= 0 {
      for s in stride(from: extended - 1, through: 0, by: -1) {
        let b1 = beta[(t + 1) * extended + s]
        var largest = b1
        var b2 = negativeInfinity
        var b3 = negativeInfinity
        if s < extended - 1 {
          b2 = beta[(t + 1) * extended + s + 1]
          if b2 > largest { largest = b2 }
        }
        if s < extended - 2 && labels[s + 2] != labels[s] {
          b3 = beta[(t + 1) * extended + s + 2]
          if b3 > largest { largest = b3 }
        }
        if largest == negativeInfinity { largest = 0 }
        beta[t * extended + s] =
          .log(.exp(b1 - largest) + .exp(b2 - largest) + .exp(b3 - largest)) + largest + lp(t, s)
        collect(t, s)
      }
      t -= 1
    }

    // Wrap-up, eq. (16) of Graves et al.: PyTorch returns exp(lp) - exp(collected + nll - lp)
    // as the gradient with respect to the log-probabilities (the gradient with respect to the
    // logits of a log-softmax, which is also what the logits form needs).
    let scale = sample.gradientScale
    for t in 0..<length {
      for c in 0..<classes {
        let logProbability = logProbabilities[t * classes + c]
        let logCollected = collected[t * classes + c]
        let occupancy: Double
        if fromLogits && logCollected == negativeInfinity {
          occupancy = 0  // an unvisited class: no -inf - -inf when its logit is -inf
        } else {
          occupancy = .exp(logCollected + nll - logProbability)
        }
        gradient[t * sample.rowStride + c] = Scalar((.exp(logProbability) - occupancy) * scale)
      }
    }
    return nll
  }
}

/// One sample of a ``CTCProblem``: its lengths, its labels and where its rows lie.
struct CTCSample {
  /// The number of classes `C`.
  let classes: Int
  /// The distance between time steps in the input and the gradient: `N * C`.
  let rowStride: Int
  /// The blank class.
  let blank: Int
  /// The sample's input length.
  let inputLength: Int
  /// The sample's target length `L`.
  let targetLength: Int
  /// The sample's labels.
  let labels: ArraySlice<Int>
  /// The factor for this sample's gradient.
  let gradientScale: Double
  /// Whether an infinite loss zeroes this sample's gradient.
  let zeroInfinity: Bool

  init(problem: CTCProblem, index n: Int) {
    classes = problem.classes
    rowStride = problem.batch * problem.classes
    blank = problem.blank
    inputLength = problem.inputLengths[n]
    targetLength = problem.targetLengths[n]
    let start = problem.targetOffsets[n]
    labels = problem.targets[start..<start + targetLength]
    gradientScale = problem.gradientScale(ofSample: n)
    zeroInfinity = problem.zeroInfinity
  }

  /// Writes `value` into the sample's gradient rows before its input length.
  func fillGradient<Scalar: BinaryFloatingPoint>(
    _ gradient: UnsafeMutablePointer<Scalar>, with value: Scalar
  ) {
    for t in 0..<inputLength {
      for c in 0..<classes { gradient[t * rowStride + c] = value }
    }
  }

  /// The length of the extended target (blanks around and between the labels): `2L + 1`.
  var extendedCount: Int { 2 * targetLength + 1 }

  /// The class of extended position `s`: the blank at even positions, label `s / 2` at odd ones.
  @inline(__always)
  func label(_ s: Int) -> Int {
    s & 1 == 0 ? blank : labels[labels.startIndex + s >> 1]
  }
}
