/// A weight of binary cross-entropy: its values, its shape, and how it broadcasts to the target.
struct BinaryWeightArgument<Scalar> {
  let values: UnsafeBufferPointer<Scalar>
  let shape: [Int]
  let index: BroadcastIndex
}

extension Kernels {
  /// Binary cross-entropy with logits: the fused kernel for fp32 (and Float16) inputs whose
  /// weights repeat along the flattened elements, else the reference. Writes `loss` (one value
  /// per element for `.none`, else 1) and, when not nil, the gradient (which may be `logits`).
  /// `threads` overrides the thread count (tests).
  static func binaryCrossEntropyWithLogits<Scalar: BinaryFloatingPoint>(
    logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, shape: [Int], count: Int,
    weight: BinaryWeightArgument<Scalar>?, positiveWeight: BinaryWeightArgument<Scalar>?,
    reduction: Reduction, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutablePointer<Scalar>?, threads: Int? = nil
  ) {
    if count > 0 {
      if Scalar.self == Float.self {
        if fusedBinary(
          FloatStorage.self, logits: logits, targets: targets, shape: shape, count: count,
          weight: weight, positiveWeight: positiveWeight, reduction: reduction, loss: loss,
          gradient: gradient, threads: threads)
        {
          return
        }
      }
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        if Scalar.self == Float16.self {
          if fusedBinary(
            HalfStorage.self, logits: logits, targets: targets, shape: shape, count: count,
            weight: weight, positiveWeight: positiveWeight, reduction: reduction, loss: loss,
            gradient: gradient, threads: threads)
          {
            return
          }
        }
      #endif
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
      positiveWeight: positiveValues, shape: shape, reduction: reduction, loss: loss,
      gradient: gradientBuffer)
  }

  /// Runs ``FusedBinaryCrossEntropy`` with `Scalar` stored as `S` (the caller has checked that
  /// `Scalar` is `S.Stored`); false, with nothing written, when a weight does not repeat along
  /// the elements.
  private static func fusedBinary<Scalar: BinaryFloatingPoint, S: KernelStorage>(
    _: S.Type, logits: UnsafePointer<Scalar>, targets: UnsafePointer<Scalar>, shape: [Int],
    count: Int, weight: BinaryWeightArgument<Scalar>?,
    positiveWeight: BinaryWeightArgument<Scalar>?, reduction: Reduction,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>?,
    threads: Int?
  ) -> Bool {
    func stored(_ p: UnsafePointer<Scalar>) -> UnsafePointer<S.Stored> {
      UnsafeRawPointer(p).assumingMemoryBound(to: S.Stored.self)
    }
    func stored(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<S.Stored> {
      UnsafeMutableRawPointer(p).assumingMemoryBound(to: S.Stored.self)
    }
    /// The period of a weight, or nil when the fused kernel cannot read it.
    func period(_ w: BinaryWeightArgument<Scalar>?) -> Int?? {
      guard let w else { return .some(nil) }
      guard let period = FusedBinaryCrossEntropy.period(source: w.shape, target: shape),
        period == count || period <= FusedBinaryCrossEntropy.longestRepeatedWeight
      else { return nil }
      return .some(period)
    }
    guard let weightPeriod = period(weight), let positivePeriod = period(positiveWeight) else {
      return false
    }
    // Short periods get a wrap-around copy (O(period) memory), so that every vector load of
    // weights is one load.
    var copies: [UnsafeMutableBufferPointer<S.Stored>] = []
    defer { copies.forEach { $0.deallocate() } }
    func repeating(_ w: BinaryWeightArgument<Scalar>?, _ period: Int?) -> RepeatingWeight<S>? {
      guard let w, let period, let base = w.values.baseAddress else { return nil }
      if period == count { return RepeatingWeight(values: stored(base), period: period) }
      let copy = UnsafeMutableBufferPointer<S.Stored>.allocate(capacity: period + 16)
      let source = stored(base)
      for j in 0..<(period + 16) { copy.initializeElement(at: j, to: source[j % period]) }
      copies.append(copy)
      return RepeatingWeight(values: UnsafePointer(copy.baseAddress!), period: period)
    }
    let perElement = reduction == .none
    let total = FusedBinaryCrossEntropy.run(
      S.self, logits: stored(logits), targets: stored(targets), count: count,
      weight: repeating(weight, weightPeriod),
      positiveWeight: repeating(positiveWeight, positivePeriod),
      gradientScale: reduction == .mean ? Float(1 / Double(count)) : 1,
      loss: perElement ? stored(loss.baseAddress!) : nil, gradient: gradient.map(stored),
      threads: threads)
    if !perElement { loss[0] = Scalar(reduction == .mean ? total / Double(count) : total) }
    return true
  }
}
