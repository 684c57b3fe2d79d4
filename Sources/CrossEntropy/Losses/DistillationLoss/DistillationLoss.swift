/// Knowledge distillation (Hinton et al., 2015): the student's softened distribution is pulled
/// towards the teacher's, optionally mixed with the ordinary hard-label cross-entropy.
///
/// For each row `n` (every position except the class axis), with temperature `T`, hard-label
/// weight `w`, `p = softmax(teacher_n / T)` and `q = softmax(student_n / T)`:
///
/// ```
/// l_n  = (1 - w) * T^2 * KL(p || q) + w * CE(student_n, y_n)     (0 where y_n == ignoreIndex)
/// KL(p || q) = sum_c p_c * (log p_c - log q_c)                   (terms with p_c = 0 are 0)
/// mean = sum_n l_n / (number of non-ignored rows)                (= "batchmean"; or normalizer)
/// dl_n/dstudent_n = (1 - w) * T * (q - p) + w * (softmax(student_n) - onehot(y_n))
/// ```
///
/// `.mean` is the per-sample ("batchmean") average that distillation uses: with no labels it
/// equals `F.kl_div(F.log_softmax(s / T), F.softmax(t / T), reduction="batchmean") * T * T`.
/// The `T^2` factor keeps the soft term's gradient on the scale of the hard term's as `T`
/// changes. Labels are optional when `w == 0`; when given, ignored rows (padding tokens, say)
/// contribute to neither term nor to the denominator. The hard term is the unweighted,
/// unsmoothed cross-entropy of the raw student logits.
///
/// ``normalizer``, when set, replaces the number of non-ignored rows in `.mean` (the global
/// count of a batch split into micro-batches or across processes).
///
/// The loss is fused per row: no `N × C` temporaries besides the gradient itself.
///
/// `lossAndGradient` takes an optional upstream gradient `g` (`upstreamGradient:`, shaped like
/// the loss: one value per row for `.none`, 0-dimensional for `.mean` and `.sum`): each row's
/// gradient is multiplied by its `g`, a per-row factor of the fused kernel; ignored rows do not
/// read theirs (their gradient stays 0).
///
/// ```swift
/// let distill = DistillationLoss(temperature: 4, hardLabelWeight: 0.1)
/// let (loss, gradient) = try distill.lossAndGradient(
///   studentLogits: student, teacherLogits: teacher, labels: labels)
/// ```
public struct DistillationLoss: Sendable, Hashable {
  /// The softening temperature `T > 0`. Default 1.
  public var temperature: Double
  /// The weight `w` in [0, 1] of the hard-label cross-entropy; the soft term gets `1 - w`.
  /// Default 0 (pure distillation).
  public var hardLabelWeight: Double
  /// How per-row losses are combined. Default `.mean` (over non-ignored rows: "batchmean").
  public var reduction: Reduction
  /// The axis of the logits that holds the classes; negative counts from the end. Default -1.
  public var classAxis: Int
  /// The label value whose rows contribute nothing. Default -100.
  public var ignoreIndex: Int
  /// The denominator of `.mean`, or `nil` (the default) for the number of non-ignored rows.
  /// Set it to the global count when a batch is split into micro-batches or across processes.
  /// It must be finite and > 0; `.sum` and `.none` do not use it.
  public var normalizer: Double?

  /// Creates a distillation criterion.
  ///
  /// - Parameters:
  ///   - temperature: The softening temperature, finite and > 0. Default 1.
  ///   - hardLabelWeight: The hard-label weight, in [0, 1]. Default 0.
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the logits. Default -1.
  ///   - ignoreIndex: The label value to skip. Default -100.
  ///   - normalizer: The denominator of `.mean`, finite and > 0, or `nil` (the number of
  ///     non-ignored rows, the default).
  public init(
    temperature: Double = 1, hardLabelWeight: Double = 0, reduction: Reduction = .mean,
    classAxis: Int = -1, ignoreIndex: Int = -100, normalizer: Double? = nil
  ) {
    self.temperature = temperature
    self.hardLabelWeight = hardLabelWeight
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
    self.normalizer = normalizer
  }

  /// The distillation loss of the student's logits given the teacher's.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - teacherLogits: The teacher's raw scores, the same shape.
  ///   - labels: Class indices shaped like the logits without the class axis; required when
  ///     ``hardLabelWeight`` is not 0, optional (for the ignore index) otherwise.
  /// - Returns: A 0-dimensional array, or one loss per row for `.none`.
  /// - Throws: ``LossError`` for mismatched shapes, labels out of range, a bad class axis, an
  ///   empty class dimension, a temperature that is not finite and positive, a hard-label
  ///   weight outside [0, 1], a non-zero hard-label weight without labels, or a ``normalizer``
  ///   that is not finite and > 0.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
    labels: ShapedArray<Int>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(
      studentLogits, teacherLogits, labels, upstreamGradient: nil, wantsGradient: false
    ).loss
  }

  /// The distillation loss and its gradient with respect to the student's logits.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - teacherLogits: The teacher's raw scores, the same shape.
  ///   - labels: Class indices, as in ``loss(studentLogits:teacherLogits:labels:)``.
  ///   - upstreamGradient: Optional gradient with respect to the loss, shaped like it (like
  ///     the labels, one per row, for `.none`; 0-dimensional for `.mean` and `.sum`): the
  ///     gradient returned is the vector-Jacobian product, as PyTorch's
  ///     `loss.backward(gradient: g)`. Ignored rows do not read theirs. Default nil (ones).
  /// - Returns: The loss and a gradient shaped like `studentLogits` (for `.none`, of the sum).
  /// - Throws: ``LossError``, as ``loss(studentLogits:teacherLogits:labels:)``, and for an
  ///   upstream gradient not shaped like the loss.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
    labels: ShapedArray<Int>? = nil, upstreamGradient: ShapedArray<Scalar>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(
      studentLogits, teacherLogits, labels, upstreamGradient: upstreamGradient,
      wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ student: ShapedArray<Scalar>, _ teacher: ShapedArray<Scalar>, _ labels: ShapedArray<Int>?,
    upstreamGradient: ShapedArray<Scalar>?, wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    let problem = try makeProblem(shape: student.shape)
    guard teacher.shape == student.shape else {
      throw .shapeMismatch(
        "teacher logits shape \(describe(shape: teacher.shape)) does not match student logits"
          + " shape \(describe(shape: student.shape))")
    }
    if let labels { try problem.layout.checkLabels(shape: labels.shape) }
    try checkUpstreamGradient(
      shape: upstreamGradient?.shape, reduction: reduction, rowShape: problem.layout.labelShape)
    return try Kernels.outputs(
      lossShape: reduction == .none ? problem.layout.labelShape : [],
      gradientShape: wantsGradient ? student.shape : nil
    ) { loss, gradient throws(LossError) in
      try student.withUnsafeBufferPointer { s throws(LossError) in
        try teacher.withUnsafeBufferPointer { t throws(LossError) in
          try withOptionalBuffer(labels?.scalars) { l throws(LossError) in
            try withOptionalBuffer(upstreamGradient?.scalars) { g throws(LossError) in
              try compute(
                student: s, teacher: t, labels: l, problem: problem, upstreamGradient: g,
                loss: loss, gradient: gradient)
            }
          }
        }
      }
    }
  }
}

// MARK: - Caller-owned memory

extension DistillationLoss {
  /// Writes the distillation loss of the student's logits given the teacher's into a caller
  /// buffer, without copying: `l_n = (1 - w) T^2 KL(softmax(t_n / T) || softmax(s_n / T)) +
  /// w CE(s_n, y_n)`, reduced as ``reduction`` says.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores in row-major order.
  ///   - shape: The shape of both, classes on ``classAxis``.
  ///   - teacherLogits: The teacher's raw scores, laid out like `studentLogits`.
  ///   - labels: Class indices, one per row in the row-major order of `shape` without the class
  ///     axis; required when ``hardLabelWeight`` is not 0, optional (for the ignore index)
  ///     otherwise.
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError`` for buffers whose sizes do not match `shape` (naming both sizes),
  ///   labels out of range, a bad class axis, an empty class dimension, a temperature that is
  ///   not finite and positive, a hard-label weight outside [0, 1], or a non-zero hard-label
  ///   weight without labels.
  /// - Complexity: O(n) in the number of logits; O(N) extra memory for fp32 with classes on the
  ///   last axis, O(C) otherwise.
  public func loss<Scalar: BinaryFloatingPoint>(
    studentLogits: UnsafeBufferPointer<Scalar>, shape: [Int],
    teacherLogits: UnsafeBufferPointer<Scalar>, labels: UnsafeBufferPointer<Int>? = nil,
    into loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      student: studentLogits, teacher: teacherLogits, labels: labels,
      problem: makeProblem(shape: shape), upstreamGradient: nil, loss: loss, gradient: nil)
  }

  /// Writes the distillation loss and its gradient with respect to the student's logits into
  /// caller buffers: `dl_n/ds_n = (1 - w) T (softmax(s_n / T) - softmax(t_n / T)) +
  /// w (softmax(s_n) - onehot(y_n))`, times `1 / kept rows` for `.mean`.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores in row-major order.
  ///   - shape: The shape of both, classes on ``classAxis``.
  ///   - teacherLogits: The teacher's raw scores, laid out like `studentLogits`.
  ///   - labels: Class indices, as in ``loss(studentLogits:shape:teacherLogits:labels:into:)``.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per row for `.none`, 1 for `.mean` and `.sum`): the gradient written is the
  ///     vector-Jacobian product. Ignored rows do not read theirs. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  ///   - gradient: Receives the gradient (of the sum for `.none`), as many elements as
  ///     `studentLogits`. It may be the same memory as `studentLogits`; see also
  ///     ``lossAndGradient(overwriting:shape:teacherLogits:labels:upstreamGradient:loss:)``.
  /// - Throws: ``LossError``, as ``loss(studentLogits:shape:teacherLogits:labels:into:)``, and
  ///   for a gradient buffer or an upstream gradient of the wrong size.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    studentLogits: UnsafeBufferPointer<Scalar>, shape: [Int],
    teacherLogits: UnsafeBufferPointer<Scalar>, labels: UnsafeBufferPointer<Int>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil,
    loss: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      student: studentLogits, teacher: teacherLogits, labels: labels,
      problem: makeProblem(shape: shape), upstreamGradient: upstreamGradient, loss: loss,
      gradient: gradient)
  }

  /// Computes the distillation loss and overwrites the student's logits with the gradient:
  /// no memory besides O(N + C) scratch.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores in row-major order; on return, the gradient
  ///     of the loss (of the sum for `.none`) with respect to them.
  ///   - shape: The shape of both, classes on ``classAxis``.
  ///   - teacherLogits: The teacher's raw scores, laid out like `studentLogits`.
  ///   - labels: Class indices, as in ``loss(studentLogits:shape:teacherLogits:labels:into:)``.
  ///   - upstreamGradient: Optional gradient with respect to the loss, as many elements as
  ///     it (one per row for `.none`, 1 for `.mean` and `.sum`): the gradient written is the
  ///     vector-Jacobian product. Ignored rows do not read theirs. Default nil (ones).
  ///   - loss: Receives the loss: 1 element for `.mean` and `.sum`, one per row for `.none`.
  /// - Throws: ``LossError``, as ``loss(studentLogits:shape:teacherLogits:labels:into:)``; the
  ///   student's logits are unchanged when it throws.
  /// - Complexity: O(n) in the number of logits; O(N + C) extra memory.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    overwriting studentLogits: UnsafeMutableBufferPointer<Scalar>, shape: [Int],
    teacherLogits: UnsafeBufferPointer<Scalar>, labels: UnsafeBufferPointer<Int>? = nil,
    upstreamGradient: UnsafeBufferPointer<Scalar>? = nil, loss: UnsafeMutableBufferPointer<Scalar>
  ) throws(LossError) {
    try compute(
      student: UnsafeBufferPointer(studentLogits), teacher: teacherLogits, labels: labels,
      problem: makeProblem(shape: shape), upstreamGradient: upstreamGradient, loss: loss,
      gradient: studentLogits)
  }
}

// MARK: - Validation and the kernel call

extension DistillationLoss {
  /// Checks the options and resolves the class axis of `shape`.
  private func makeProblem(shape: [Int]) throws(LossError) -> DistillationProblem {
    try checkDistillation(temperature: temperature, hardLabelWeight: hardLabelWeight)
    try checkNormalizer(normalizer)
    return DistillationProblem(
      criterion: self,
      layout: try ClassLayout(shape: shape, classAxis: classAxis, name: "student logits"))
  }

  /// Validates the buffers and the labels, then runs the kernel. Nothing is written when it
  /// throws.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func compute<Scalar: BinaryFloatingPoint>(
    student: UnsafeBufferPointer<Scalar>, teacher: UnsafeBufferPointer<Scalar>,
    labels: UnsafeBufferPointer<Int>?, problem: DistillationProblem,
    upstreamGradient: UnsafeBufferPointer<Scalar>?, loss: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LossError) {
    let layout = problem.layout
    try checkCount(student.count, shape: layout.shape, name: "student logits")
    try checkCount(teacher.count, shape: layout.shape, name: "teacher logits")
    if let labels {
      try layout.checkLabelCount(labels.count)
      try layout.checkLabelRange(labels, ignoreIndex: ignoreIndex)
    } else if hardLabelWeight != 0 {
      throw .invalidOption(
        "hard-label weight \(hardLabelWeight) needs labels; pass labels or a weight of 0")
    }
    try checkLossCount(loss.count, reduction: reduction, rows: layout.rows)
    try checkUpstreamGradient(
      count: upstreamGradient?.count, reduction: reduction, rows: layout.rows)
    if let gradient { try layout.checkGradientCount(gradient.count) }
    RowScales.with(
      sampleWeights: nil, upstreamGradient: gradient == nil ? nil : upstreamGradient,
      rows: layout.rows
    ) { rowScales in
      Kernels.distillation(
        student: startAddress(student.baseAddress), teacher: startAddress(teacher.baseAddress),
        labels: labels, problem: problem, rowScales: rowScales, loss: loss,
        gradient: gradient?.baseAddress)
    }
  }
}
