/// A weight of binary cross-entropy: its values, its shape, and how it broadcasts to the target.
struct BinaryWeightArgument<Scalar> {
  let values: UnsafeBufferPointer<Scalar>
  let shape: [Int]
  let index: BroadcastIndex
}

extension Kernels {
  /// Binary cross-entropy: from logits through
  /// ``binaryCrossEntropyWithLogits(logits:targets:shape:count:weight:positiveWeight:reduction:loss:gradient:threads:)``,
  /// from probabilities by the reference. Writes `loss` (one value per element for `.none`,
  /// else 1) and, when not nil, the gradient (which may be `input`), times the upstream
  /// gradient when there is one (one value per element for `.none`, else 1). `.mean` divides
  /// by `normalizer` when it is not nil, else by `count`.
  static func binaryCrossEntropy<Scalar: BinaryFloatingPoint>(
    _ kind: BinaryInputKind, input: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>,
    shape: [Int], count: Int, weight: BinaryWeightArgument<Scalar>?,
    positiveWeight: BinaryWeightArgument<Scalar>?, reduction: Reduction,
    normalizer: Double? = nil, upstream: UnsafePointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?
  ) {
    switch kind {
    case .logits:
      binaryCrossEntropyWithLogits(
        logits: input, targets: targets, shape: shape, count: count, weight: weight,
        positiveWeight: positiveWeight, reduction: reduction, normalizer: normalizer,
        upstream: upstream, loss: loss, gradient: gradient)
    case .probabilities:
      Reference.binaryCrossEntropy(
        .probabilities, input: UnsafeBufferPointer(start: input, count: count),
        targets: UnsafeBufferPointer(start: targets, count: count),
        weight: weight.map { ($0.values, $0.index) }, positiveWeight: nil, shape: shape,
        reduction: reduction, normalizer: normalizer, upstream: upstream, loss: loss,
        gradient: gradient.map { UnsafeMutableBufferPointer(start: $0, count: count) })
    }
  }

  /// Binary cross-entropy with logits: the fused kernel for fp32 (and Float16) inputs whose
  /// weights repeat along the flattened elements, else the reference. Writes `loss` (one value
  /// per element for `.none`, else 1) and, when not nil, the gradient (which may be `logits`),
  /// times the upstream gradient when there is one (one value per element for `.none`, else 1;
  /// the fused kernel multiplies each element's derivative by it as it stores it). `.mean`
  /// divides by `normalizer` when it is not nil, else by `count`. `threads` overrides the
  /// thread count (tests).
  static func binaryCrossEntropyWithLogits<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, shape: [Int], count: Int,
    weight: BinaryWeightArgument<Scalar>?, positiveWeight: BinaryWeightArgument<Scalar>?,
    reduction: Reduction, normalizer: Double? = nil, upstream: UnsafePointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?, threads: Int? = nil
  ) {
    if count > 0 {
      // The fused kernel is called with concrete types only (no `Scalar` in its substitutions),
      // so that its specialisations are used even where this function runs unspecialised (a
      // generic public entry point called from another module).
      var total: Double? = nil
      if Scalar.self == Float.self {
        total = fusedBinary(
          FloatStorage.self, logits: cast(logits, to: Float.self),
          targets: cast(targets, to: Float.self), shape: shape, count: count,
          weight: cast(weight, to: Float.self),
          positiveWeight: cast(positiveWeight, to: Float.self),
          reduction: reduction, mean: normalizer ?? Double(count),
          upstream: upstream.map { cast($0, to: Float.self) },
          loss: cast(loss, to: Float.self),
          gradient: gradient.map { cast($0, to: Float.self) }, threads: threads)
      }
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        if Scalar.self == Float16.self {
          total = fusedBinary(
            HalfStorage.self, logits: cast(logits, to: Float16.self),
            targets: cast(targets, to: Float16.self), shape: shape, count: count,
            weight: cast(weight, to: Float16.self),
            positiveWeight: cast(positiveWeight, to: Float16.self), reduction: reduction,
            mean: normalizer ?? Double(count),
            upstream: upstream.map { cast($0, to: Float16.self) },
            loss: cast(loss, to: Float16.self),
            gradient: gradient.map { cast($0, to: Float16.self) },
            threads: threads)
        }
      #endif
      if let total {
        if reduction != .none {
          loss[0] = Scalar(reduction == .mean ? total / (normalizer ?? Double(count)) : total)
        }
        return
      }
    }
    let weightValues: (UnsafeBufferPointer<Scalar>, BroadcastIndex)? = weight.map {
      ($0.values, $0.index)
    }
    let positiveValues: (UnsafeBufferPointer<Scalar>, BroadcastIndex)? = positiveWeight.map {
      ($0.values, $0.index)
    }
    let gradientBuffer: UnsafeMutableBufferPointer<Scalar>? = gradient.map {
      UnsafeMutableBufferPointer(start: $0, count: count)
    }
    Reference.binaryCrossEntropy(
      .logits, input: UnsafeBufferPointer(start: logits, count: count),
      targets: UnsafeBufferPointer(start: targets, count: count), weight: weightValues,
      positiveWeight: positiveValues, shape: shape, reduction: reduction, normalizer: normalizer,
      upstream: upstream, loss: loss, gradient: gradientBuffer)
  }

  /// Runs ``FusedBinaryCrossEntropy`` on elements stored as `S` and returns the sum of the
  /// losses (per-element losses, for `.none`, and the gradient are written); nil, with nothing
  /// written, when a weight does not repeat along the elements. `mean` is the denominator of
  /// `.mean`.
  private static func fusedBinary<S: KernelStorage>(
    _: S.Type, logits: UnsafePointer<S.Stored>, targets: UnsafePointer<S.Stored>, shape: [Int],
    count: Int, weight: BinaryWeightArgument<S.Stored>?,
    positiveWeight: BinaryWeightArgument<S.Stored>?, reduction: Reduction, mean: Double,
    upstream: UnsafePointer<S.Stored>?, loss: UnsafeMutableBufferPointer<S.Stored>,
    gradient: UnsafeMutablePointer<S.Stored>?, threads: Int?
  ) -> Double? {
    /// The period of a weight, or nil when the fused kernel cannot read it.
    func period(_ w: BinaryWeightArgument<S.Stored>?) -> Int?? {
      guard let w else { return .some(nil) }
      guard let period = FusedBinaryCrossEntropy.period(source: w.shape, target: shape),
        period == count || period <= FusedBinaryCrossEntropy.longestRepeatedWeight
      else { return nil }
      return .some(period)
    }
    guard let weightPeriod = period(weight), let positivePeriod = period(positiveWeight) else {
      return nil
    }
    // Short periods get a wrap-around copy (O(period) memory), so that every vector load of
    // weights is one load.
    var copies: [UnsafeMutableBufferPointer<S.Stored>] = []
    defer { copies.forEach { $0.deallocate() } }
    func repeating(
      _ w: BinaryWeightArgument<S.Stored>?, _ period: Int?
    ) -> FusedBinaryCrossEntropy.RepeatingWeight<S>? {
      guard let w, let period, let source = w.values.baseAddress else { return nil }
      if period == count {
        return FusedBinaryCrossEntropy.RepeatingWeight(values: source, period: period)
      }
      let copy = UnsafeMutableBufferPointer<S.Stored>.allocate(capacity: period + 16)
      for j in 0..<(period + 16) { copy.initializeElement(at: j, to: source[j % period]) }
      copies.append(copy)
      return FusedBinaryCrossEntropy.RepeatingWeight(
        values: UnsafePointer(copy.baseAddress!), period: period)
    }
    // A reduced loss's upstream gradient is one value: it joins the reduction's factor.
    var gradientScale = reduction == .mean ? 1 / mean : 1
    if reduction != .none, let upstream { gradientScale *= Double(S.float(upstream[0])) }
    return FusedBinaryCrossEntropy.run(
      S.self, logits: logits, targets: targets, count: count,
      weight: repeating(weight, weightPeriod),
      positiveWeight: repeating(positiveWeight, positivePeriod),
      gradientScale: Float(gradientScale),
      loss: reduction == .none ? loss.baseAddress! : nil, gradient: gradient,
      upstream: reduction == .none ? upstream : nil, threads: threads)
  }

  /// Reinterprets a weight argument's values (the caller has checked that `T` is `U`).
  @inline(__always)
  private static func cast<T, U>(
    _ w: BinaryWeightArgument<T>?, to: U.Type
  ) -> BinaryWeightArgument<U>? {
    w.map {
      BinaryWeightArgument(values: cast($0.values, to: U.self), shape: $0.shape, index: $0.index)
    }
  }
}
