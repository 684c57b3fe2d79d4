import CrossEntropy
import RealModule

/// The element types of the distributed losses: Float and Double.
public typealias DistributedScalar = BinaryFloatingPoint & Real & CommunicatorScalar

/// Softmax cross-entropy over logits whose classes are split across ranks (tensor
/// parallelism's vocabulary sharding), optionally over a batch split across data-parallel
/// ranks too, equal to ``SoftmaxCrossEntropy``'s loss and gradient on the whole problem.
///
/// Each rank of the `vocabulary` communicator holds the logits of its contiguous slice of the
/// `V` classes (``VocabularyPartition``: the classes on the last axis, `[..., V_r]`), every
/// label of its rows (global class indices), and the class weights of its slice. Per step the
/// ranks exchange O(rows) values, never the logits:
///
/// 1. one max all-reduce of a few doubles: the agreement on errors (``DistributedError``);
/// 2. one max all-reduce of each row's log-sum-exp over the slice (`N` values);
/// 3. one sum all-reduce of each row's sum of exponentials (relative to that maximum) and
///    target logit, plus its target's class weight with class weights and its sum of (weighted)
///    logits with label smoothing (`2N` to `4N + 1` values);
/// 4. with a `data` communicator and `.mean` or `.sum`, one sum all-reduce of 4 doubles over
///    it: the loss's sums and the mean's denominators over the global batch.
///
/// Label smoothing spreads `e / V` over the global `V` (not the slice's, Megatron-LM's bug
/// NVIDIA/Megatron-LM#737), and its sum of weights runs over every class. With a `data`
/// communicator, `.mean` and `.sum` return the global batch's loss on every rank and each rank
/// the gradient of that loss with respect to its own logits: the mean divides by the global
/// count (or class-weight sum) of non-ignored labels, not each rank's own
/// (huggingface/transformers#35203). The semantics are otherwise ``SoftmaxCrossEntropy``'s with
/// class-index labels and the classes on the last axis: reduction, ignore index, label
/// smoothing, class weights, z-loss, logit soft cap and normaliser.
///
/// ```swift
/// let criterion = VocabParallelCrossEntropy(labelSmoothing: 0.1)
/// let (loss, gradient) = try criterion.lossAndGradient(
///   logits: myShard, labels: labels, classes: 50_000, vocabulary: communicator)
/// ```
public struct VocabParallelCrossEntropy: Sendable, Hashable {
  /// How per-row losses are combined. Default `.mean`.
  public var reduction: Reduction
  /// A label value whose rows contribute nothing. Default `-100`.
  public var ignoreIndex: Int
  /// The amount `e` in [0, 1] of uniform distribution over all `V` classes mixed into the
  /// target. Default 0.
  public var labelSmoothing: Double
  /// The z-loss scale `s >= 0`: adds `s * logsumexp(x_n)^2` per non-ignored row. Default 0.
  public var zLossScale: Double
  /// The logit soft cap `c > 0`: logits become `c * tanh(x / c)` first. Default `nil` (off).
  public var logitSoftCap: Double?
  /// The denominator of `.mean`, or `nil` for the (global) batch's own. Finite and > 0.
  public var normalizer: Double?
  /// What `.mean` gives when no row of the (global) batch takes part: `.nan` (the default, as
  /// PyTorch) or `.zero`; the gradient is 0 either way.
  public var allIgnored: AllIgnoredMean

  /// Creates a vocabulary-parallel softmax cross-entropy criterion; the options are
  /// ``SoftmaxCrossEntropy``'s.
  public init(
    reduction: Reduction = .mean, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
    zLossScale: Double = 0, logitSoftCap: Double? = nil, normalizer: Double? = nil,
    allIgnored: AllIgnoredMean = .nan
  ) {
    self.allIgnored = allIgnored
    self.reduction = reduction
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossScale = zLossScale
    self.logitSoftCap = logitSoftCap
    self.normalizer = normalizer
  }

  /// The single-process criterion with the same options (classes on the last axis).
  public var singleProcess: SoftmaxCrossEntropy {
    SoftmaxCrossEntropy(
      reduction: reduction, classAxis: -1, ignoreIndex: ignoreIndex,
      labelSmoothing: labelSmoothing, zLossScale: zLossScale, logitSoftCap: logitSoftCap,
      normalizer: normalizer, allIgnored: allIgnored)
  }
}

// MARK: - Arrays

extension VocabParallelCrossEntropy {
  /// The loss of this rank's slice of the logits; the same value on every rank for `.mean` and
  /// `.sum` (and on every rank of a vocabulary group for `.none`).
  ///
  /// - Parameters:
  ///   - logits: This rank's logits, `[..., V_r]`, `V_r` the size of its slice of
  ///     ``VocabularyPartition`` (`classes` over `vocabulary.size` ranks).
  ///   - labels: Global class indices in `0..<classes` (or ``ignoreIndex``), shaped like
  ///     `logits` without its last axis; the same on every rank of the vocabulary group.
  ///   - classes: The global number of classes `V`, >= 1.
  ///   - classWeights: This rank's slice of the per-class weights (`V_r` values), or `nil`.
  ///   - sampleWeights: Optional per-sample weights, shaped like `labels` (the same on every
  ///     rank of the vocabulary group): each multiplies its row's loss, and `.mean` divides by
  ///     `sum s * w[y]` over the non-ignored rows, as ``SoftmaxCrossEntropy``.
  ///   - vocabulary: The ranks that share these rows, each holding one slice of the classes.
  ///   - data: The ranks that hold the same slice of the classes for other rows of the batch,
  ///     or `nil` when the batch is not split.
  /// - Returns: A 0-dimensional array for `.mean` and `.sum`; one loss per label for `.none`.
  /// - Throws: ``DistributedError``, on every rank alike.
  public func loss<Scalar: DistributedScalar>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classes: Int,
    classWeights: [Scalar]? = nil, sampleWeights: ShapedArray<Scalar>? = nil,
    vocabulary: any Communicator, data: (any Communicator)? = nil
  ) throws(DistributedError) -> ShapedArray<Scalar> {
    try evaluate(
      logits: logits, labels: labels, classes: classes, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: nil, vocabulary: vocabulary, data: data,
      wantsGradient: false
    ).loss
  }

  /// The loss and its gradient with respect to this rank's slice of the logits; see
  /// ``loss(logits:labels:classes:classWeights:sampleWeights:vocabulary:data:)``.
  ///
  /// - Parameter upstreamGradient: Optional gradient of a later computation with respect to the
  ///   loss, shaped like the loss (like `labels` for `.none`, 0-dimensional otherwise), as
  ///   ``SoftmaxCrossEntropy``'s.
  /// - Returns: The loss and a gradient shaped like `logits`: this rank's columns of the
  ///   single-process gradient (of the global batch's loss, with a `data` communicator).
  /// - Throws: ``DistributedError``, on every rank alike.
  public func lossAndGradient<Scalar: DistributedScalar>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classes: Int,
    classWeights: [Scalar]? = nil, sampleWeights: ShapedArray<Scalar>? = nil,
    upstreamGradient: ShapedArray<Scalar>? = nil, vocabulary: any Communicator,
    data: (any Communicator)? = nil
  ) throws(DistributedError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      logits: logits, labels: labels, classes: classes, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, vocabulary: vocabulary,
      data: data, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: DistributedScalar>(
    logits: ShapedArray<Scalar>, labels: ShapedArray<Int>, classes: Int, classWeights: [Scalar]?,
    sampleWeights: ShapedArray<Scalar>?, upstreamGradient: ShapedArray<Scalar>?,
    vocabulary: any Communicator, data: (any Communicator)?, wantsGradient: Bool
  ) throws(DistributedError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    var shapeError: LossError? = nil
    if logits.shape.isEmpty {
      shapeError = LossError(.invalidAxis, "logits are 0-dimensional; expected [..., classes]")
    } else if labels.shape != Array(logits.shape.dropLast()) {
      shapeError = LossError(
        .shapeMismatch,
        "labels shape \(labels.shape) does not match logits shape \(logits.shape) without its"
          + " last axis")
    } else if let sampleWeights, sampleWeights.shape != labels.shape {
      shapeError = LossError(
        .shapeMismatch,
        "sample weights shape \(sampleWeights.shape) does not match labels shape \(labels.shape)")
    } else if let upstreamGradient,
      upstreamGradient.shape != (reduction == .none ? labels.shape : [])
    {
      shapeError = LossError(
        .shapeMismatch,
        "upstream gradient shape \(upstreamGradient.shape) does not match the loss's,"
          + " \(reduction == .none ? labels.shape : [])")
    }
    let rowShape = logits.shape.isEmpty ? [] : Array(logits.shape.dropLast())
    let rows = rowShape.reduce(1, *)
    var loss = [Scalar](repeating: 0, count: reduction == .none ? rows : 1)
    var gradient = wantsGradient ? [Scalar](repeating: 0, count: logits.scalars.count) : nil
    try logits.withUnsafeBufferPointer { x throws(DistributedError) in
      try labels.withUnsafeBufferPointer { y throws(DistributedError) in
        try withOptional(classWeights) { w throws(DistributedError) in
          try withOptional(sampleWeights?.scalars) { s throws(DistributedError) in
            try withOptional(upstreamGradient?.scalars) { u throws(DistributedError) in
              try loss.withUnsafeMutableBufferPointer { l throws(DistributedError) in
                try withOptionalMutable(&gradient) { g throws(DistributedError) in
                  try compute(
                    logits: x, shape: logits.shape.isEmpty ? [1] : logits.shape, labels: y,
                    classes: classes, classWeights: w, sampleWeights: s, upstreamGradient: u,
                    vocabulary: vocabulary, data: data, loss: l, gradient: g,
                    earlierError: shapeError)
                }
              }
            }
          }
        }
      }
    }
    return (
      try! ShapedArray(shape: reduction == .none ? rowShape : [], scalars: loss),
      gradient.map { try! ShapedArray(shape: logits.shape, scalars: $0) }
    )
  }
}

// MARK: - Buffers

extension VocabParallelCrossEntropy {
  /// Writes the loss of this rank's slice of the logits, and optionally the gradient with
  /// respect to it, into caller buffers; see
  /// ``lossAndGradient(logits:labels:classes:classWeights:sampleWeights:upstreamGradient:vocabulary:data:)``.
  ///
  /// - Parameters:
  ///   - logits: This rank's logits in row-major order.
  ///   - shape: Their shape, `[..., V_r]`.
  ///   - labels: Global class indices, one per row.
  ///   - classes: The global number of classes `V`.
  ///   - classWeights: This rank's slice of the class weights, or `nil`.
  ///   - sampleWeights: One weight per row, or `nil`.
  ///   - upstreamGradient: The loss's upstream gradient (one value per row for `.none`, else
  ///     one), or `nil`; used only with a gradient.
  ///   - vocabulary: The ranks that share these rows.
  ///   - data: The data-parallel ranks of the same slice, or `nil`.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient, as many elements as `logits` (not the same memory),
  ///     or `nil`.
  /// - Throws: ``DistributedError``, on every rank alike; nothing is written when it throws.
  public func lossAndGradient<Scalar: DistributedScalar>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classes: Int, classWeights: UnsafeBufferPointer<Scalar>? = nil,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    vocabulary: any Communicator, data: (any Communicator)? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(DistributedError) {
    try compute(
      logits: logits, shape: shape, labels: labels, classes: classes, classWeights: classWeights,
      sampleWeights: sampleWeights, upstreamGradient: upstreamGradient, vocabulary: vocabulary,
      data: data, loss: loss, gradient: gradient, earlierError: nil)
  }
}

// MARK: - The one core

extension VocabParallelCrossEntropy {
  /// The local checks of one rank: every buffer against the rank's slice, the labels, the
  /// options (with ``SoftmaxCrossEntropy``'s own messages).
  func check(
    count: Int, shape: [Int], labels: UnsafeBufferPointer<Int>, classes: Int,
    classWeights: Int?, sampleWeights: Int? = nil, upstreamGradient: Int? = nil,
    vocabulary: any Communicator, lossCount: Int, gradientCount: Int?
  ) throws(LossError) -> (rows: Int, slice: Range<Int>) {
    let probe = try! ShapedArray<Double>(shape: [1, 1], scalars: [0])
    _ = try singleProcess.loss(logits: probe, labels: ShapedArray([0]))
    guard classes >= 1 else {
      throw LossError(.emptyClassDimension, "classes is \(classes); expected at least 1")
    }
    let slice = VocabularyPartition(classes: classes, ranks: vocabulary.size)
      .range(of: vocabulary.rank)
    guard let local = shape.last, shape.allSatisfy({ $0 >= 0 }) else {
      throw LossError(.invalidAxis, "logits shape \(shape) has no class axis")
    }
    guard local == slice.count else {
      throw LossError(
        .shapeMismatch,
        "logits hold \(local) classes on their last axis but this rank's slice of \(classes)"
          + " classes over \(vocabulary.size) ranks is \(slice.lowerBound)..<\(slice.upperBound)"
          + " (\(slice.count) classes)")
    }
    let rows = shape.dropLast().reduce(1, *)
    guard count == rows * local else {
      throw LossError(
        .shapeMismatch, "logits hold \(count) elements but shape \(shape) needs \(rows * local)")
    }
    guard labels.count == rows else {
      throw LossError(.shapeMismatch, "labels hold \(labels.count) elements; expected \(rows)")
    }
    if let classWeights, classWeights != local {
      throw LossError(
        .shapeMismatch,
        "class weights hold \(classWeights) elements; expected \(local), this rank's slice")
    }
    let expectedLoss = reduction == .none ? rows : 1
    if let sampleWeights, sampleWeights != rows {
      throw LossError(
        .shapeMismatch, "sample weights hold \(sampleWeights) elements; expected \(rows)")
    }
    if let upstreamGradient, upstreamGradient != expectedLoss {
      throw LossError(
        .shapeMismatch,
        "upstream gradient holds \(upstreamGradient) elements; expected \(expectedLoss)")
    }
    guard lossCount == expectedLoss else {
      throw LossError(.shapeMismatch, "loss holds \(lossCount) elements; expected \(expectedLoss)")
    }
    if let gradientCount, gradientCount != count {
      throw LossError(
        .shapeMismatch, "gradient holds \(gradientCount) elements; expected \(count)")
    }
    for (row, label) in labels.enumerated()
    where label != ignoreIndex && (label < 0 || label >= classes) {
      throw LossError(
        .labelOutOfRange,
        "label \(label) at row \(row) is outside 0..<\(classes) (ignore index \(ignoreIndex))")
    }
    return (rows, slice)
  }

  /// The values every rank of a group must give alike.
  func checks(rows: Int?, classes: Int, weighted: Bool, sampled: Bool) -> [Agreement.Check] {
    var checks = [
      Agreement.Check(name: "the number of classes", value: Double(classes)),
      Agreement.Check(
        name: "the reduction", value: Double(Reduction.allCases.firstIndex(of: reduction)!)),
      Agreement.Check(name: "whether there are class weights", value: weighted ? 1 : 0),
      Agreement.Check(name: "whether there are sample weights", value: sampled ? 1 : 0),
      Agreement.Check(name: "the label smoothing", value: labelSmoothing),
      Agreement.Check(name: "the z-loss scale", value: zLossScale),
      Agreement.Check(name: "the logit soft cap", value: logitSoftCap ?? 0),
      Agreement.Check(name: "the normalizer", value: normalizer ?? 0),
      Agreement.Check(name: "the ignore index", value: Double(ignoreIndex)),
      Agreement.Check(name: "the all-ignored mean", value: allIgnored == .nan ? 0 : 1),
    ]
    if let rows {
      checks.insert(Agreement.Check(name: "the number of rows", value: Double(rows)), at: 0)
    }
    return checks
  }

  /// Validates on every rank, agrees on errors, then computes.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: DistributedScalar>(
    logits: UnsafeBufferPointer<Scalar>, shape: [Int], labels: UnsafeBufferPointer<Int>,
    classes: Int, classWeights: UnsafeBufferPointer<Scalar>?,
    sampleWeights: UnsafeBufferPointer<Scalar>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, vocabulary: any Communicator,
    data: (any Communicator)?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?, earlierError: LossError?
  ) throws(DistributedError) {
    let step = try agreedStep(
      count: logits.count, shape: shape, labels: labels, classes: classes,
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: gradient == nil ? nil : upstreamGradient, vocabulary: vocabulary,
      data: data, lossCount: loss.count, gradientCount: gradient?.count,
      earlierError: earlierError)
    do {
      try step.run(
        logits: logits, vocabulary: vocabulary, data: data, loss: loss, gradient: gradient)
    } catch {
      throw .communication(error)
    }
  }

  /// Checks this rank's input, agrees with every rank of `vocabulary` (and of `data`) on the
  /// outcome and on the values they must give alike (with `extraChecks` for the vocabulary
  /// group), and returns the step of the agreed input; throws the same error on every rank.
  func agreedStep<Scalar: DistributedScalar>(
    count: Int, shape: [Int], labels: UnsafeBufferPointer<Int>, classes: Int,
    classWeights: UnsafeBufferPointer<Scalar>?, sampleWeights: UnsafeBufferPointer<Scalar>?,
    upstreamGradient: UnsafeBufferPointer<Scalar>?, vocabulary: any Communicator,
    data: (any Communicator)?, lossCount: Int, gradientCount: Int?, earlierError: LossError?,
    extraChecks: [Agreement.Check] = []
  ) throws(DistributedError) -> VocabParallelStep<Scalar> {
    var localError = earlierError
    var rows = labels.count
    var slice = 0..<0
    if localError == nil {
      do {
        (rows, slice) = try check(
          count: count, shape: shape, labels: labels, classes: classes,
          classWeights: classWeights?.count, sampleWeights: sampleWeights?.count,
          upstreamGradient: upstreamGradient?.count, vocabulary: vocabulary,
          lossCount: lossCount, gradientCount: gradientCount)
      } catch {
        localError = error
      }
    }
    if let error = localError {
      let prefix =
        "rank \(vocabulary.rank) of \(vocabulary.size)"
        + (data.map { ", data-parallel rank \($0.rank) of \($0.size)" } ?? "")
      localError = LossError(error.kind, prefix + ": " + error.message)
    }
    var groups = [
      (
        communicator: vocabulary,
        checks: checks(
          rows: rows, classes: classes, weighted: classWeights != nil,
          sampled: sampleWeights != nil) + extraChecks
      )
    ]
    if let data {
      groups.append(
        (
          data,
          checks(
            rows: nil, classes: classes, weighted: classWeights != nil,
            sampled: sampleWeights != nil)
        ))
    }
    try Agreement.agree(localError, groups: groups)
    return VocabParallelStep(
      criterion: self, rows: rows, slice: slice, classes: classes, labels: labels,
      classWeights: classWeights, sampleWeights: sampleWeights,
      upstreamGradient: upstreamGradient)
  }
}

func withOptional<Scalar, R, E: Error>(
  _ array: [Scalar]?, _ body: (UnsafeBufferPointer<Scalar>?) throws(E) -> R
) throws(E) -> R {
  guard let array else { return try body(nil) }
  return try array.withUnsafeBufferPointer { buffer throws(E) in try body(buffer) }
}

func withOptionalMutable<Scalar, R, E: Error>(
  _ array: inout [Scalar]?, _ body: (UnsafeMutableBufferPointer<Scalar>?) throws(E) -> R
) throws(E) -> R {
  guard array != nil else { return try body(nil) }
  return try array!.withUnsafeMutableBufferPointer { buffer throws(E) in try body(buffer) }
}
