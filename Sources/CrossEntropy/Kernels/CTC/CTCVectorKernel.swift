import RealModule

/// The vectorised `Float` CTC kernel: the alpha and beta recursions in log space, 16 extended
/// label positions at a time.
///
/// Each time step of the recursion depends only on the previous one, so a whole row of the
/// extended target (`2L + 1` positions) is computed with SIMD16 loads shifted by one and two
/// positions. It reproduces PyTorch's float32 `ctc_loss` (LossCTC.cpp) rather than the exact
/// answer, since PyTorch's own float32 gradient is up to ~1% from exact on long inputs:
///
/// - log alpha and log beta are stored in `Float` at their full size (up to the log-likelihood),
///   each step computed in PyTorch's order, `log((e^(a-m) + e^(b-m)) + e^(c-m)) + m + lp`, so the
///   same roundings happen at the same places. The vector `e^x` and `log x`
///   (``VectorMath/expUnfused(_:)``, ``VectorMath/logUnfusedOfOneToThree(_:)``, which round the
///   same way on every target) are within an ulp or two of libm's `expf`/`logf`, so now and then
///   a step rounds the other way.
/// - The gradient collects `alpha + beta` per class by a `Float` log-add in PyTorch's order
///   (positions from the last down, libm's `expf`/`logf`, identical to PyTorch's), then forms
///   `(e^lp - e^((collected + nll) - lp)) * g` with the loss rounded to `Float` as PyTorch's is.
/// - An impossible state is a finite sentinel (`-1e30`) instead of `-inf`, so no `-inf - -inf`
///   arises in the vector code; a row whose maximum is the sentinel means the alignment is
///   impossible and the loss is `+inf`, as in PyTorch.
///
/// Samples whose gathered log-probabilities are not finite, or larger than `1e15` in magnitude,
/// return `nil` and take the `Double` reference path instead, which reproduces PyTorch's
/// handling of `-inf`, `+inf` and NaN.
enum CTCVectorKernel {
  /// The lanes per vector.
  static let width = 16
  /// The stand-in for `log 0`.
  static let impossible: Float = -1e30
  /// Values at or below this are treated as impossible states.
  static let impossibleThreshold: Float = -5e29
  /// The largest gathered log-probability magnitude the fast path accepts.
  static let eligibleMagnitude: Float = 1e15

  /// Runs one sample: its loss and, if `gradient` is not nil, its gradient rows.
  ///
  /// - Parameters:
  ///   - input: The sample's row at `t = 0`; later rows follow at `sample.rowStride`.
  ///   - fromLogits: Whether `input` holds logits (a log-softmax comes first).
  ///   - gradient: The sample's gradient row at `t = 0`, zero-filled, or nil.
  /// - Returns: The negative log-likelihood, or nil when the sample needs the reference path.
  static func sample(
    _ sample: CTCSample, input: UnsafePointer<Float>, fromLogits: Bool,
    gradient: UnsafeMutablePointer<Float>?
  ) -> Double? {
    let length = sample.inputLength
    let classes = sample.classes
    guard length > 0 else { return nil }
    let extended = sample.extendedCount
    let rounded = (extended + width - 1) / width * width
    let pitch = rounded + width  // each alpha row: `width` lanes of padding, then `rounded`

    // Log-probabilities: the input itself, or a log-softmax of the logits.
    var ownedLogProbabilities: UnsafeMutablePointer<Float>? = nil
    defer { ownedLogProbabilities?.deallocate() }
    let logProbabilities: UnsafePointer<Float>
    let logProbabilityStride: Int
    if fromLogits {
      let buffer = UnsafeMutablePointer<Float>.allocate(capacity: length * classes)
      ownedLogProbabilities = buffer
      for t in 0..<length {
        logSoftmax(input + t * sample.rowStride, into: buffer + t * classes, count: classes)
      }
      logProbabilities = UnsafePointer(buffer)
      logProbabilityStride = classes
    } else {
      logProbabilities = input
      logProbabilityStride = sample.rowStride
    }

    // Scratch: the extended labels, the skip penalties, the alpha rows, the
    // gathered log-probabilities of one row.
    let labels = UnsafeMutablePointer<Int>.allocate(capacity: rounded)
    let skip = UnsafeMutablePointer<Float>.allocate(capacity: rounded + 2 * width)
    let alpha = UnsafeMutablePointer<Float>.allocate(capacity: length * pitch)
    let gathered = UnsafeMutablePointer<Float>.allocate(capacity: rounded)
    defer {
      labels.deallocate()
      skip.deallocate()
      alpha.deallocate()
      gathered.deallocate()
    }
    for s in 0..<rounded { labels[s] = s < extended ? sample.label(s) : sample.blank }
    // skip[s] is 0 where the transition s - 2 -> s is allowed (PyTorch: s > 1 and the labels
    // at s - 2 and s differ, which only happens at odd s), the sentinel elsewhere.
    for s in 0..<(rounded + 2 * width) {
      let allowed = s < extended && s > 1 && labels[s] != labels[s - 2]
      skip[s] = allowed ? 0 : impossible
    }
    for s in extended..<rounded { gathered[s] = impossible }

    /// Gathers row t's log-probabilities along the extended target; false if not eligible.
    func gather(_ t: Int) -> Bool {
      let row = logProbabilities + t * logProbabilityStride
      let blankValue = row[sample.blank]
      guard abs(blankValue) <= eligibleMagnitude else { return false }
      var s = 0
      while s < extended {
        gathered[s] = blankValue
        s += 2
      }
      s = 1
      while s < extended {
        let value = row[labels[s]]
        guard abs(value) <= eligibleMagnitude else { return false }
        gathered[s] = value
        s += 2
      }
      return true
    }

    // Forward.
    guard gather(0) else { return nil }
    let row0 = alpha + width
    for s in -width..<rounded { row0[s] = impossible }
    row0[0] = gathered[0]
    if extended > 1 { row0[1] = gathered[1] }
    var rowMaximum = extended > 1 ? max(row0[0], row0[1]) : row0[0]
    var alive = true
    for t in 1..<length {
      guard gather(t) else { return nil }
      let previous = alpha + (t - 1) * pitch + width
      let current = alpha + t * pitch + width
      current[-2] = impossible
      current[-1] = impossible
      var maxima = Vector(repeating: impossible)
      var j = 0
      while j < rounded {
        let a = VectorMath.load(previous, j)
        let b = VectorMath.load(previous, j - 1)
        let c = VectorMath.load(previous, j - 2) + VectorMath.load(skip, j)
        var r = logSumExp(a, b, c) + VectorMath.load(gathered, j)
        r = r.replacing(with: impossible, where: r .< impossible)
        VectorMath.store(r, current, j)
        maxima = maxima.replacing(with: r, where: r .> maxima)
        j += width
      }
      rowMaximum = VectorMath.maximum(maxima)
      if rowMaximum <= impossibleThreshold {
        // Every state is impossible from here on: the loss is +inf, unless a later row holds a
        // value the reference handles differently (PyTorch turns -inf + NaN into NaN).
        alive = false
        for later in (t + 1)..<length where !gather(later) { return nil }
        break
      }
    }

    // The loss in Float, as PyTorch forms it (the gradient below uses this rounded value).
    var floatNLL = Float.infinity
    if alive {
      let last = alpha + (length - 1) * pitch + width
      if extended == 1 {
        if last[0] > impossibleThreshold { floatNLL = -last[0] }
      } else {
        let l1 = last[extended - 1]
        let l2 = last[extended - 2]
        let largest = max(l1, l2)
        if largest > impossibleThreshold {
          floatNLL = -(Float.log(Float.exp(l1 - largest) + Float.exp(l2 - largest)) + largest)
        }
      }
    }
    let nll = Double(floatNLL)
    guard let gradient else { return nll }
    guard nll.isFinite else {
      sample.fillGradient(gradient, with: sample.zeroInfinity ? 0 : .nan)
      return nll
    }

    // Backward: beta rows (two, swapped), relative to their own running offset, and the
    // gradient row for each t as soon as beta_t is known.
    let betaCount = rounded + 2 * width
    var next = UnsafeMutablePointer<Float>.allocate(capacity: betaCount)
    var current = UnsafeMutablePointer<Float>.allocate(capacity: betaCount)
    let occupancy = UnsafeMutablePointer<Float>.allocate(capacity: rounded)
    let perClass = UnsafeMutablePointer<Float>.allocate(capacity: classes)
    defer {
      next.deallocate()
      current.deallocate()
      occupancy.deallocate()
      perClass.deallocate()
    }
    next.initialize(repeating: impossible, count: betaCount)
    current.initialize(repeating: impossible, count: betaCount)
    perClass.initialize(repeating: -.infinity, count: classes)
    let scale = Float(sample.gradientScale)

    /// Writes gradient row t from alpha_t and beta_t, in PyTorch's order and Float rounding:
    /// `collected[c]` log-adds `alpha_t[s] + beta_t[s]` over the positions `s` of class `c`,
    /// from the last position down, then the gradient is `(e^lp - e^(collected + nll - lp)) * g`.
    func emitGradientRow(_ t: Int, beta: UnsafeMutablePointer<Float>) {
      let alphaRow = alpha + t * pitch + width
      var j = 0
      while j < rounded {
        VectorMath.store(VectorMath.load(alphaRow, j) + VectorMath.load(beta, j), occupancy, j)
        j += width
      }
      // At the last step PyTorch assigns the last label's term after the final blank's, so a
      // blank last label drops the final blank's term (see the reference).
      let top =
        t == length - 1 && extended > 1 && labels[extended - 2] == labels[extended - 1]
        ? extended - 2 : extended - 1
      for s in stride(from: top, through: 0, by: -1) {
        let value = occupancy[s]
        guard value > impossibleThreshold else { continue }
        let c = labels[s]
        let current = perClass[c]
        if current == -.infinity {
          perClass[c] = value
        } else {
          // PyTorch's log(e^(current - m) + e^(value - m)) + m, where one exponential is
          // e^0 = 1 exactly.
          let (largest, smallest) = current > value ? (current, value) : (value, current)
          perClass[c] = Float.log(1 + Float.exp(smallest - largest)) + largest
        }
      }
      let logRow = logProbabilities + t * logProbabilityStride
      let gradientRow = gradient + t * sample.rowStride
      let negativeInfinity = Vector(repeating: -.infinity)
      var c = 0
      while c + width <= classes {
        let lp = VectorMath.load(logRow, c)
        let collected = VectorMath.load(perClass, c)
        var occupied = VectorMath.expUnfused((collected + floatNLL) - lp)
        if fromLogits { occupied.replace(with: 0, where: collected .== -.infinity) }
        var value = (VectorMath.expUnfused(lp) - occupied) * scale
        if !fromLogits { value.replace(with: .nan, where: lp .== -.infinity) }
        VectorMath.store(value, gradientRow, c)
        VectorMath.store(negativeInfinity, perClass, c)
        c += width
      }
      while c < classes {
        let lp = logRow[c]
        let collected = perClass[c]
        var occupied = Float.exp((collected + floatNLL) - lp)
        if fromLogits && collected == -.infinity { occupied = 0 }
        var value = (Float.exp(lp) - occupied) * scale
        if !fromLogits && lp == -.infinity { value = .nan }
        gradientRow[c] = value
        perClass[c] = -.infinity
        c += 1
      }
      if fromLogits {
        // The log-softmax's backward as PyTorch runs it after its float32 CTC gradient:
        // g - softmax * sum(g). The sum is 0 in exact arithmetic; in Float it is not, and this
        // step is what makes each row of PyTorch's logits gradient sum to ~0.
        var total: Float = 0
        for c in 0..<classes { total += gradientRow[c] }
        for c in 0..<classes { gradientRow[c] -= Float.exp(logRow[c]) * total }
      }
    }

    var t = length - 1
    _ = gather(t)
    next[extended - 1] = gathered[extended - 1]
    if extended > 1 { next[extended - 2] = gathered[extended - 2] }
    emitGradientRow(t, beta: next)
    t -= 1
    while t >= 0 {
      _ = gather(t)
      var j = 0
      while j < rounded {
        let a = VectorMath.load(next, j)
        let b = VectorMath.load(next, j + 1)
        let c = VectorMath.load(next, j + 2) + VectorMath.load(skip, j + 2)
        var r = logSumExp(a, b, c) + VectorMath.load(gathered, j)
        r = r.replacing(with: impossible, where: r .< impossible)
        VectorMath.store(r, current, j)
        j += width
      }
      emitGradientRow(t, beta: current)
      swap(&next, &current)
      t -= 1
    }
    return nll
  }

  /// A log-softmax of one row, accumulated in `Double`.
  private static func logSoftmax(
    _ row: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int
  ) {
    var largest = -Double.infinity
    for c in 0..<count where Double(row[c]) > largest { largest = Double(row[c]) }
    let shift = largest.isFinite ? largest : 0
    var sum = 0.0
    for c in 0..<count { sum += .exp(Double(row[c]) - shift) }
    let logSum = shift + .log(sum)
    for c in 0..<count { output[c] = Float(Double(row[c]) - logSum) }
  }

  // MARK: - The recursion step

  /// log(e^a + e^b + e^c) for finite lanes, in PyTorch's order: with `m` the largest,
  /// `log((e^(a-m) + e^(b-m)) + e^(c-m)) + m`.
  @_transparent
  static func logSumExp(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector {
    let high = a.replacing(with: b, where: b .> a)
    let largest = high.replacing(with: c, where: c .> high)
    let sum =
      (VectorMath.expUnfusedOfNonPositive(a - largest)
        + VectorMath.expUnfusedOfNonPositive(b - largest))
      + VectorMath.expUnfusedOfNonPositive(c - largest)
    return VectorMath.logUnfusedOfOneToThree(sum) + largest
  }
}
