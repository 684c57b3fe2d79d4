/// Connectionist temporal classification (CTC) loss, with PyTorch's `F.ctc_loss` semantics.
///
/// CTC scores a label sequence `y` (length `L`) against per-frame class scores (length `T`)
/// without an alignment: it sums the probability of every frame-level path that collapses to
/// `y` once repeats are merged and blanks removed (Graves et al., ICML 2006).
///
/// ```
/// y'   = (blank, y_1, blank, y_2, ..., y_L, blank)             the extended target, 2L + 1
/// a_0  = lp_0[blank], lp_0[y_1]                                 (log space)
/// a_t(s) = logsumexp(a_{t-1}(s), a_{t-1}(s-1), a_{t-1}(s-2) if y'_s != y'_{s-2}) + lp_t[y'_s]
/// l_n  = -logsumexp(a_{T_n - 1}(2L), a_{T_n - 1}(2L - 1))       (just a(0) when L = 0)
/// none = l_n;  sum = sum_n l_n;  mean = (1 / N) sum_n l_n / max(L_n, 1)
/// ```
///
/// ``normalizer``, when set, replaces only the batch count `N` of `.mean`: each loss is still
/// divided by its own clamped label length, `mean = (1 / K) sum_n l_n / max(L_n, 1)`, so that
/// the means of micro-batches divided by the global number of samples `K` add up to the mean
/// of the whole batch.
///
/// - An alignment that cannot exist (for example `T_n < L_n` plus the repeats) gives `+inf`;
///   with ``zeroInfinity`` it gives 0 and its gradient is 0. Without it, such a sample's gradient
///   is NaN up to its input length, as in PyTorch.
/// - The gradient with respect to the log-probabilities is PyTorch's:
///   `exp(lp_t[c]) - (sum of alpha * beta over the positions of class c) / (p(y) * p_t[c])`,
///   scaled by the reduction. Its first term is the gradient of the log-softmax that normally
///   produces `lp`, so it is exactly the gradient with respect to the logits when `lp` is a
///   log-softmax; a finite-difference check on the log-probabilities alone sees only the second
///   term. Like PyTorch, a `-inf` log-probability gives a NaN gradient at its position.
/// - ``loss(logits:labels:inputLengths:labelLengths:)`` takes raw scores and fuses the
///   log-softmax in; its gradient is with respect to the logits (`softmax - occupancy`).
/// - Labels may equal the blank; PyTorch computes a value for them and so does this type.
///   Labels outside `0..<C` are an error here (PyTorch does not check them and reads other
///   memory). Padding after a sample's label length is never read.
/// - `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
///   the loss: one value per sample for `.none`, 0-dimensional otherwise): each sample's
///   gradient is multiplied by its `g` (PyTorch's per-sample `grad_out`); steps at or after the
///   input length, and impossible samples under ``zeroInfinity``, keep gradient 0.
/// - The label sequences are PyTorch's `targets` and their lengths its `target_lengths`.
///
/// ```swift
/// let ctc = ConnectionistTemporalClassification(blank: 0)
/// let logits = try ShapedArray<Float>(shape: [6, 2, 5], scalars: scores)  // (T, N, C)
/// let labels = try ShapedArray<Int>(shape: [2, 3], scalars: [1, 2, 2, 3, 1, 0])
/// let (loss, gradient) = try ctc.lossAndGradient(
///   logits: logits, labels: labels, inputLengths: [6, 5], labelLengths: [3, 2])
/// ```
///
/// PyTorch equivalent: `torch.nn.functional.ctc_loss`.
public struct ConnectionistTemporalClassification: Sendable, Hashable {
  /// The class index of the blank, in `0..<C`. Default 0.
  public var blank: Int
  /// How per-sample losses are combined. Default `.mean`, which divides each loss by its label
  /// length (clamped to at least 1) before averaging over the batch, as PyTorch does.
  public var reduction: Reduction
  /// Whether infinite losses, and their gradients, are replaced by 0. Default false.
  public var zeroInfinity: Bool
  /// The batch count of `.mean`, or `nil` (the default) for the batch size `N`: `.mean` is
  /// `sum_n (l_n / max(L_n, 1)) / normalizer`, each loss still divided by its own clamped label
  /// length. Set it to the global number of samples when a batch is split into micro-batches
  /// or across processes. It must be finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates a CTC loss.
  ///
  /// - Parameters:
  ///   - blank: The blank class index, in `0..<C`. Default 0.
  ///   - reduction: `.mean` (default), `.sum` or `.none`.
  ///   - zeroInfinity: Whether infinite losses and their gradients become 0. Default false.
  ///   - normalizer: The batch count of `.mean`, finite and > 0, or `nil` (the batch size, the
  ///     default); each loss is still divided by its clamped label length.
  public init(
    blank: Int = 0, reduction: Reduction = .mean, zeroInfinity: Bool = false,
    normalizer: Double? = nil
  ) {
    self.blank = blank
    self.reduction = reduction
    self.zeroInfinity = zeroInfinity
    self.normalizer = normalizer
  }

  /// The CTC loss of log-probabilities against label sequences.
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities shaped `(T, N, C)`, or `(T, C)` for one unbatched
  ///     sample (normally a log-softmax over the classes).
  ///   - labels: Label sequences (class indices), either padded `(N, S)` with
  ///     `S >= max(labelLengths)`, or concatenated, 1-dimensional, holding exactly
  ///     `sum(labelLengths)` labels. Unbatched input takes a 1-dimensional sequence of
  ///     `labelLengths[0]` labels (or a padded `(1, S)` one).
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; for `.none`, `N` losses (a
  ///   0-dimensional array for unbatched input).
  /// - Throws: ``LossError`` for a log-probability rank other than 2 or 3, an empty
  ///   log-probability array, a blank outside `0..<C`, a length count that is not the batch size,
  ///   a negative length, an input length above `T`, labels of the wrong shape or count, a
  ///   label outside `0..<C`, or a ``normalizer`` that is not finite and > 0.
  /// - Complexity: O(sum over samples of `T_n * (2 L_n + 1)`) plus the size of the input, on up
  ///   to one thread per sample.
  public func loss<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, labels: ShapedArray<Int>, inputLengths: [Int],
    labelLengths: [Int]
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logProbabilities, fromLogits: false, labels: labels, inputLengths: inputLengths,
      labelLengths: labelLengths, upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The CTC loss of log-probabilities and PyTorch's gradient with respect to them.
  ///
  /// For `.none` the gradient is that of the sum of the per-sample losses. Time steps at or
  /// after a sample's input length get 0.
  ///
  /// - Parameters:
  ///   - logProbabilities: Log-probabilities shaped `(T, N, C)` or `(T, C)`.
  ///   - labels: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (`N`
  ///     values, or 0-dimensional for unbatched input, for `.none`; 0-dimensional for `.mean`
  ///     and `.sum`): the gradient returned is the vector-Jacobian product, as PyTorch's
  ///     `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss (as ``loss(logProbabilities:labels:inputLengths:labelLengths:)``) and
  ///   a gradient shaped like `logProbabilities`.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:labels:inputLengths:labelLengths:)``,
  ///   and for an upstream gradient not shaped like the loss.
  /// - Complexity: As the loss, about three times the work; O(T * (2 max L + 1)) extra memory per
  ///   sample in flight.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logProbabilities: ShapedArray<Scalar>, labels: ShapedArray<Int>, inputLengths: [Int],
    labelLengths: [Int], upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logProbabilities, fromLogits: false, labels: labels, inputLengths: inputLengths,
      labelLengths: labelLengths, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  /// The CTC loss of raw scores, with the log-softmax over the classes fused in.
  ///
  /// Equivalent to `F.ctc_loss(F.log_softmax(logits, dim=-1), ...)`.
  ///
  /// - Parameters:
  ///   - logits: Raw scores shaped `(T, N, C)` or `(T, C)`.
  ///   - labels: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  /// - Returns: The loss, shaped as for
  ///   ``loss(logProbabilities:labels:inputLengths:labelLengths:)``.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:labels:inputLengths:labelLengths:)``.
  /// - Complexity: As ``loss(logProbabilities:labels:inputLengths:labelLengths:)``, plus one
  ///   log-softmax per time step.
  public func loss<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, inputLengths: [Int],
    labelLengths: [Int]
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      logits, fromLogits: true, labels: labels, inputLengths: inputLengths,
      labelLengths: labelLengths, upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The CTC loss of raw scores and its gradient with respect to them: for each time step before
  /// the input length, `(softmax(x_t) - occupancy_t) * scale`, where `occupancy_t[c]` is the
  /// posterior probability of class `c` at `t` and `scale` comes from the reduction.
  ///
  /// Unlike the log-probability form, a `-inf` logit gets gradient 0 (its probability is 0).
  ///
  /// - Parameters:
  ///   - logits: Raw scores shaped `(T, N, C)` or `(T, C)`.
  ///   - labels: Padded `(N, S)` or concatenated label sequences.
  ///   - inputLengths: One length per sample, each in `0...T`.
  ///   - labelLengths: One length per sample, each at least 0.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (`N`
  ///     values, or 0-dimensional for unbatched input, for `.none`; 0-dimensional for `.mean`
  ///     and `.sum`): the gradient returned is the vector-Jacobian product, as PyTorch's
  ///     `loss.backward(gradient: g)`. Default nil (ones).
  /// - Returns: The loss and a gradient shaped like `logits`.
  /// - Throws: ``LossError``, as ``loss(logProbabilities:labels:inputLengths:labelLengths:)``,
  ///   and for an upstream gradient not shaped like the loss.
  /// - Complexity: As ``lossAndGradient(logProbabilities:labels:inputLengths:labelLengths:upstreamGradient:)``.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, inputLengths: [Int],
    labelLengths: [Int], upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits, fromLogits: true, labels: labels, inputLengths: inputLengths,
      labelLengths: labelLengths, upstreamGradient: upstreamGradient, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ input: ShapedArray<Scalar>, fromLogits: Bool, labels: ShapedArray<Int>,
    inputLengths: [Int], labelLengths: [Int], upstreamGradient: ShapedArray<Scalar>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let batched = input.rank == 3
    let reduced = reduction != .none
    if let upstreamGradient, input.rank == 2 || batched {
      let expected = reduced || !batched ? [] : [input.shape[1]]
      if upstreamGradient.shape != expected {
        throw .shapeMismatch(
          "upstream gradient shape \(describe(shape: upstreamGradient.shape)) does not match the"
            + " loss shape \(describe(shape: expected)) of reduction \(reduction)")
      }
    }
    var loss = [Scalar](
      repeating: 0, count: reduced ? 1 : (batched ? input.shape[1] : 1))
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: input.scalars.count) : nil
    try input.withUnsafeBufferPointer { inputBuffer throws(LossError) in
      try labels.withUnsafeBufferPointer { labelBuffer throws(LossError) in
        try loss.withUnsafeMutableBufferPointer { lossBuffer throws(LossError) in
          try withOptionalMutableBuffer(&gradient) { gradientBuffer throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { upstream throws(LossError) in
              try compute(
                input: inputBuffer, shape: input.shape, fromLogits: fromLogits,
                labels: labelBuffer, labelShape: labels.shape, inputLengths: inputLengths,
                labelLengths: labelLengths, upstreamGradient: upstream, loss: lossBuffer,
                gradient: gradientBuffer)
            }
          }
        }
      }
    }
    return (
      ShapedArray(uncheckedShape: reduced || !batched ? [] : [loss.count], scalars: loss),
      gradient.map { ShapedArray(uncheckedShape: input.shape, scalars: $0) }
    )
  }

  /// Validates everything, runs the kernels and reduces: the one path of every form.
  ///
  /// - Parameters:
  ///   - upstreamGradient: If not nil, the upstream gradient: one value per sample for `.none`,
  ///     else 1; it multiplies each sample's gradient.
  ///   - gradient: If not nil, receives the gradient, every element written; it may be the
  ///     memory of `input`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: BinaryFloatingPoint>(
    input: UnsafeBufferPointer<Scalar>, shape: [Int], fromLogits: Bool,
    labels: UnsafeBufferPointer<Int>, labelShape: [Int], inputLengths: [Int],
    labelLengths: [Int], upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let name = fromLogits ? "logits" : "log probabilities"
    var problem = try makeProblem(
      shape: shape, name: name, count: input.count, gradientCount: gradient?.count,
      labels: labels, labelShape: labelShape, inputLengths: inputLengths,
      labelLengths: labelLengths)
    try checkLossCount(loss.count, reduction: reduction, rows: problem.batch)
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: problem.batch)
    if gradient != nil, let upstreamGradient {
      problem.upstream = upstreamGradient.map { Double($0) }
    }
    var losses = [Double](repeating: 0, count: problem.batch)
    losses.withUnsafeMutableBufferPointer { lossBuffer in
      CTCKernel.evaluate(
        input: startAddress(input.baseAddress), problem: problem, fromLogits: fromLogits,
        losses: lossBuffer.baseAddress!, gradient: gradient?.baseAddress)
    }
    if zeroInfinity {
      for n in losses.indices where losses[n] == .infinity { losses[n] = 0 }
    }
    switch reduction {
    case .none:
      for n in losses.indices { loss[n] = Scalar(losses[n]) }
    case .sum:
      loss[0] = Scalar(losses.reduce(0, +))
    case .mean:
      var total = 0.0
      for n in losses.indices { total += losses[n] / Double(max(problem.targetLengths[n], 1)) }
      loss[0] = Scalar(total / problem.meanBatch)
    }
  }

  /// Validates the arguments as PyTorch does (plus the label range) and gathers the targets.
  ///
  /// Messages keep PyTorch's words for the label sequences and their lengths: "targets" and
  /// "target lengths".
  func makeProblem(
    shape: [Int], name: String, count: Int, gradientCount: Int?,
    labels targets: UnsafeBufferPointer<Int>,
    labelShape: [Int], inputLengths: [Int], labelLengths targetLengths: [Int]
  ) throws(LossError) -> CTCProblem {
    try checkNormalizer(normalizer)
    guard shape.count == 2 || shape.count == 3 else {
      throw .shapeMismatch(
        "\(name) must have shape (T, N, C) or (T, C), got \(describe(shape: shape))")
    }
    let batched = shape.count == 3
    let timeSteps = shape[0]
    let batch = batched ? shape[1] : 1
    let classes = shape[shape.count - 1]
    guard timeSteps > 0 && batch > 0 && classes > 0 else {
      throw .shapeMismatch(
        "\(name) of shape \(describe(shape: shape)) are empty; expected T, N and C of at least 1")
    }
    try checkCount(count, shape: shape, name: name)
    if let gradientCount { try checkGradientCount(gradientCount, shape: shape, name: name) }
    guard (0..<classes).contains(blank) else {
      throw .invalidOption(
        "blank \(blank) is outside 0..<\(classes), the classes of \(name)"
          + " \(describe(shape: shape))")
    }
    let batchText =
      batched ? "the batch size \(batch) of \(name) \(describe(shape: shape))" : "1 (unbatched)"
    guard inputLengths.count == batch else {
      throw .shapeMismatch("input lengths hold \(inputLengths.count) values; expected \(batchText)")
    }
    guard targetLengths.count == batch else {
      throw .shapeMismatch(
        "label lengths hold \(targetLengths.count) values; expected \(batchText)")
    }
    for (n, length) in targetLengths.enumerated() where length < 0 {
      throw .valueOutOfRange("label length \(length) at position [\(n)] is negative")
    }
    for (n, length) in inputLengths.enumerated() where length < 0 {
      throw .valueOutOfRange("input length \(length) at position [\(n)] is negative")
    }
    for (n, length) in inputLengths.enumerated() where length > timeSteps {
      throw .valueOutOfRange(
        "input length \(length) at position [\(n)] exceeds the \(timeSteps) time steps of"
          + " \(name) \(describe(shape: shape))")
    }

    try checkCount(targets.count, shape: labelShape, name: "labels")

    var offsets = [Int](repeating: 0, count: batch)
    var labels: [Int] = []
    func checkLabel(_ label: Int, at position: [Int]) throws(LossError) {
      guard label >= 0 && label < classes else {
        throw LossError(
          .labelOutOfRange,
          "label \(label) at position \(describe(shape: position)) is outside 0..<\(classes)")
      }
    }
    switch labelShape.count {
    case 1:
      let total = targetLengths.reduce(0, +)
      guard targets.count == total else {
        throw .shapeMismatch(
          "concatenated labels hold \(targets.count) labels but the label lengths"
            + " add up to \(total)")
      }
      var start = 0
      for n in 0..<batch {
        offsets[n] = start
        start += targetLengths[n]
      }
      labels = Array(targets)
      for (index, label) in labels.enumerated() { try checkLabel(label, at: [index]) }
    case 2:
      let rows = labelShape[0]
      let columns = labelShape[1]
      guard rows == batch else {
        throw .shapeMismatch(
          "padded labels \(describe(shape: labelShape)) have a first extent of \(rows);"
            + " expected \(batchText)")
      }
      for (n, length) in targetLengths.enumerated() where length > columns {
        throw .shapeMismatch(
          "label length \(length) at position [\(n)] exceeds the \(columns) columns of padded"
            + " labels \(describe(shape: labelShape))")
      }
      for n in 0..<batch {
        offsets[n] = labels.count
        for i in 0..<targetLengths[n] {
          let label = targets[n * columns + i]
          try checkLabel(label, at: [n, i])
          labels.append(label)
        }
      }
    default:
      throw .shapeMismatch(
        "labels must be padded (N, S) or concatenated (sum of label lengths), got shape"
          + " \(describe(shape: labelShape))")
    }
    return CTCProblem(
      timeSteps: timeSteps, batch: batch, classes: classes, blank: blank,
      inputLengths: inputLengths, targetLengths: targetLengths, targetOffsets: offsets,
      targets: labels, reduction: reduction, meanBatch: normalizer ?? Double(batch),
      zeroInfinity: zeroInfinity)
  }
}

/// The PyTorch-style name of ``ConnectionistTemporalClassification``.
public typealias CTCLoss = ConnectionistTemporalClassification
