import CrossEntropy
import NumPyIO

/// `--reduction`: PyTorch's values, plus `batchmean` for kl-div.
enum ReductionOption: String, CaseIterable, Sendable {
  case none, mean, sum, batchmean
}

/// The values of `xent evaluate`'s optional flags, with the files already read.
struct EvaluationOptions {
  var reduction = ReductionOption.mean
  var classAxis = -1
  var weight: LoadedArray?
  var posWeight: LoadedArray?
  var ignoreIndex = -100
  var labelSmoothing = 0.0
  var logTarget = false
  var margin = 1.0
  var p = 1
  var alpha = 0.25
  var gamma = 2.0
  var inputLengths: LoadedArray?
  var targetLengths: LoadedArray?
  var blank = 0
  var zeroInfinity = false
  var zLossScale = 0.0
  var logitSoftCap: Double?
  var classifier: LoadedArray?
  var bias: LoadedArray?
  /// `--normalizer`: the mean's denominator instead of the batch's own.
  var normalizer: Double?
  /// `--all-ignored`: what a mean with nothing to average gives.
  var allIgnored = AllIgnoredMean.nan
  /// `--sample-weight`: one weight per row.
  var sampleWeight: LoadedArray?
  /// `--upstream-gradient`: the vector-Jacobian product's vector, shaped like the loss.
  var upstreamGradient: LoadedArray?
  /// `--epsilon` of poly.
  var epsilon = 2.0
  /// `--teacher` of distillation.
  var teacher: LoadedArray?
  /// `--temperature` of distillation.
  var temperature = 1.0
  /// `--hard-label-weight` of distillation.
  var hardLabelWeight = 0.0
  /// `--text` of clip: the text embeddings.
  var text: LoadedArray?
  /// `--logit-scale` of clip: CLIP's initial `log(1 / 0.07)` by default.
  var logitScale = 2.659260036932778  // log(1 / 0.07)
  /// Whether clip L2-normalises the embeddings (not `--no-normalize`).
  var normalizes = true
  /// Whether `--classifier-gradient` and `--bias-gradient` were given.
  var wantsClassifierGradient = false
  var wantsBiasGradient = false
  /// Whether `--text-gradient`, `--temperature-gradient` and `--logit-scale-gradient` were
  /// given.
  var wantsTextGradient = false
  var wantsTemperatureGradient = false
  var wantsLogitScaleGradient = false
}

/// An array read from a `.npy` file, with the flag and path it came from for error messages.
struct LoadedArray {
  /// The flag that named the file, such as `--weight`.
  var flag: String
  /// The file's path.
  var path: String
  /// The contents.
  var array: NumPyArray

  /// `--weight w.npy`, for messages.
  var label: String { "\(flag) \(path)" }
}

/// Everything a loss needs to evaluate: the input in its own float type, the target as read,
/// and the options.
struct EvaluationRequest<Scalar: EvaluationScalar> {
  /// The `--loss` name.
  var lossName: String
  /// `--input`, converted to `Scalar` (its own dtype).
  var input: ShapedArray<Scalar>
  /// The `--input` file name, for messages.
  var inputPath: String
  /// `--target` as read.
  var target: LoadedArray
  /// The optional flags.
  var options: EvaluationOptions
  /// Whether `--gradient` was given.
  var wantsGradient: Bool

  /// The input's dtype name, for messages.
  var inputDType: NumPyDType { Scalar.numPyDType }

  /// `--reduction` as the library's ``Reduction``; `batchmean` is an error here.
  func reduction() throws(CLIError) -> Reduction {
    switch options.reduction {
    case .none: return .none
    case .mean: return .mean
    case .sum: return .sum
    case .batchmean:
      throw CLIError(
        "--reduction batchmean is not valid for \(lossName); expected none, mean or sum")
    }
  }

  /// The target as class indices. PyTorch takes int64 or uint8; int32 is accepted too.
  func classLabels() throws(CLIError) -> ShapedArray<Int> {
    try readClassLabels(target, lossName: lossName)
  }

  /// The target as floats converted to the input's type.
  ///
  /// - Parameter requireSameDType: Refuse a float target of another dtype, as PyTorch's
  ///   `binary_cross_entropy` does.
  func floatTarget(requireSameDType: Bool = false) throws(CLIError) -> ShapedArray<Scalar> {
    try floats(target, requireSameDType: requireSameDType)
  }

  /// A float array (weights, positive weights, targets) converted to the input's type.
  func floats(_ loaded: LoadedArray, requireSameDType: Bool = false) throws(CLIError)
    -> ShapedArray<Scalar>
  {
    let array = loaded.array
    guard array.dtype.isFloatingPoint else {
      throw CLIError(
        "\(loaded.label): \(lossName) expects a float array (float16, float32 or float64),"
          + " got \(array.dtype.rawValue)")
    }
    guard !requireSameDType || array.dtype == inputDType else {
      throw CLIError(
        "\(loaded.label) has dtype \(array.dtype.rawValue) but --input \(inputPath) has"
          + " \(inputDType.rawValue); \(lossName) needs the same dtype (as PyTorch)")
    }
    let values: [Scalar]
    if array.dtype == inputDType, let same = try? array.scalars(as: Scalar.self) {
      values = same
    } else {
      values = array.doubles().map { Scalar($0) }
    }
    return try shaped(array.shape, values, from: loaded)
  }

  /// `--weight` as per-class weights: a 1-d float array of the input's dtype, as PyTorch
  /// requires. The loss checks that it has one weight per class.
  func classWeights() throws(CLIError) -> [Scalar]? {
    guard let weight = options.weight else { return nil }
    guard weight.array.shape.count == 1 else {
      throw CLIError(
        "\(weight.label) has shape \(describe(weight.array.shape)); expected a 1-d array with"
          + " one weight per class")
    }
    return try floats(weight, requireSameDType: true).scalars
  }

  /// `--sample-weight`, in the input's dtype, or nil.
  func sampleWeights() throws(CLIError) -> ShapedArray<Scalar>? {
    try options.sampleWeight.map { s throws(CLIError) in try floats(s, requireSameDType: true) }
  }

  /// `--upstream-gradient`, in the input's dtype, or nil.
  func upstreamGradient() throws(CLIError) -> ShapedArray<Scalar>? {
    try options.upstreamGradient.map { g throws(CLIError) in
      try floats(g, requireSameDType: true)
    }
  }

  /// Runs a library call, turning its ``LossError`` into a message that names the loss and
  /// the files.
  func run(
    _ body: () throws(LossError) -> (ShapedArray<Scalar>, ShapedArray<Scalar>?)
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    do {
      let (loss, gradient) = try body()
      return EvaluationResult(loss: loss, gradient: gradient)
    } catch {
      throw CLIError(
        "\(lossName) (--input \(inputPath), --target \(target.path)): \(error.message)"
          + classAxisHint)
    }
  }

  /// A hint for class indices laid out as PyTorch's `(N, C, d1, ...)` while the classes are
  /// read from another axis: the target has the input's shape without axis 1.
  private var classAxisHint: String {
    let shape = input.shape
    let axis = options.classAxis < 0 ? options.classAxis + shape.count : options.classAxis
    guard shape.count >= 3, axis != 1, !target.array.dtype.isFloatingPoint else { return "" }
    var pyTorchLabels = shape
    pyTorchLabels.remove(at: 1)
    guard target.array.shape == pyTorchLabels else { return "" }
    return "; for PyTorch's (N, C, d1, ...) layout add --class-axis 1"
  }

  private func shaped<T>(_ shape: [Int], _ values: [T], from loaded: LoadedArray)
    throws(CLIError) -> ShapedArray<T>
  {
    do {
      return try ShapedArray(shape: shape, scalars: values)
    } catch {
      throw CLIError("\(loaded.label): \(error.message)")
    }
  }
}

/// A target file as class indices (int64, int32 or uint8), for `lossName`'s messages.
func readClassLabels(_ target: LoadedArray, lossName: String) throws(CLIError) -> ShapedArray<Int> {
  let array = target.array
  guard [.int64, .int32, .uint8].contains(array.dtype) else {
    throw CLIError(
      "\(target.label): \(lossName) expects class indices of dtype int64, int32 or uint8,"
        + " got \(array.dtype.rawValue)")
  }
  let values: [Int]
  do { values = try array.integers() } catch { throw CLIError(error.prefixed(target.label)) }
  do {
    return try ShapedArray(shape: array.shape, scalars: values)
  } catch {
    throw CLIError("\(target.label): \(error.message)")
  }
}

/// Formats a shape as the library's messages do: `[4, 10]`.
func describe(_ shape: [Int]) -> String {
  "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
