import CrossEntropy

/// The global denominator of a data-parallel `.mean`, for the single-process losses'
/// `normalizer`.
///
/// When each data-parallel rank averages its own rows, ranks with fewer non-ignored labels
/// weigh more (huggingface/transformers#35203). With the global denominator as
/// ``SoftmaxCrossEntropy/normalizer`` (or ``LinearCrossEntropy/normalizer``) on every rank, the
/// ranks' `.mean` losses add up to the global batch's mean and each rank's gradient is that of
/// the global mean:
///
/// ```swift
/// let k = try DataParallel.normalizer(labels: myLabels, data: communicator)
/// let criterion = SoftmaxCrossEntropy(normalizer: k)
/// ```
///
/// With class weights and a z-loss together, the single-process losses divide both terms by
/// the one normaliser, whereas the batch's own mean divides the z-loss by the count of rows;
/// ``VocabParallelCrossEntropy`` with a `data` communicator keeps both denominators (use it
/// with a vocabulary group of one rank).
public enum DataParallel {
  /// The sum over every rank of `data` of the class weights of the non-ignored labels (their
  /// count without class weights): one sum all-reduce of one value, after the agreement on
  /// errors.
  ///
  /// - Parameters:
  ///   - labels: This rank's class indices.
  ///   - ignoreIndex: The label value to skip. Default `-100`.
  ///   - classWeights: The per-class weights (all `V`), or `nil`.
  ///   - data: The data-parallel ranks.
  /// - Returns: The global denominator, the same on every rank; 0 when every label is ignored.
  /// - Throws: ``DistributedError`` on every rank alike, for a label outside the class weights.
  public static func normalizer<Scalar: DistributedScalar>(
    labels: [Int], ignoreIndex: Int = -100, classWeights: [Scalar]? = nil,
    data: any Communicator
  ) throws(DistributedError) -> Double {
    var error: LossError? = nil
    var total = 0.0
    for (row, label) in labels.enumerated() where label != ignoreIndex {
      guard let classWeights else {
        total += 1
        continue
      }
      guard classWeights.indices.contains(label) else {
        error = LossError(
          .labelOutOfRange,
          "rank \(data.rank) of \(data.size): label \(label) at row \(row) is outside"
            + " 0..<\(classWeights.count) (ignore index \(ignoreIndex))")
        break
      }
      total += Double(classWeights[label])
    }
    try Agreement.agree(
      error,
      groups: [
        (
          data,
          [
            Agreement.Check(
              name: "whether there are class weights", value: classWeights == nil ? 0 : 1),
            Agreement.Check(name: "the ignore index", value: Double(ignoreIndex)),
          ]
        )
      ])
    do {
      return try data.allReduced([total], .sum)[0]
    } catch {
      throw .communication(error)
    }
  }
}
