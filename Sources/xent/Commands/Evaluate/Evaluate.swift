import ArgumentParser
import CrossEntropy
import NumPyIO

/// `xent evaluate`: a loss, and optionally its gradient, from NumPy `.npy` files.
///
/// The contract is in Docs/CLI.md. The losses come from ``LossRegistry``; this struct declares the
/// flags, reads the files, dispatches on the input's float dtype, and writes the outputs only
/// after everything has been computed (each through a temporary file and a rename).
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compute a loss, and optionally its gradient, from NumPy .npy files.",
    usage: """
      xent evaluate --loss <name> --input <x.npy> --target <y.npy> [<options>]
                    [--output <loss.npy>] [--gradient <grad.npy>]
      """,
    discussion: discussion)

  @Option(help: ArgumentHelp("The loss: \(LossRegistry.names).", valueName: "name"))
  var loss: String

  @Option(
    help: ArgumentHelp(
      "The input (logits, log-probabilities or probabilities): float16, float32 or float64"
        + " (or uint16 bfloat16 bits with --bfloat16).",
      valueName: "x.npy"))
  var input: String

  @Option(
    help: ArgumentHelp(
      "The target: class indices (int64, int32 or uint8) or a float array (not for info-nce"
        + " and clip).", valueName: "y.npy"))
  var target: String?

  @Option(
    help: ArgumentHelp(
      "Write the loss here: 0-d for mean/sum, per element for none; the input's dtype.",
      valueName: "loss.npy"))
  var output: String?

  @Option(
    help: ArgumentHelp(
      "Write d(loss)/d(input) here: the input's shape and dtype (for none: of the sum).",
      valueName: "grad.npy"))
  var gradient: String?

  @Option(
    help: ArgumentHelp(
      "How per-element losses are combined: none, mean, sum; batchmean for kl-div."
        + " Default: mean.", valueName: "r"))
  var reduction: ReductionOption?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "The input axis holding the classes; negative counts from the end. Default: -1."
        + " PyTorch's (N, C, d1, ...) layout is axis 1.", valueName: "k"))
  var classAxis: Int?

  @Option(
    help: ArgumentHelp(
      "Per-class weights (1-d, the input's dtype) or, for binary losses, weights broadcast"
        + " against the target.", valueName: "w.npy"))
  var weight: String?

  @Option(
    help: ArgumentHelp(
      "Positive-class weights broadcast against the target (binary-cross-entropy-with-logits).",
      valueName: "p.npy"))
  var posWeight: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("A target value to ignore. Default: -100.", valueName: "n"))
  var ignoreIndex: Int?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Label smoothing in [0, 1]. Default: 0.", valueName: "e"))
  var labelSmoothing: Double?

  @Flag(help: "kl-div: the target holds log-probabilities.")
  var logTarget = false

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("multi-margin: the margin. Default: 1.", valueName: "m"))
  var margin: Double?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("multi-margin: the exponent, 1 or 2. Default: 1.", valueName: "p"))
  var p: Int?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "focal: the class balance alpha (negative: none). Default: 0.25.", valueName: "a"))
  var alpha: Double?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("focal: the focusing exponent gamma. Default: 2.", valueName: "g"))
  var gamma: Double?

  @Option(help: ArgumentHelp("ctc: the input lengths, one per batch item.", valueName: "l.npy"))
  var inputLengths: String?

  @Option(help: ArgumentHelp("ctc: the target lengths, one per batch item.", valueName: "l.npy"))
  var targetLengths: String?

  @Option(
    parsing: .unconditional, help: ArgumentHelp("ctc: the blank class. Default: 0.", valueName: "b")
  )
  var blank: Int?

  @Flag(help: "ctc: replace infinite losses and their gradients by 0.")
  var zeroInfinity = false

  @Flag(
    help: ArgumentHelp(
      "cross-entropy: --input (and --weight) hold bfloat16 values as raw bits in a uint16 .npy"
        + " (NumPy has no bfloat16); class-index targets only. The loss is written as float32,"
        + " the gradient as uint16 bfloat16 bits; --sample-weight and --upstream-gradient are"
        + " bfloat16 bits or float32."))
  var bfloat16 = false

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "cross-entropy, linear-cross-entropy: the z-loss scale s (s * logsumexp^2 per row)."
        + " Default: 0.",
      valueName: "s"))
  var zLossScale: Double?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "cross-entropy, linear-cross-entropy: the logit soft cap c (c * tanh(x / c))."
        + " Default: none.",
      valueName: "c"))
  var logitSoftCap: Double?

  @Option(
    help: ArgumentHelp(
      "linear-cross-entropy: the classifier weight, V x D (nn.Linear's layout), the input's"
        + " dtype.", valueName: "W.npy"))
  var classifier: String?

  @Option(
    help: ArgumentHelp(
      "linear-cross-entropy: the classifier's bias, V elements, the input's dtype.",
      valueName: "B.npy"))
  var bias: String?

  @Option(
    help: ArgumentHelp(
      "linear-cross-entropy: write d(loss)/d(classifier) here (its shape and dtype).",
      valueName: "DW.npy"))
  var classifierGradient: String?

  @Option(
    help: ArgumentHelp(
      "linear-cross-entropy: write d(loss)/d(bias) here (needs --bias).", valueName: "DB.npy"))
  var biasGradient: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "every loss with a mean (cross-entropy, nll, softmax-focal, poly, linear-cross-entropy,"
        + " focal, binary-cross-entropy(-with-logits), kl-div (mean and batchmean), mse,"
        + " multi-margin, distillation, ctc, info-nce, clip): divide the mean by K (finite, > 0)"
        + " instead of the batch's own denominator, e.g. the global count of non-ignored tokens;"
        + " ctc still divides each loss by its target length, clip each direction's sum by K.",
      valueName: "K"))
  var normalizer: Double?

  @Option(
    help: ArgumentHelp(
      "cross-entropy, nll, softmax-focal, poly, linear-cross-entropy: what a mean with nothing"
        + " to average gives (every target ignored): nan (PyTorch's 0/0, the default) or zero,"
        + " both with a zero gradient."))
  var allIgnored: AllIgnoredMean?

  @Option(
    help: ArgumentHelp(
      "cross-entropy, nll, softmax-focal, poly, linear-cross-entropy: one weight per row (the"
        + " target's shape without the class axis), the input's dtype; the mean divides by the"
        + " sum of sample weight times class weight over non-ignored rows. focal: one weight per"
        + " leading row (axis 0), the mean over all elements.", valueName: "S.npy"))
  var sampleWeight: String?

  @Option(
    help: ArgumentHelp(
      "cross-entropy, nll, softmax-focal, poly, binary-cross-entropy(-with-logits), kl-div,"
        + " mse, multi-margin, distillation, ctc, info-nce, clip, linear-cross-entropy, focal:"
        + " with --gradient (or another gradient output), write the"
        + " vector-Jacobian product with G (shaped like the loss: per row or element for none,"
        + " 0-d for mean, sum and clip), as loss.backward(gradient=G).",
      valueName: "G.npy"))
  var upstreamGradient: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "poly: the coefficient of 1 - p_t (finite; optax's default). Default: 2.",
      valueName: "e"))
  var epsilon: Double?

  @Option(
    help: ArgumentHelp(
      "distillation: the teacher's logits, the input's shape and dtype.", valueName: "T.npy"))
  var teacher: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "distillation: the softening temperature; info-nce: the temperature dividing the"
        + " similarities (> 0). Default: 1.", valueName: "T")
  )
  var temperature: Double?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "distillation: the weight in [0, 1] of the hard-label cross-entropy. Default: 0.",
      valueName: "w"))
  var hardLabelWeight: Double?

  @Option(
    help: ArgumentHelp(
      "clip: the text embeddings, N x D like --input (the image embeddings).", valueName: "T.npy"))
  var text: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "clip: the log of the factor of the similarities (CLIP's logit_scale)."
        + " Default: log(1 / 0.07).", valueName: "s"))
  var logitScale: Double?

  @Flag(help: "clip: use the embeddings as given, without L2-normalising them first.")
  var noNormalize = false

  @Option(
    help: ArgumentHelp(
      "clip: write d(loss)/d(text embeddings) here (the --text shape, the input's dtype).",
      valueName: "DT.npy"))
  var textGradient: String?

  @Option(
    help: ArgumentHelp(
      "info-nce: write d(loss)/d(temperature) here (0-d, the input's dtype).",
      valueName: "DT.npy"))
  var temperatureGradient: String?

  @Option(
    help: ArgumentHelp(
      "clip: write d(loss)/d(logit scale) here (0-d, the input's dtype).", valueName: "DS.npy"))
  var logitScaleGradient: String?

  /// The output flags besides `--output` and `--gradient`, with their paths when given.
  var extraOutputs: [(EvaluateOption, String?)] {
    [
      (.classifierGradient, classifierGradient), (.biasGradient, biasGradient),
      (.textGradient, textGradient), (.temperatureGradient, temperatureGradient),
      (.logitScaleGradient, logitScaleGradient),
    ]
  }

  func validate() throws {
    guard let lossType = LossRegistry.loss(named: loss) else {
      throw ValidationError("unknown loss '\(loss)'; expected one of \(LossRegistry.names)")
    }
    if let stray = givenOptions.first(where: { !lossType.options.contains($0) }) {
      let accepted = EvaluateOption.allCases.filter { lossType.options.contains($0) }
      throw ValidationError(
        "\(stray.rawValue) does not apply to \(loss); it takes "
          + (accepted.isEmpty ? "no options" : accepted.map(\.rawValue).joined(separator: ", ")))
    }
    let outputs =
      ([("--output", output), ("--gradient", gradient)] + extraOutputs.map { ($0.0.rawValue, $0.1) })
      .compactMap { flag, path in path.map { (flag, $0) } }
    for (i, first) in outputs.enumerated() {
      if let second = outputs[(i + 1)...].first(where: { nameTheSameFile($0.1, first.1) }) {
        throw ValidationError("\(first.0) and \(second.0) name the same file '\(first.1)'")
      }
    }
    // The upstream gradient needs a gradient output: --gradient, or another (the classifier's
    // and bias's of linear-cross-entropy, those of clip).
    if upstreamGradient != nil, gradient == nil, !extraOutputs.contains(where: { $0.1 != nil }) {
      throw ValidationError("--upstream-gradient needs --gradient, where the product is written")
    }
    // Writing an output over an input would destroy data the user may not have elsewhere.
    let inputs = [
      ("--input", input), ("--target", target), ("--weight", weight), ("--pos-weight", posWeight),
      ("--input-lengths", inputLengths), ("--target-lengths", targetLengths),
      ("--classifier", classifier), ("--bias", bias), ("--sample-weight", sampleWeight),
      ("--upstream-gradient", upstreamGradient), ("--teacher", teacher), ("--text", text),
    ].compactMap { flag, path in path.map { (flag, $0) } }
    for (flag, path) in outputs {
      if let named = inputs.first(where: { nameTheSameFile($0.1, path) }) {
        throw ValidationError(
          "\(flag) '\(path)' names the \(named.0) file '\(named.1)'; an output must not"
            + " overwrite an input")
      }
    }
  }

  #if MPI
    @Flag(
      help: ArgumentHelp(
        "Under mpirun: split the classes over the ranks (cross-entropy with class indices on the"
          + " last axis, linear-cross-entropy); rank 0 writes the outputs."))
    var vocabParallel = false
  #endif

  func run() throws {
    let text = try execute()
    if !text.isEmpty { print(text) }
  }

  /// Reads the files, computes, writes the outputs, and returns the text for standard output.
  ///
  /// - Throws: ``CLIError`` with one line; no output file is written then.
  func execute() throws(CLIError) -> String {
    #if MPI
      if vocabParallel { return try executeVocabParallel() }
    #endif
    guard let lossType = LossRegistry.loss(named: loss) else {
      throw CLIError("unknown loss '\(loss)'; expected one of \(LossRegistry.names)")
    }
    let inputArray = try read("--input", input)!.array
    let request = EvaluationPieces(
      lossName: loss, inputArray: inputArray, inputPath: input,
      target: try targetArray(of: lossType), options: try options(),
      wantsGradient: gradient != nil)
    let outputs: EncodedOutputs
    if bfloat16 || inputArray.dtype == .uint16 {
      guard bfloat16 else {
        throw CLIError(
          "--input \(input) has dtype uint16; for bfloat16 logits stored as uint16 bits add"
            + " --bfloat16, else give float16, float32 or float64")
      }
      guard inputArray.dtype == .uint16 else {
        throw CLIError(
          "--bfloat16: --input \(input) has dtype \(inputArray.dtype.rawValue); expected uint16"
            + " (bfloat16 bit patterns)")
      }
      outputs = try BFloat16CrossEntropyEvaluation.evaluate(request)
    } else {
      outputs = try evaluate(request, lossType, dtype: inputArray.dtype)
    }
    var files: [(flag: String, path: String, array: NumPyArray)] = []
    if let output { files.append(("--output", output, outputs.loss)) }
    if let gradient, let array = outputs.gradient { files.append(("--gradient", gradient, array)) }
    if let classifierGradient, let array = outputs.classifierGradient {
      files.append(("--classifier-gradient", classifierGradient, array))
    }
    if let biasGradient, let array = outputs.biasGradient {
      files.append(("--bias-gradient", biasGradient, array))
    }
    for (option, path) in extraOutputs {
      if let path, let array = outputs.extra[option] {
        files.append((option.rawValue, path, array))
      }
    }
    try writeAtomically(files)
    return outputs.summary
  }

  /// `--target` as read, required for every loss that takes one; a loss that takes none
  /// (``EvaluableLoss/takesTarget``) refuses it and gets an empty placeholder.
  private func targetArray(of lossType: any EvaluableLoss.Type) throws(CLIError) -> LoadedArray {
    guard lossType.takesTarget else {
      if target != nil {
        throw CLIError("--target does not apply to \(loss); it reads no target file")
      }
      return LoadedArray(flag: "--target", path: "", array: EvaluationPieces.noTarget)
    }
    guard let loaded = try read("--target", target) else {
      throw CLIError("\(loss) needs --target y.npy")
    }
    return loaded
  }

  /// Evaluates a request whose input is a float array, in the input's dtype.
  private func evaluate(
    _ request: EvaluationPieces, _ lossType: any EvaluableLoss.Type, dtype: NumPyDType
  ) throws(CLIError) -> EncodedOutputs {
    let outputs: EncodedOutputs
    switch dtype {
    case .float32: outputs = try request.evaluate(lossType, as: Float.self)
    case .float64: outputs = try request.evaluate(lossType, as: Double.self)
    case .float16:
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        outputs = try request.evaluate(lossType, as: Float16.self)
      #else
        throw CLIError("--input \(input): float16 is not available on this platform")
      #endif
    default:
      throw CLIError(
        "--input \(input) has dtype \(dtype.rawValue); expected float16, float32 or float64")
    }
    return outputs
  }

  /// The optional flags that were given, in declaration order.
  var givenOptions: [EvaluateOption] {
    let given: [(EvaluateOption, Bool)] = [
      (.reduction, reduction != nil), (.classAxis, classAxis != nil), (.weight, weight != nil),
      (.posWeight, posWeight != nil), (.ignoreIndex, ignoreIndex != nil),
      (.labelSmoothing, labelSmoothing != nil), (.logTarget, logTarget), (.margin, margin != nil),
      (.p, p != nil), (.alpha, alpha != nil), (.gamma, gamma != nil),
      (.inputLengths, inputLengths != nil), (.targetLengths, targetLengths != nil),
      (.blank, blank != nil), (.zeroInfinity, zeroInfinity), (.bfloat16, bfloat16),
      (.zLossScale, zLossScale != nil), (.logitSoftCap, logitSoftCap != nil),
      (.classifier, classifier != nil), (.bias, bias != nil),
      (.classifierGradient, classifierGradient != nil), (.biasGradient, biasGradient != nil),
      (.normalizer, normalizer != nil), (.allIgnored, allIgnored != nil),
      (.sampleWeight, sampleWeight != nil),
      (.upstreamGradient, upstreamGradient != nil), (.epsilon, epsilon != nil),
      (.teacher, teacher != nil), (.temperature, temperature != nil),
      (.hardLabelWeight, hardLabelWeight != nil), (.text, text != nil),
      (.logitScale, logitScale != nil), (.noNormalize, noNormalize),
      (.textGradient, textGradient != nil), (.temperatureGradient, temperatureGradient != nil),
      (.logitScaleGradient, logitScaleGradient != nil),
    ]
    return given.filter(\.1).map(\.0)
  }

  func options() throws(CLIError) -> EvaluationOptions {
    var options = EvaluationOptions()
    options.reduction = reduction ?? options.reduction
    options.classAxis = classAxis ?? options.classAxis
    options.weight = try read("--weight", weight)
    options.posWeight = try read("--pos-weight", posWeight)
    options.ignoreIndex = ignoreIndex ?? options.ignoreIndex
    options.labelSmoothing = labelSmoothing ?? options.labelSmoothing
    options.logTarget = logTarget
    options.margin = margin ?? options.margin
    options.p = p ?? options.p
    options.alpha = alpha ?? options.alpha
    options.gamma = gamma ?? options.gamma
    options.inputLengths = try read("--input-lengths", inputLengths)
    options.targetLengths = try read("--target-lengths", targetLengths)
    options.blank = blank ?? options.blank
    options.zeroInfinity = zeroInfinity
    options.zLossScale = zLossScale ?? options.zLossScale
    options.logitSoftCap = logitSoftCap
    options.classifier = try read("--classifier", classifier)
    options.bias = try read("--bias", bias)
    options.normalizer = normalizer
    options.allIgnored = allIgnored ?? options.allIgnored
    options.sampleWeight = try read("--sample-weight", sampleWeight)
    options.upstreamGradient = try read("--upstream-gradient", upstreamGradient)
    options.epsilon = epsilon ?? options.epsilon
    options.teacher = try read("--teacher", teacher)
    options.temperature = temperature ?? options.temperature
    options.hardLabelWeight = hardLabelWeight ?? options.hardLabelWeight
    options.wantsClassifierGradient = classifierGradient != nil
    options.wantsBiasGradient = biasGradient != nil
    options.text = try read("--text", text)
    options.logitScale = logitScale ?? options.logitScale
    options.normalizes = !noNormalize
    options.wantsTextGradient = textGradient != nil
    options.wantsTemperatureGradient = temperatureGradient != nil
    options.wantsLogitScaleGradient = logitScaleGradient != nil
    return options
  }

  func read(_ flag: String, _ path: String?) throws(CLIError) -> LoadedArray? {
    guard let path else { return nil }
    do {
      return LoadedArray(flag: flag, path: path, array: try NumPyArray(contentsOf: path))
    } catch {
      throw CLIError("\(flag) \(error.message)")
    }
  }

  private static var discussion: String {
    let losses = LossRegistry.all.map { loss in
      let flags = EvaluateOption.allCases.filter { loss.options.contains($0) }.map(\.rawValue)
      let options = "options: " + (flags.isEmpty ? "none" : flags.joined(separator: " "))
      // Wrapped here: ArgumentParser would re-wrap long lines without the indentation.
      let lines =
        ["  \(loss.name)"] + wrappedLines(loss.summary, width: 79, indent: 6)
        + wrappedLines(options, width: 79, indent: 6)
      return lines.joined(separator: "\n")
    }
    return """
      Losses:
      \(losses.joined(separator: "\n"))

      Semantics follow torch.nn.functional. The loss is computed in the input's dtype
      and printed on standard output with full precision (for --reduction none, a
      summary). Any bad input prints one line on standard error, exits non-zero and
      writes no file.

      Example (PyTorch's layout, classes on axis 1):
        xent evaluate --loss cross-entropy --input x.npy --target y.npy \\
          --class-axis 1 --label-smoothing 0.1 --output loss.npy --gradient grad.npy

      bfloat16 (cross-entropy): save the logits' bits, x.view(torch.uint16).numpy(),
      and add --bfloat16; the loss is float32, the gradient uint16 bfloat16 bits.
      """
  }
}

extension ReductionOption: ExpressibleByArgument {}
extension AllIgnoredMean: ExpressibleByArgument {}

/// The pieces of a request before the input's float type is known.
struct EvaluationPieces {
  var lossName: String
  var inputArray: NumPyArray
  var inputPath: String
  var target: LoadedArray
  var options: EvaluationOptions
  var wantsGradient: Bool

  /// The target of a loss that takes none (an empty float32 array, never read).
  static let noTarget = try! NumPyArray(shape: [0], scalars: [Float]())

  /// Evaluates `lossType` in `Scalar`, the input's dtype, and encodes the results.
  func evaluate<Scalar: EvaluationScalar>(
    _ lossType: any EvaluableLoss.Type, as type: Scalar.Type
  ) throws(CLIError) -> EncodedOutputs {
    let input: ShapedArray<Scalar>
    do {
      input = try ShapedArray(
        shape: inputArray.shape, scalars: inputArray.scalars(as: Scalar.self))
    } catch {
      throw CLIError("--input \(inputPath): \(error)")
    }
    let request = EvaluationRequest(
      lossName: lossName, input: input, inputPath: inputPath, target: target, options: options,
      wantsGradient: wantsGradient)
    let result = try lossType.evaluate(request)
    var extra: [EvaluateOption: NumPyArray] = [:]
    func encoded(_ array: ShapedArray<Scalar>?) throws(NumPyError) -> NumPyArray? {
      guard let array else { return nil }
      return try NumPyArray(shape: array.shape, scalars: array.scalars)
    }
    do {
      for (option, array) in result.extraGradients { extra[option] = try encoded(array) }
      return EncodedOutputs(
        loss: try NumPyArray(shape: result.loss.shape, scalars: result.loss.scalars),
        gradient: try encoded(result.gradient),
        summary: lossSummary(result.loss.scalars, shape: result.loss.shape),
        classifierGradient: try encoded(result.classifierGradient),
        biasGradient: try encoded(result.biasGradient), extra: extra)
    } catch {
      throw CLIError("\(lossName): cannot encode the result: \(error.message)")
    }
  }
}

/// The encoded loss and gradient, and the standard-output text.
struct EncodedOutputs {
  var loss: NumPyArray
  var gradient: NumPyArray?
  var summary: String
  var classifierGradient: NumPyArray? = nil
  var biasGradient: NumPyArray? = nil
  /// The other gradients (``EvaluationResult/extraGradients``), by their output flag.
  var extra: [EvaluateOption: NumPyArray] = [:]
}

/// The standard-output text of a loss: a reduced (0-d) loss with full precision, or for
/// `--reduction none` the count, shape, sum and mean of the per-element losses.
///
/// Values print in the loss's own type (float16 sums and means in float32, whose range they
/// need), so a float32 loss of 1.1 prints as `1.1`, not as its widened double.
func lossSummary<Scalar: EvaluationScalar>(_ losses: [Scalar], shape: [Int]) -> String {
  if shape.isEmpty { return formatted(losses[0]) }
  let sum = losses.reduce(0.0) { $0 + Double($1) }
  let mean = losses.isEmpty ? Double.nan : sum / Double(losses.count)
  func accumulated(_ value: Double) -> String {
    Scalar.self == Double.self ? formatted(value) : formatted(Float(value))
  }
  let count = losses.count == 1 ? "1 loss" : "\(losses.count) losses"
  return "none: \(count) of shape \(describe(shape)), sum \(accumulated(sum)),"
    + " mean \(accumulated(mean))"
}

/// `value` with full precision in its own type; NaN prints as `nan` whatever its sign bit.
func formatted<Scalar: EvaluationScalar>(_ value: Scalar) -> String {
  value.isNaN ? "nan" : value.description
}
