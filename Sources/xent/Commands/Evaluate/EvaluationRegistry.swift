import CrossEntropy
import NumPyIO

// MARK: - Adding a loss to `xent evaluate`
//
// 1. Write `Sources/xent/Commands/Evaluate/Losses/<Name>Evaluation.swift` with a type conforming
//    to `EvaluableLoss`. This one wraps ``MeanSquaredError``:
//
//      enum ExampleSquaredErrorEvaluation: EvaluableLoss {
//        static let name = "example-squared-error"
//        static let summary = "Mean squared error (F.mse_loss), as the recipe's example."
//        static let options: Set<EvaluateOption> = [.reduction]
//        static func evaluate<Scalar: EvaluationScalar>(
//          _ request: EvaluationRequest<Scalar>
//        ) throws(CLIError) -> EvaluationResult<Scalar> {
//          let targets = try request.floatTarget()  // or request.classLabels()
//          let criterion = MeanSquaredError(reduction: try request.reduction())
//          let input = request.input
//          return try request.run { () throws(LossError) in
//            request.wantsGradient
//              ? try criterion.lossAndGradient(predictions: input, targets: targets)
//              : (try criterion.loss(predictions: input, targets: targets), nil)
//          }
//        }
//      }
//
// 2. Add the type to `LossRegistry.all` below (one line).
//
// Tests/xentTests/EvaluationRecipeTests.swift compiles this example as written, registers it in
// a test-only registry and checks it against `--loss mse`; keep the two in step.
//
// `options` lists the flags the loss reads; `xent evaluate` rejects any other flag the user gives
// for it. The flags themselves live in `Evaluate` (every flag of Docs/CLI.md's table);
// their values reach the loss through `request.options`, and the helpers on `EvaluationRequest`
// load targets and weights with PyTorch's dtype rules and file-naming error messages.

/// The losses `xent evaluate --loss NAME` knows, in the order `--help` lists them.
enum LossRegistry {
  /// Every registered loss. Add new losses here.
  static var all: [any EvaluableLoss.Type] {
    [
      CrossEntropyEvaluation.self,
      NegativeLogLikelihoodEvaluation.self,
      BinaryCrossEntropyEvaluation.self,
      BinaryCrossEntropyWithLogitsEvaluation.self,
      KLDivergenceEvaluation.self, MeanSquaredErrorEvaluation.self, MultiMarginEvaluation.self,
      SigmoidFocalEvaluation.self, SoftmaxFocalEvaluation.self,
      CTCEvaluation.self,
      LinearCrossEntropyEvaluation.self,
      PolyEvaluation.self, DistillationEvaluation.self,
      InfoNCEEvaluation.self, CLIPEvaluation.self,
    ]
  }

  /// The loss registered under `name`, or `nil`.
  static func loss(named name: String) -> (any EvaluableLoss.Type)? {
    all.first { $0.name == name }
  }

  /// The registered names, comma-separated.
  static var names: String { all.map { $0.name }.joined(separator: ", ") }
}

/// A loss that `xent evaluate` can compute from `.npy` files.
protocol EvaluableLoss {
  /// The `--loss` name, in kebab case (PyTorch's function name with dashes).
  static var name: String { get }
  /// One line for `--help`, naming the PyTorch equivalent.
  static var summary: String { get }
  /// The flags this loss reads besides `--input`, `--target`, `--output` and `--gradient`.
  static var options: Set<EvaluateOption> { get }
  /// Whether the loss reads `--target` (default true; info-nce's targets are the diagonal, clip
  /// pairs `--input` with `--text`).
  static var takesTarget: Bool { get }
  /// Computes the loss, and the gradient with respect to the input when
  /// `request.wantsGradient`.
  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar>
}

extension EvaluableLoss {
  static var takesTarget: Bool { true }
}

/// The optional flags of `xent evaluate`, so that each loss can say which ones it reads.
enum EvaluateOption: String, CaseIterable, Hashable, Sendable {
  case reduction = "--reduction"
  case classAxis = "--class-axis"
  case weight = "--weight"
  case posWeight = "--pos-weight"
  case ignoreIndex = "--ignore-index"
  case labelSmoothing = "--label-smoothing"
  case logTarget = "--log-target"
  case margin = "--margin"
  case p = "--p"
  case alpha = "--alpha"
  case gamma = "--gamma"
  case inputLengths = "--input-lengths"
  case targetLengths = "--target-lengths"
  case blank = "--blank"
  case zeroInfinity = "--zero-infinity"
  case bfloat16 = "--bfloat16"
  case zLossScale = "--z-loss-scale"
  case logitSoftCap = "--logit-soft-cap"
  case classifier = "--classifier"
  case bias = "--bias"
  case classifierGradient = "--classifier-gradient"
  case biasGradient = "--bias-gradient"
  case normalizer = "--normalizer"
  case allIgnored = "--all-ignored"
  case sampleWeight = "--sample-weight"
  case upstreamGradient = "--upstream-gradient"
  case epsilon = "--epsilon"
  case teacher = "--teacher"
  case temperature = "--temperature"
  case hardLabelWeight = "--hard-label-weight"
  case text = "--text"
  case logitScale = "--logit-scale"
  case noNormalize = "--no-normalize"
  case textGradient = "--text-gradient"
  case temperatureGradient = "--temperature-gradient"
  case logitScaleGradient = "--logit-scale-gradient"
}

/// The float types `xent evaluate` computes in: the input's own dtype.
protocol EvaluationScalar: BinaryFloatingPoint, NumPyScalar, LosslessStringConvertible {}

extension Float: EvaluationScalar {}
extension Double: EvaluationScalar {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  extension Float16: EvaluationScalar {}
#endif

/// What a loss computed: the loss (0-d for reduced losses) and, if asked for, the gradient
/// with respect to the input (shaped like the input), and for linear-cross-entropy those with
/// respect to the classifier and its bias.
struct EvaluationResult<Scalar: EvaluationScalar> {
  var loss: ShapedArray<Scalar>
  var gradient: ShapedArray<Scalar>?
  var classifierGradient: ShapedArray<Scalar>? = nil
  var biasGradient: ShapedArray<Scalar>? = nil
  /// Other gradients (clip's text embeddings and logit scale, info-nce's temperature), by the
  /// flag of the file they are written to when given.
  var extraGradients: [EvaluateOption: ShapedArray<Scalar>] = [:]
}
