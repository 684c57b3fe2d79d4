/// Knowledge distillation (Hinton et al., 2015): the student's softened distribution is pulled
/// towards the teacher's, optionally mixed with the ordinary hard-label cross-entropy.
///
/// For each row `n` (every position except the class axis), with temperature `T`, hard-label
/// weight `w`, `p = softmax(teacher_n / T)` and `q = softmax(student_n / T)`:
///
/// ```
/// l_n  = (1 - w) * T^2 * KL(p || q) + w * CE(student_n, y_n)     (0 where y_n == ignoreIndex)
/// KL(p || q) = sum_c p_c * (log p_c - log q_c)                   (terms with p_c = 0 are 0)
/// mean = sum_n l_n / (number of non-ignored rows)                (= "batchmean")
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
/// The loss is fused per row: no `N × C` temporaries besides the gradient itself.
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

  /// Creates a distillation criterion.
  ///
  /// - Parameters:
  ///   - temperature: The softening temperature, finite and > 0. Default 1.
  ///   - hardLabelWeight: The hard-label weight, in [0, 1]. Default 0.
  ///   - reduction: How per-row losses are combined. Default `.mean`.
  ///   - classAxis: The class axis of the logits. Default -1.
  ///   - ignoreIndex: The label value to skip. Default -100.
  public init(
    temperature: Double = 1, hardLabelWeight: Double = 0, reduction: Reduction = .mean,
    classAxis: Int = -1, ignoreIndex: Int = -100
  ) {
    self.temperature = temperature
    self.hardLabelWeight = hardLabelWeight
    self.reduction = reduction
    self.classAxis = classAxis
    self.ignoreIndex = ignoreIndex
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
  ///   weight outside [0, 1], or a non-zero hard-label weight without labels.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory.
  public func loss<Scalar: BinaryFloatingPoint>(
    studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
    labels: ShapedArray<Int>? = nil
  ) throws(LossError) -> ShapedArray<Scalar> {
    try evaluate(studentLogits, teacherLogits, labels, wantsGradient: false).loss
  }

  /// The distillation loss and its gradient with respect to the student's logits.
  ///
  /// - Parameters:
  ///   - studentLogits: The student's raw scores, any rank >= 1, classes on ``classAxis``.
  ///   - teacherLogits: The teacher's raw scores, the same shape.
  ///   - labels: Class indices, as in ``loss(studentLogits:teacherLogits:labels:)``.
  /// - Returns: The loss and a gradient shaped like `studentLogits` (for `.none`, of the sum).
  /// - Throws: ``LossError``, as ``loss(studentLogits:teacherLogits:labels:)``.
  /// - Complexity: O(n) in the number of logits; O(C) extra memory besides the gradient.
  public func lossAndGradient<Scalar: BinaryFloatingPoint>(
    studentLogits: ShapedArray<Scalar>, teacherLogits: ShapedArray<Scalar>,
    labels: ShapedArray<Int>? = nil
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>) {
    let result = try evaluate(studentLogits, teacherLogits, labels, wantsGradient: true)
    return (result.loss, result.gradient!)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func evaluate<Scalar: BinaryFloatingPoint>(
    _ student: ShapedArray<Scalar>, _ teacher: ShapedArray<Scalar>, _ labels: ShapedArray<Int>?,
    wantsGradient: Bool
  ) throws(LossError) -> (loss: ShapedArray<Scalar>, gradient: ShapedArray<Scalar>?) {
    guard temperature > 0 && temperature.isFinite else {
      throw .invalidOption(
        "distillation temperature \(temperature) is invalid; expected a finite value > 0")
    }
    guard hardLabelWeight >= 0 && hardLabelWeight <= 1 else {
      throw .invalidOption("hard-label weight \(hardLabelWeight) is outside [0, 1]")
    }
    let layout = try ClassLayout(shape: student.shape, classAxis: classAxis, name: "student logits")
    guard teacher.shape == student.shape else {
      throw .shapeMismatch(
        "teacher logits shape \(describe(shape: teacher.shape)) does not match student logits"
          + " shape \(describe(shape: student.shape))")
    }
    if let labels {
      try layout.checkLabels(shape: labels.shape)
      try labels.withUnsafeBufferPointer { buffer throws(LossError) in
        try layout.checkLabelRange(buffer, ignoreIndex: ignoreIndex)
      }
    } else if hardLabelWeight != 0 {
      throw .invalidOption(
        "hard-label weight \(hardLabelWeight) needs labels; pass labels or a weight of 0")
    }
    if let fast = Kernels.distillation(
      student: student, teacher: teacher, labels: labels, layout: layout,
      temperature: temperature, hardLabelWeight: hardLabelWeight, ignoreIndex: ignoreIndex,
      reduction: reduction, wantsGradient: wantsGradient)
    {
      return fast
    }
    return Reference.distillation(
      student: student.scalars, teacher: teacher.scalars, labels: labels?.scalars,
      layout: layout, temperature: temperature, hardLabelWeight: hardLabelWeight,
      ignoreIndex: ignoreIndex, reduction: reduction, wantsGradient: wantsGradient)
  }
}
