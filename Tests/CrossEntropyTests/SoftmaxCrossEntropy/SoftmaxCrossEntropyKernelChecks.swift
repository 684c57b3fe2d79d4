import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

// The comparison loops the softmax cross-entropy kernel suites share (the fp32, logit-option,
// spatial and Double kernel tests). Each suite states its tolerances; the helpers take them as
// they are.

/// Every fp32 caller-buffer entry point of `criterion` on one problem: forward only, forward +
/// backward into a separate buffer, and in place (the gradient written over the logits), each
/// loss buffer starting as NaN.
///
/// - Parameters:
///   - probabilities: Probability targets laid out like the logits, or nil for `labels`.
/// - Returns: For each path, its name, its loss and its gradient (nil for forward only).
func bufferFormResults(
  _ criterion: SoftmaxCrossEntropy, logits: [Float], shape: [Int], labels: [Int],
  probabilities: [Float]?, weights: [Float]?, lossCount: Int
) throws -> [(path: String, loss: [Float], gradient: [Float]?)] {
  var results: [(path: String, loss: [Float], gradient: [Float]?)] = []
  try labels.withUnsafeBufferPointer { y in
    try withOptionalBuffer(probabilities) { t in
      try withOptionalBuffer(weights) { w in
        var loss = [Float](repeating: .nan, count: lossCount)
        try logits.withUnsafeBufferPointer { x in
          try loss.withUnsafeMutableBufferPointer { l in
            if let t {
              try criterion.loss(
                logits: x, shape: shape, targets: t, classWeights: w, into: l)
            } else {
              try criterion.loss(logits: x, shape: shape, labels: y, classWeights: w, into: l)
            }
          }
        }
        results.append(("forward", loss, nil))
        var gradient = [Float](repeating: .nan, count: logits.count)
        loss = [Float](repeating: .nan, count: lossCount)
        try logits.withUnsafeBufferPointer { x in
          try loss.withUnsafeMutableBufferPointer { l in
            try gradient.withUnsafeMutableBufferPointer { g in
              if let t {
                try criterion.lossAndGradient(
                  logits: x, shape: shape, targets: t, classWeights: w, loss: l,
                  gradient: g)
              } else {
                try criterion.lossAndGradient(
                  logits: x, shape: shape, labels: y, classWeights: w, loss: l, gradient: g)
              }
            }
          }
        }
        results.append(("forward+backward", loss, gradient))
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: logits.count)
        defer { buffer.deallocate() }
        _ = buffer.initialize(from: logits)
        loss = [Float](repeating: .nan, count: lossCount)
        try loss.withUnsafeMutableBufferPointer { l in
          if let t {
            try criterion.lossAndGradient(
              logits: UnsafeBufferPointer(buffer), shape: shape, targets: t,
              classWeights: w, loss: l, gradient: buffer)
          } else {
            try criterion.lossAndGradient(
              overwriting: buffer, shape: shape, labels: y, classWeights: w, loss: l)
          }
        }
        results.append(("in place", loss, Array(buffer)))
      }
    }
  }
  return results
}

/// Checks fp32 probability-target results (the array forms, and the buffer forms of
/// ``bufferFormResults(_:logits:shape:labels:probabilities:weights:lossCount:)``, in place
/// included) against the reference in Double: loss within 2e-5, gradient within 4e-5 (see
/// ``expectClose``).
func expectProbabilityTargetsMatchReference(
  _ problem: FloatProblem, targets: [Float], sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let criterion = problem.criterion
  let reference = try criterion.lossAndGradient(
    logits: ShapedArray(shape: problem.shape, scalars: problem.logits.map(Double.init)),
    targets: ShapedArray(shape: problem.shape, scalars: targets.map(Double.init)),
    classWeights: problem.weights?.map(Double.init))
  let expected = (reference.loss.scalars, reference.gradient.scalars)
  let x = try ShapedArray(shape: problem.shape, scalars: problem.logits)
  let t = try ShapedArray(shape: problem.shape, scalars: targets)
  let (loss, gradient) = try criterion.lossAndGradient(
    logits: x, targets: t, classWeights: problem.weights)
  let forward = try criterion.loss(logits: x, targets: t, classWeights: problem.weights)
  expectClose(
    loss: loss.scalars.map(Double.init), gradient: gradient.scalars.map(Double.init),
    forward: forward.scalars.map(Double.init), reference: expected,
    lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
    gradientTolerance: Tolerance(relative: 4e-5, absolute: 2e-5), "probabilities",
    sourceLocation: sourceLocation)
  for result in try bufferFormResults(
    criterion, logits: problem.logits, shape: problem.shape, labels: problem.labels,
    probabilities: targets, weights: problem.weights, lossCount: expected.0.count)
  {
    expectClose(
      loss: result.loss.map(Double.init), gradient: result.gradient?.map(Double.init),
      reference: expected, lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 4e-5, absolute: 2e-5),
      "probabilities \(result.path)", sourceLocation: sourceLocation)
  }
}

extension FloatProblem {
  /// For each criterion, 8-row problems of 1, 5, 40 and 3000 classes with non-finite rows (see
  /// ``makeRowsNonFinite()``).
  static func nonFiniteProblems(_ criteria: [SoftmaxCrossEntropy]) -> [FloatProblem] {
    criteria.flatMap { criterion in
      [1, 5, 40, 3000].map { classes in
        var problem = FloatProblem(
          rows: 8, classes: classes, seed: UInt64(classes), ignoredEvery: 0,
          criterion: criterion)
        problem.makeRowsNonFinite()
        return problem
      }
    }
  }

  /// Problems for the half-precision paths: 1, 2, 17, 1000 and 70_000 classes (small and large
  /// rows) with each criterion, every other class count weighted, every third row ignored, and
  /// a NaN, +inf and -inf in three rows of the 17-class problems. Seeds start at `seed`.
  static func halfProblems(_ criteria: [SoftmaxCrossEntropy], seed: Int) -> [FloatProblem] {
    var problems: [FloatProblem] = []
    for (k, classes) in [1, 2, 17, 1000, 70_000].enumerated() {
      for criterion in criteria {
        var problem = FloatProblem(
          rows: classes > 10_000 ? 2 : 5, classes: classes, seed: UInt64(k + seed),
          weighted: k % 2 == 1, ignoredEvery: 3, criterion: criterion)
        if classes == 17 {
          problem.logits[3] = .nan
          problem.logits[17 + 2] = .infinity
          problem.logits[34 + 5] = -.infinity
        }
        problems.append(problem)
      }
    }
    return problems
  }

  /// Makes rows 0 to 6 non-finite in every way the kernels single out: a NaN in a finite row;
  /// +inf (a NaN row, or the cap with a soft cap); all -inf; one -inf (on the label where there
  /// is more than one class); a NaN in an ignored row; -inf and NaN alternating; +inf in an
  /// ignored row. Needs 8 rows.
  mutating func makeRowsNonFinite() {
    let c = classes
    logits[0 * c + c / 2] = .nan
    logits[1 * c + c - 1] = .infinity
    for i in 0..<c { logits[2 * c + i] = -.infinity }
    logits[3 * c] = -.infinity
    logits[4 * c + c / 3] = .nan
    labels[4] = criterion.ignoreIndex
    for i in 0..<c { logits[5 * c + i] = i % 2 == 0 ? -.infinity : .nan }
    logits[6 * c] = .infinity
    labels[6] = criterion.ignoreIndex
    if labels[3] != criterion.ignoreIndex, c > 1 { labels[3] = 0 }
  }
}

/// The loss and gradient of the in-place buffer form with class-index labels
/// (`lossAndGradient(overwriting:...)`) on logits of any element type, the loss buffer starting
/// as NaN.
func inPlaceResults<Scalar: BinaryFloatingPoint>(
  _ criterion: SoftmaxCrossEntropy, logits: [Scalar], shape: [Int], labels: [Int],
  weights: [Scalar]?, lossCount: Int
) throws -> (loss: [Scalar], gradient: [Scalar]) {
  var inPlace = logits
  var inPlaceLoss = [Scalar](repeating: .nan, count: lossCount)
  try labels.withUnsafeBufferPointer { labels in
    try withOptionalBuffer(weights) { w in
      try inPlace.withUnsafeMutableBufferPointer { g in
        try inPlaceLoss.withUnsafeMutableBufferPointer { l in
          try criterion.lossAndGradient(
            overwriting: g, shape: shape, labels: labels, classWeights: w, loss: l)
        }
      }
    }
  }
  return (inPlaceLoss, inPlace)
}

// MARK: - Half precision

/// A problem the half-precision checks run: ``FloatProblem`` (classes last) or
/// ``SpatialProblem`` (classes on axis 1).
protocol HalfPrecisionProblem {
  var shape: [Int] { get }
  /// The shape of the labels.
  var labelShape: [Int] { get }
  var logits: [Float] { get }
  var labels: [Int] { get }
  var weights: [Float]? { get }
  var criterion: SoftmaxCrossEntropy { get }
  /// The reference's loss and gradient in Double for these logits and class weights (values
  /// already rounded to the half-precision type), with the problem's labels.
  func reference(
    halfLogits: [Double], weights: [Double]?
  ) throws -> (loss: [Double], gradient: [Double])
}

extension FloatProblem: HalfPrecisionProblem {
  var labelShape: [Int] { [rows] }

  func reference(
    halfLogits: [Double], weights: [Double]?
  ) throws -> (loss: [Double], gradient: [Double]) {
    try referenceResult(
      halfLogits, FloatProblem(copying: self, weights: weights?.map { Float($0) }))
  }
}

extension SpatialProblem: HalfPrecisionProblem {
  func reference(
    halfLogits: [Double], weights: [Double]?
  ) throws -> (loss: [Double], gradient: [Double]) {
    try reference(logits: halfLogits, weights: weights)
  }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  /// Checks the Float16 forms (array loss and gradient, forward only, in place through the
  /// buffer form) against the reference on the Float16 values: loss and gradient within 2e-3
  /// (see ``expectClose``).
  func expectFloat16MatchesReference(
    _ problem: some HalfPrecisionProblem, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let logits = problem.logits.map { Float16($0) }
    let weights = problem.weights?.map { Float16($0) }
    let reference = try problem.reference(
      halfLogits: logits.map(Double.init), weights: weights?.map(Double.init))
    let criterion = problem.criterion
    let x = try ShapedArray(shape: problem.shape, scalars: logits)
    let y = try ShapedArray(shape: problem.labelShape, scalars: problem.labels)
    let (loss, gradient) = try criterion.lossAndGradient(
      logits: x, labels: y, classWeights: weights)
    let forward = try criterion.loss(logits: x, labels: y, classWeights: weights)
    expectClose(
      loss: loss.scalars.map(Double.init), gradient: gradient.scalars.map(Double.init),
      forward: forward.scalars.map(Double.init), reference: reference,
      lossTolerance: Tolerance(relative: 2e-3, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 2e-3, absolute: 1e-3), "float16",
      sourceLocation: sourceLocation)
    let (inPlaceLoss, inPlace) = try inPlaceResults(
      criterion, logits: logits, shape: problem.shape, labels: problem.labels, weights: weights,
      lossCount: loss.scalars.count)
    expectClose(
      loss: inPlaceLoss.map(Double.init), gradient: inPlace.map(Double.init),
      reference: reference, lossTolerance: Tolerance(relative: 2e-3, absolute: 1e-6),
      gradientTolerance: Tolerance(relative: 2e-3, absolute: 1e-3), "float16 in place",
      sourceLocation: sourceLocation)
  }
#endif

/// Rounds fp32 to bfloat16 bits, to nearest even (NaN kept as a quiet NaN).
func bfloat16Bits(_ x: Float) -> UInt16 {
  if x.isNaN { return 0x7FC0 }
  let u = x.bitPattern
  return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
}

/// The value of bfloat16 bits.
func bfloat16Value(_ b: UInt16) -> Double { Double(Float(bitPattern: UInt32(b) << 16)) }

/// Checks the bfloat16 buffer forms (forward + backward, forward only and, if `inPlace`, the
/// gradient over the logits) against the reference on the bfloat16 values: loss (fp32) within
/// 2e-5, gradient within 8e-3 (see ``expectClose``).
func expectBFloat16MatchesReference(
  _ problem: some HalfPrecisionProblem, inPlace checksInPlace: Bool = true,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let logits = problem.logits.map(bfloat16Bits)
  let reference = try problem.reference(
    halfLogits: logits.map(bfloat16Value), weights: problem.weights?.map(Double.init))
  let criterion = problem.criterion
  var loss = [Float](repeating: .nan, count: reference.loss.count)
  var forward = loss
  var gradient = [UInt16](repeating: 0, count: logits.count)
  var inPlace = logits
  var inPlaceLoss = loss
  try problem.labels.withUnsafeBufferPointer { labels in
    try withOptionalBuffer(problem.weights) { w in
      try logits.withUnsafeBufferPointer { x in
        try loss.withUnsafeMutableBufferPointer { l in
          try gradient.withUnsafeMutableBufferPointer { g in
            try criterion.lossAndGradient(
              bfloat16Logits: x, shape: problem.shape, labels: labels, classWeights: w,
              loss: l, gradient: g)
          }
        }
        try forward.withUnsafeMutableBufferPointer { l in
          try criterion.loss(
            bfloat16Logits: x, shape: problem.shape, labels: labels, classWeights: w, into: l)
        }
      }
      guard checksInPlace else { return }
      try inPlace.withUnsafeMutableBufferPointer { g in
        try inPlaceLoss.withUnsafeMutableBufferPointer { l in
          try criterion.lossAndGradient(
            overwritingBFloat16: g, shape: problem.shape, labels: labels, classWeights: w,
            loss: l)
        }
      }
    }
  }
  expectClose(
    loss: loss.map(Double.init), gradient: gradient.map(bfloat16Value),
    forward: forward.map(Double.init), reference: reference,
    lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
    gradientTolerance: Tolerance(relative: 8e-3, absolute: 4e-3), "bfloat16",
    sourceLocation: sourceLocation)
  guard checksInPlace else { return }
  expectClose(
    loss: inPlaceLoss.map(Double.init), gradient: inPlace.map(bfloat16Value),
    reference: reference, lossTolerance: Tolerance(relative: 2e-5, absolute: 1e-6),
    gradientTolerance: Tolerance(relative: 8e-3, absolute: 4e-3), "bfloat16 in place",
    sourceLocation: sourceLocation)
}
