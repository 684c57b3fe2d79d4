import CrossEntropy

/// Linear cross-entropy (the language-model head) with the classifier's rows split across
/// ranks: each rank holds `V_r` rows of the weight (and bias) and computes its slice of the
/// logits; the per-row log-sum-exp is combined as in ``VocabParallelCrossEntropy``.
///
/// Each rank holds every hidden state of its rows (`[..., D]`, the same on every rank of the
/// vocabulary group), its rows of the classifier (`[V_r, D]`, ``VocabularyPartition``) and of
/// the bias. It returns the loss, its slice of the weight and bias gradients (`dW_r = G_rᵀ · H`,
/// `db_r` the column sums of `G_r`) and the whole hidden gradient `dH = Σ_r G_r · W_r`, summed
/// over the vocabulary group with one all-reduce of `N x D` values: the one exchange that grows
/// with the hidden size. The slice's `N x V_r` logits are held at once (the single-process
/// ``LinearCrossEntropy`` streams them in chunks instead).
///
/// The options and semantics are ``VocabParallelCrossEntropy``'s, including the `data`
/// communicator for a batch split across data-parallel ranks.
public struct VocabParallelLinearCrossEntropy: Sendable, Hashable {
  /// The options of the softmax cross-entropy of the logits.
  public var criterion: VocabParallelCrossEntropy

  /// Creates the criterion; the options are ``VocabParallelCrossEntropy``'s.
  public init(
    reduction: Reduction = .mean, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
    zLossScale: Double = 0, logitSoftCap: Double? = nil, normalizer: Double? = nil
  ) {
    criterion = VocabParallelCrossEntropy(
      reduction: reduction, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
      zLossScale: zLossScale, logitSoftCap: logitSoftCap, normalizer: normalizer)
  }

  /// The single-process criterion with the same options.
  public var singleProcess: LinearCrossEntropy {
    LinearCrossEntropy(
      reduction: criterion.reduction, ignoreIndex: criterion.ignoreIndex,
      labelSmoothing: criterion.labelSmoothing, zLossScale: criterion.zLossScale,
      logitSoftCap: criterion.logitSoftCap, normalizer: criterion.normalizer)
  }

  /// The loss of the whole head and the gradients of this rank's part of it.
  ///
  /// - Parameters:
  ///   - hidden: The hidden states, `[..., D]`, the same on every rank of `vocabulary`.
  ///   - weight: This rank's rows of the classifier, `[V_r, D]`.
  ///   - bias: This rank's slice of the bias (`V_r` values), or `nil`.
  ///   - labels: Global class indices, shaped like `hidden` without its last axis.
  ///   - classes: The global number of classes `V`.
  ///   - classWeights: This rank's slice of the class weights, or `nil`.
  ///   - vocabulary: The ranks that share these rows, each holding a slice of the classifier.
  ///   - data: The data-parallel ranks of the same slice, or `nil`.
  /// - Returns: The loss (as ``VocabParallelCrossEntropy``), the hidden gradient (whole, the
  ///   same on every rank of `vocabulary`), and this rank's weight and bias gradients.
  /// - Throws: ``DistributedError``, on every rank alike.
  public func lossAndGradient<Scalar: DistributedScalar>(
    hidden: ShapedArray<Scalar>, weight: ShapedArray<Scalar>, bias: ShapedArray<Scalar>? = nil,
    labels: ShapedArray<Int>, classes: Int, classWeights: [Scalar]? = nil,
    vocabulary: any Communicator, data: (any Communicator)? = nil
  ) throws(DistributedError) -> (
    loss: ShapedArray<Scalar>, hiddenGradient: ShapedArray<Scalar>,
    weightGradient: ShapedArray<Scalar>, biasGradient: ShapedArray<Scalar>
  ) {
    var localError: LossError? = nil
    let size = hidden.shape.last ?? 0
    let rowShape = Array(hidden.shape.dropLast())
    let rows = rowShape.reduce(1, *)
    let local = weight.shape.first ?? 0
    if hidden.shape.isEmpty {
      localError = LossError(.invalidAxis, "hidden is 0-dimensional; expected [..., D]")
    } else if weight.shape.count != 2 || weight.shape[1] != size {
      localError = LossError(
        .shapeMismatch,
        "weight shape \(weight.shape) does not match hidden size \(size); expected [V_r, \(size)]")
    } else if let bias, bias.shape != [local] {
      localError = LossError(
        .shapeMismatch, "bias shape \(bias.shape) does not match \(local) rows of the weight")
    } else if labels.shape != rowShape {
      localError = LossError(
        .shapeMismatch,
        "labels shape \(labels.shape) does not match hidden shape \(hidden.shape) without its"
          + " last axis")
    }
    let width = localError == nil ? local : 0
    var logits = [Scalar](repeating: 0, count: localError == nil ? rows * width : 0)
    if localError == nil {
      product(
        m: rows, n: width, k: size, hidden.scalars, lda: size, transposeA: false,
        weight.scalars, ldb: size, transposeB: true, into: &logits)
      if let bias {
        for n in 0..<rows { for c in 0..<width { logits[n * width + c] += bias.scalars[c] } }
      }
    }
    var loss = [Scalar](repeating: 0, count: criterion.reduction == .none ? rows : 1)
    var gradient = [Scalar](repeating: 0, count: logits.count)
    try logits.withUnsafeBufferPointer { x throws(DistributedError) in
      try labels.withUnsafeBufferPointer { y throws(DistributedError) in
        try withOptional(classWeights) { w throws(DistributedError) in
          try loss.withUnsafeMutableBufferPointer { l throws(DistributedError) in
            try gradient.withUnsafeMutableBufferPointer { g throws(DistributedError) in
              try criterion.compute(
                logits: x, shape: [rows, width], labels: y, classes: classes, classWeights: w,
                sampleWeights: nil, upstreamGradient: nil, vocabulary: vocabulary, data: data,
                loss: l, gradient: g,
                earlierError: localError)
            }
          }
        }
      }
    }
    // dW_r = Gᵀ · H, db_r = column sums of G, dH = Σ_r G · W_r.
    var weightGradient = [Scalar](repeating: 0, count: width * size)
    var biasGradient = [Scalar](repeating: 0, count: width)
    var hiddenGradient = [Scalar](repeating: 0, count: rows * size)
    product(
      m: width, n: size, k: rows, gradient, lda: width, transposeA: true, hidden.scalars,
      ldb: size, transposeB: false, into: &weightGradient)
    product(
      m: rows, n: size, k: width, gradient, lda: width, transposeA: false, weight.scalars,
      ldb: size, transposeB: false, into: &hiddenGradient)
    for n in 0..<rows { for c in 0..<width { biasGradient[c] += gradient[n * width + c] } }
    do {
      try hiddenGradient.withUnsafeMutableBufferPointer { b throws(CommunicatorError) in
        try vocabulary.allReduce(b, .sum)
      }
    } catch {
      throw .communication(error)
    }
    return (
      try! ShapedArray(shape: criterion.reduction == .none ? rowShape : [], scalars: loss),
      try! ShapedArray(shape: hidden.shape, scalars: hiddenGradient),
      try! ShapedArray(shape: [width, size], scalars: weightGradient),
      try! ShapedArray(shape: [width], scalars: biasGradient)
    )
  }

  /// `C = op(A) · op(B)` (`m x n`, inner size `k`, row-major, `op` a transpose when asked):
  /// the package's fp32 GEMM for Float, a plain loop for Double.
  private func product<Scalar: DistributedScalar>(
    m: Int, n: Int, k: Int, _ a: [Scalar], lda: Int, transposeA: Bool, _ b: [Scalar], ldb: Int,
    transposeB: Bool, into c: inout [Scalar]
  ) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      for i in c.indices { c[i] = 0 }
      return
    }
    if let a = a as? [Float], let b = b as? [Float] {
      var result = [Float](repeating: 0, count: m * n)
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          result.withUnsafeMutableBufferPointer { r in
            MatrixProduct.multiply(
              m: m, n: n, k: k, a: a.baseAddress!, lda: lda, transposeA: transposeA,
              b: b.baseAddress!, ldb: ldb, transposeB: transposeB, c: r.baseAddress!, ldc: n,
              accumulate: false, threads: 1)
          }
        }
      }
      c = result as! [Scalar]
      return
    }
    for i in 0..<m {
      for j in 0..<n {
        var sum = Scalar.zero
        for p in 0..<k {
          sum +=
            a[transposeA ? p * lda + i : i * lda + p] * b[transposeB ? j * ldb + p : p * ldb + j]
        }
        c[i * n + j] = sum
      }
    }
  }
}
