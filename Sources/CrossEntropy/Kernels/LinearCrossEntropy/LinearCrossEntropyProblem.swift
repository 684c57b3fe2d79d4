/// Everything the language-model head's schedule needs besides the data, validated: the sizes,
/// the softmax cross-entropy options, the mean's denominators and the scratch bound.
struct LinearCrossEntropyProblem: Sendable {
  /// The number of rows `N` (tokens).
  var rows: Int
  /// The hidden size `D`.
  var hiddenSize: Int
  /// The number of classes `V` (the vocabulary).
  var classes: Int
  var ignoreIndex: Int
  var labelSmoothing: Double
  var reduction: Reduction
  var zLossScale: Double
  var logitSoftCap: Double?
  /// The denominators of `.mean` for the whole batch (a caller's normaliser, or counted from
  /// the labels), handed to every chunk.
  var denominators: MeanDenominators
  /// The most bytes of logits the schedule keeps at once.
  var scratchLimit: Int
  /// Whether the weight and bias gradients are added to (rather than written over).
  var accumulates: Bool
  /// The sample weights and upstream gradient of the rows (nil: none), which multiply each
  /// row's loss and the row of the logits' gradient that every product reads; with them,
  /// ``denominators`` are the weighted ones.
  var rowScales: RowScales? = nil

  /// The fewest rows a row chunk has before the schedule splits the vocabulary instead: below
  /// this, the matrix products would read the whole classifier for too few rows.
  static let minimumRowBlock = 16

  /// The softmax problem of one chunk of `rows` full rows of logits, from row `first` on.
  func chunk(rows: Int, from first: Int) -> SoftmaxProblem {
    SoftmaxProblem(
      layout: try! ClassLayout(shape: [rows, classes], classAxis: -1),
      ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction,
      zLossScale: zLossScale, logitSoftCap: logitSoftCap, denominators: denominators,
      rowScales: rowScales?.rows(from: first))
  }

  /// How the schedule cuts the logits for logits of `elementBytes` bytes each.
  enum Blocking: Equatable {
    /// Chunks of `rows` full rows (the last may be shorter): Liger-Kernel's schedule.
    case rows(Int)
    /// Blocks of `rows` rows and `classes` classes: two passes over the vocabulary.
    case vocabulary(rows: Int, classes: Int)
  }

  /// The blocking for logits of `elementBytes` bytes: full rows in chunks of equal size when
  /// ``minimumRowBlock`` rows (or all, if fewer) fit in ``scratchLimit``, else blocks of that
  /// many rows and as many classes as fit (at least 1). Depends only on the problem's sizes,
  /// never on the thread count.
  func blocking(elementBytes: Int) -> Blocking {
    let budget = max(1, scratchLimit / elementBytes)
    let minimum = max(1, min(rows, Self.minimumRowBlock))
    let fitting = budget / classes
    if fitting >= minimum {
      let perChunk = max(1, min(rows, fitting))
      let chunks = (rows + perChunk - 1) / perChunk
      return .rows(chunks == 0 ? perChunk : (rows + chunks - 1) / chunks)
    }
    let blockRows = max(1, min(minimum, budget))
    let perBlock = max(1, budget / blockRows)
    let blocks = (classes + perBlock - 1) / perBlock
    return .vocabulary(rows: blockRows, classes: (classes + blocks - 1) / blocks)
  }
}
