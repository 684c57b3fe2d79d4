/// The target of a softmax cross-entropy call, after validation.
enum SoftmaxTarget<Scalar> {
  /// One class index per row; rows whose label is the ignore index are skipped.
  case labels(UnsafeBufferPointer<Int>)
  /// A distribution per row, laid out like the logits.
  case probabilities(UnsafeBufferPointer<Scalar>)
}

/// Everything a softmax cross-entropy kernel needs besides the data, validated.
struct SoftmaxProblem: Sendable {
  var layout: ClassLayout
  var ignoreIndex: Int
  var labelSmoothing: Double
  var reduction: Reduction
  /// The z-loss scale `s`: adds `s * lse^2` per non-ignored row (0: off).
  var zLossScale: Double = 0
  /// The soft cap `c`: logits become `c * tanh(x / c)` first (nil: off).
  var logitSoftCap: Double? = nil
  /// The denominators of `.mean`, when given instead of counted from this call's targets: a
  /// caller's normaliser, or the whole batch's when the call is one chunk of it (nil: count).
  var denominators: MeanDenominators? = nil
  /// The sample weights and upstream gradient of the rows (nil: none). With them, `.mean`
  /// takes its denominators from ``denominators``, which the caller sets.
  var rowScales: RowScales? = nil
  /// What `.mean` gives when its own denominator is 0 (``resolvingEmptyMean(target:classWeights:)``).
  var allIgnored: AllIgnoredMean = .nan
  /// Where ``FusedSoftmax`` writes the statistics of each row, if the caller asked for them and
  /// the kernel takes them (``Kernels/takesStatistics(_:problem:)``; nil: none).
  var statistics: SoftmaxStatisticsOutput? = nil

  /// Whether the problem uses the logit options (z-loss, soft-capping). ``Reference`` and the
  /// fused class-axis-last kernels (``FusedSoftmax``, labels and probabilities, every element
  /// type) implement them; any other fast path must hand such problems to ``Reference``.
  var hasLogitOptions: Bool { zLossScale != 0 || logitSoftCap != nil }
}

/// The denominators of a `.mean`: the cross-entropy term's (the weighted count of non-ignored
/// labels, or the row count for probability targets) and the z-loss term's (the count of
/// non-ignored rows). A caller's normaliser sets both to its value.
struct MeanDenominators: Sendable, Hashable {
  var loss: Double
  var zLoss: Double

  init(loss: Double, zLoss: Double) {
    self.loss = loss
    self.zLoss = zLoss
  }

  /// Both denominators set to a caller's normaliser.
  init(normalizer: Double) {
    self.init(loss: normalizer, zLoss: normalizer)
  }
}

extension SoftmaxProblem {
  /// What label smoothing adds to the fused kernels' exp pass and gradient: the side sum of
  /// the row (plain, or weighted by the class weights), the total weight of that sum, and the
  /// gradient's addend per class with its total.
  struct SmoothingTerms {
    var side = FusedRows.Side.none
    var sideWeightTotal: Double
    var addend = FusedRows.Addend.none
    var addendTotal = 0.0
    /// The per-class addends of weighted smoothing, which the caller deallocates.
    var perClass: UnsafeMutableBufferPointer<Float>? = nil
  }

  /// The smoothing terms of this problem for the mean's `scale` (1 / denominator, or 1), in
  /// the reference's order of operations; no side sum and no addend without smoothing.
  func smoothingTerms(classWeights: UnsafeBufferPointer<Float>?, scale: Double) -> SmoothingTerms {
    let classes = layout.classes
    var terms = SmoothingTerms(sideWeightTotal: Double(classes))
    guard labelSmoothing > 0 else { return terms }
    if let classWeights {
      terms.side = .weighted(classWeights.baseAddress!)
      terms.sideWeightTotal = 0
      for w in classWeights { terms.sideWeightTotal += Double(w) }
      let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: classes)
      for c in 0..<classes {
        let value = labelSmoothing / Double(classes) * (Double(classWeights[c]) * -scale)
        values[c] = Float(value)
        terms.addendTotal += value
      }
      terms.perClass = values
      terms.addend = .perClass(UnsafePointer(values.baseAddress!))
    } else {
      terms.side = .plain
      let value = labelSmoothing / Double(classes) * -scale
      terms.addend = .constant(Float(value))
      terms.addendTotal = value * Double(classes)
    }
    return terms
  }
}

extension SoftmaxProblem {
  /// This problem with the denominators of a `.mean` over sample weights, unless a caller's
  /// normaliser (or a whole batch's denominators) already sets them: the sum over non-ignored
  /// rows of the sample weight times the class weight of the label (the sum of the sample
  /// weights for probability targets), and for the z-loss the sum of their sample weights.
  func weighingRows<Scalar: BinaryFloatingPoint>(
    target: SoftmaxTarget<Scalar>, classWeights: UnsafeBufferPointer<Scalar>?
  ) -> SoftmaxProblem {
    guard let rowScales, rowScales.loss != nil, denominators == nil, reduction == .mean else {
      return self
    }
    var labels: UnsafeBufferPointer<Int>? = nil
    if case .labels(let l) = target { labels = l }
    let counts = rowScales.weightedCounts(
      rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex,
      classWeight: { c in classWeights.map { Double($0[c]) } ?? 1 })
    var problem = self
    problem.denominators = MeanDenominators(loss: counts.weighted, zLoss: counts.plain)
    return problem
  }

  /// This problem with the denominators that ``AllIgnoredMean/zero`` needs when a `.mean`'s own
  /// count is 0 (each 0 replaced by 1), after ``weighingRows(target:classWeights:)``; otherwise
  /// unchanged, so that the kernels count as usual.
  func resolvingEmptyMean<Scalar: BinaryFloatingPoint>(
    target: SoftmaxTarget<Scalar>, classWeights: UnsafeBufferPointer<Scalar>?
  ) -> SoftmaxProblem {
    guard allIgnored == .zero, reduction == .mean else { return self }
    var counts = denominators
    if counts == nil {
      var labels: UnsafeBufferPointer<Int>? = nil
      if case .labels(let l) = target { labels = l }
      let counted = RowScales(loss: nil, gradient: nil).weightedCounts(
        rows: layout.rows, labels: labels, ignoreIndex: ignoreIndex,
        classWeight: { c in classWeights.map { Double($0[c]) } ?? 1 })
      counts = MeanDenominators(loss: counted.weighted, zLoss: counted.plain)
    }
    guard let counts, counts.loss == 0 || counts.zLoss == 0 else { return self }
    var problem = self
    problem.denominators = allIgnored.denominators(counts)
    return problem
  }
}
