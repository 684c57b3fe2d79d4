/// The arithmetic of one instantiation of ``LinearCrossEntropySchedule``: how the hidden states,
/// the classifier and its bias are stored, and the type of the logits, the gradients and the
/// loss (`Value`), with the three matrix products and the softmax cross-entropy row kernel in
/// those types.
protocol LinearHeadArithmetic {
  associatedtype Stored
  associatedtype Value: BinaryFloatingPoint

  /// `C (+)= H · Wᵀ`: `m x k` hidden rows against `n` classifier rows of `k`.
  static func logits(
    m: Int, n: Int, k: Int, hidden: UnsafePointer<Stored>, lda: Int,
    weight: UnsafePointer<Stored>, ldb: Int, c: UnsafeMutablePointer<Value>, ldc: Int,
    accumulate: Bool)

  /// `C (+)= G · W`: `m x k` logit gradients against `k x n` classifier rows.
  static func hiddenGradient(
    m: Int, n: Int, k: Int, g: UnsafePointer<Value>, lda: Int, weight: UnsafePointer<Stored>,
    ldb: Int, c: UnsafeMutablePointer<Value>, ldc: Int, accumulate: Bool)

  /// `C (+)= Gᵀ · H`: the transpose of `k x m` logit gradients against `k x n` hidden rows.
  static func weightGradient(
    m: Int, n: Int, k: Int, g: UnsafePointer<Value>, lda: Int, hidden: UnsafePointer<Stored>,
    ldb: Int, c: UnsafeMutablePointer<Value>, ldc: Int, accumulate: Bool)

  /// One stored element (a bias) as a value.
  static func value(_ x: Stored) -> Value

  /// The softmax cross-entropy of `problem`'s full rows of logits with class-index labels,
  /// overwriting the logits with their gradient when `gradient` is true, and writing each
  /// row's statistics into `statistics` if it is not nil (the loss and gradient are the same
  /// bits either way).
  static func softmaxCrossEntropy(
    logits: UnsafeMutablePointer<Value>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Value>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Value>, gradient: Bool,
    statistics: UnsafeMutablePointer<RowStatistics>?)

  /// The log-sum-exp of each kept row of (soft-capped) logits, 0 for the others.
  static func logSumExps(
    _ logits: UnsafePointer<Value>, rows: Int, classes: Int, softCap: Double?, kept: [Bool]
  ) -> [Double]
}

/// fp32 logits, gradients and loss from hidden states and a classifier stored as `E` (fp32,
/// float16 or bfloat16): the products in fp32, the row kernel ``FusedSoftmax``.
enum FloatHead<E: KernelStorage>: LinearHeadArithmetic {
  typealias Stored = E.Stored
  typealias Value = Float

  static func logits(
    m: Int, n: Int, k: Int, hidden: UnsafePointer<Stored>, lda: Int,
    weight: UnsafePointer<Stored>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
  ) {
    GEMM.multiply(
      E.self, E.self, m: m, n: n, k: k, a: hidden, lda: lda, transposeA: false, b: weight,
      ldb: ldb, transposeB: true, c: c, ldc: ldc, accumulate: accumulate,
      threads: Parallelism.effectiveThreadCount)
  }

  static func hiddenGradient(
    m: Int, n: Int, k: Int, g: UnsafePointer<Float>, lda: Int, weight: UnsafePointer<Stored>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
  ) {
    GEMM.multiply(
      FloatStorage.self, E.self, m: m, n: n, k: k, a: g, lda: lda, transposeA: false, b: weight,
      ldb: ldb, transposeB: false, c: c, ldc: ldc, accumulate: accumulate,
      threads: Parallelism.effectiveThreadCount)
  }

  static func weightGradient(
    m: Int, n: Int, k: Int, g: UnsafePointer<Float>, lda: Int, hidden: UnsafePointer<Stored>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
  ) {
    GEMM.multiply(
      FloatStorage.self, E.self, m: m, n: n, k: k, a: g, lda: lda, transposeA: true, b: hidden,
      ldb: ldb, transposeB: false, c: c, ldc: ldc, accumulate: accumulate,
      threads: Parallelism.effectiveThreadCount)
  }

  @inline(__always)
  static func value(_ x: Stored) -> Float { E.float(x) }

  static func softmaxCrossEntropy(
    logits: UnsafeMutablePointer<Float>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Float>, gradient: Bool,
    statistics: UnsafeMutablePointer<RowStatistics>?
  ) {
    var problem = problem
    if let statistics {
      // The fused passes gather them, except on soft-capped rows: those take the reference's,
      // before the gradient overwrites the logits.
      if problem.logitSoftCap == nil {
        problem.statistics = SoftmaxStatisticsOutput(rows: statistics)
      } else {
        Reference.softmaxStatistics(
          logits: UnsafePointer(logits), labels: labels, problem: problem, into: statistics)
      }
    }
    FusedSoftmax.run(
      logits: UnsafePointer(logits), labels: labels, classWeights: classWeights, problem: problem,
      loss: loss, gradient: gradient ? logits : nil, FloatStorage.self)
  }

  static func logSumExps(
    _ logits: UnsafePointer<Float>, rows: Int, classes: Int, softCap: Double?, kept: [Bool]
  ) -> [Double] {
    FusedSoftmax.logSumExps(
      logits, rows: rows, classes: classes, softCap: softCap, kept: kept, FloatStorage.self)
  }
}

/// Double throughout (float64 parity with PyTorch): the Double products, the row kernel of the
/// Double dispatch (``FusedSoftmaxDouble``, or ``Reference`` with the logit options).
enum DoubleHead: LinearHeadArithmetic {
  typealias Stored = Double
  typealias Value = Double

  static func logits(
    m: Int, n: Int, k: Int, hidden: UnsafePointer<Double>, lda: Int,
    weight: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int,
    accumulate: Bool
  ) {
    GEMM.multiply(
      m: m, n: n, k: k, a: hidden, lda: lda, transposeA: false, b: weight, ldb: ldb,
      transposeB: true, c: c, ldc: ldc, accumulate: accumulate,
      threads: Parallelism.effectiveThreadCount)
  }

  static func hiddenGradient(
    m: Int, n: Int, k: Int, g: UnsafePointer<Double>, lda: Int, weight: UnsafePointer<Double>,
    ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool
  ) {
    GEMM.multiply(
      m: m, n: n, k: k, a: g, lda: lda, transposeA: false, b: weight, ldb: ldb,
      transposeB: false, c: c, ldc: ldc, accumulate: accumulate,
      threads: Parallelism.effectiveThreadCount)
  }

  static func weightGradient(
    m: Int, n: Int, k: Int, g: UnsafePointer<Double>, lda: Int, hidden: UnsafePointer<Double>,
    ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool
  ) {
    GEMM.multiply(
      m: m, n: n, k: k, a: g, lda: lda, transposeA: true, b: hidden, ldb: ldb,
      transposeB: false, c: c, ldc: ldc, accumulate: accumulate,
      threads: Parallelism.effectiveThreadCount)
  }

  @inline(__always)
  static func value(_ x: Double) -> Double { x }

  static func softmaxCrossEntropy(
    logits: UnsafeMutablePointer<Double>, labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Double>?, problem: SoftmaxProblem,
    loss: UnsafeMutableBufferPointer<Double>, gradient: Bool,
    statistics: UnsafeMutablePointer<RowStatistics>?
  ) {
    if let statistics {
      Kernels.softmaxCrossEntropy(
        logits: UnsafePointer(logits), labels: labels, classWeights: classWeights,
        problem: problem, loss: loss, gradient: gradient ? logits : nil, statistics: statistics)
    } else {
      Kernels.softmaxCrossEntropy(
        logits: UnsafePointer(logits), target: .labels(labels), classWeights: classWeights,
        problem: problem, loss: loss, gradient: gradient ? logits : nil)
    }
  }

  static func logSumExps(
    _ logits: UnsafePointer<Double>, rows: Int, classes: Int, softCap: Double?, kept: [Bool]
  ) -> [Double] {
    var row = [Double](repeating: 0, count: classes)
    return (0..<rows).map { r in
      guard kept[r] else { return 0 }
      for c in 0..<classes {
        let x = logits[r * classes + c]
        row[c] = softCap.map { $0 * .tanh(x / $0) } ?? x
      }
      let lse = row.withUnsafeBufferPointer(Reference.logSumExp)
      return lse == .infinity ? .nan : lse  // as the loss: a +inf logit makes the row NaN
    }
  }
}
