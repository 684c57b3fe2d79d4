/// The argument checks shared by the public losses: each throws a ``LossError`` whose message
/// names the offending value and what was expected.

// MARK: - Shapes and buffer counts

/// Checks that a buffer has the count its shape implies.
func checkCount(_ count: Int, shape: [Int], name: String) throws(LossError) {
  let expected = try elementCount(of: shape, name: "\(name) shape")
  guard count == expected else {
    throw .shapeMismatch(
      "\(name) holds \(describe(elementCount: count)) but its shape \(describe(shape: shape)) needs \(expected)"
    )
  }
}

/// Checks that a caller's loss buffer holds what the reduction writes: 1, or one per row.
func checkLossCount(_ count: Int, reduction: Reduction, rows: Int) throws(LossError) {
  let expected = reduction == .none ? rows : 1
  guard count == expected else {
    throw .shapeMismatch(
      "loss buffer holds \(describe(elementCount: count)) but reduction \(reduction) writes \(expected)"
    )
  }
}

/// Checks that a caller's loss buffer holds what an elementwise loss's reduction writes: one
/// value per element, or 1.
func checkElementwiseLossCount(
  _ count: Int, reduction: String, elements: Int, elementwise: Bool
) throws(LossError) {
  let expected = elementwise ? elements : 1
  guard count == expected else {
    throw .shapeMismatch(
      "loss buffer holds \(describe(elementCount: count)) but reduction \(reduction) writes \(expected)"
    )
  }
}

/// Checks that a caller's gradient buffer has one element per input element of `shape`.
func checkGradientCount(_ count: Int, shape: [Int], name: String) throws(LossError) {
  let expected = try elementCount(of: shape, name: "\(name) shape")
  guard count == expected else {
    throw .shapeMismatch(
      "gradient holds \(describe(elementCount: count)) but \(name) shape \(describe(shape: shape)) holds"
        + " \(expected)")
  }
}

/// Checks that two arrays the elementwise losses pair up have the same shape.
func checkSameShape(
  _ shape: [Int], _ otherShape: [Int], name: String, otherName: String, loss: String
) throws(LossError) {
  guard shape == otherShape else {
    throw .shapeMismatch(
      "\(otherName) shape \(describe(shape: otherShape)) does not match \(name) shape"
        + " \(describe(shape: shape)); \(loss) expects the same shape (no broadcasting)")
  }
}

// MARK: - Options

/// Checks a label-smoothing amount: it must lie in [0, 1].
func checkLabelSmoothing(_ value: Double) throws(LossError) {
  guard value >= 0 && value <= 1 else {
    throw .invalidOption("label smoothing \(value) is outside [0, 1]")
  }
}

/// Checks the z-loss scale (finite, >= 0) and the soft cap (nil, or finite and > 0).
func checkLogitOptions(zLossScale: Double, logitSoftCap: Double?) throws(LossError) {
  guard zLossScale >= 0 && zLossScale.isFinite else {
    throw .invalidOption("z-loss scale \(zLossScale) is invalid; expected a finite value >= 0")
  }
  if let cap = logitSoftCap, !(cap > 0 && cap.isFinite) {
    throw .invalidOption("logit soft cap \(cap) is invalid; expected a finite value > 0")
  }
}

/// Checks the mean's normaliser: nil, or finite and > 0.
func checkNormalizer(_ normalizer: Double?) throws(LossError) {
  if let normalizer, !(normalizer > 0 && normalizer.isFinite) {
    throw .invalidOption("normalizer \(normalizer) is invalid; expected a finite value > 0")
  }
}

/// Checks a contrastive temperature: finite and > 0.
func checkTemperature(_ temperature: Double) throws(LossError) {
  guard temperature > 0 && temperature.isFinite else {
    throw .invalidOption("temperature \(temperature) is invalid; expected a finite value > 0")
  }
}

/// Checks the sigmoid focal loss's `alpha`: a weight in [0, 1], or negative to disable it.
/// torchvision (from 0.29) refuses an alpha above 1, which weights the negatives by `1 - alpha
/// < 0`; so does this package. It accepts any negative alpha as "disabled" (torchvision 0.29
/// accepts only -1; earlier versions any negative value).
func checkBalance(_ alpha: Double) throws(LossError) {
  guard alpha <= 1 else {
    throw .invalidOption(
      "focal alpha \(alpha) is invalid; expected a weight in [0, 1], or a negative value to"
        + " disable the weighting")
  }
}

/// Checks a focal-loss exponent: finite and at least 0.
func checkFocusing(_ gamma: Double) throws(LossError) {
  guard gamma >= 0 && gamma.isFinite else {
    throw .invalidOption("focal gamma \(gamma) is invalid; expected a finite value >= 0")
  }
}

/// Checks the distillation options: a finite temperature > 0 and a hard-label weight in [0, 1].
func checkDistillation(temperature: Double, hardLabelWeight: Double) throws(LossError) {
  guard temperature > 0 && temperature.isFinite else {
    throw .invalidOption(
      "distillation temperature \(temperature) is invalid; expected a finite value > 0")
  }
  guard hardLabelWeight >= 0 && hardLabelWeight <= 1 else {
    throw .invalidOption("hard-label weight \(hardLabelWeight) is outside [0, 1]")
  }
}

/// Checks the Poly-1 coefficient: finite.
func checkPolyEpsilon(_ epsilon: Double) throws(LossError) {
  guard epsilon.isFinite else {
    throw .invalidOption("poly-1 epsilon \(epsilon) is invalid; expected a finite value")
  }
}

/// Checks the multi-margin exponent: 1 or 2.
func checkMultiMarginExponent(_ p: Int) throws(LossError) {
  guard p == 1 || p == 2 else {
    throw .invalidOption("multi-margin p \(p) is not supported; expected 1 or 2")
  }
}

// MARK: - Values

/// Checks that a second operand's buffer (targets, probability targets) holds as many elements
/// as the input of `shape`, which holds `expected`.
func checkSameCount(
  _ count: Int, name: String, input: String, shape: [Int], expected: Int
) throws(LossError) {
  guard count == expected else {
    throw .shapeMismatch(
      "\(name) hold \(describe(elementCount: count)) but \(input) shape \(describe(shape: shape)) holds"
        + " \(expected); expected the same shape")
  }
}

/// Checks that probability targets have the logits' shape (softmax cross-entropy, Poly-1).
func checkTargetShape(_ shape: [Int], logitsShape: [Int]) throws(LossError) {
  guard shape == logitsShape else {
    throw .shapeMismatch(
      "targets shape \(describe(shape: shape)) does not match logits shape"
        + " \(describe(shape: logitsShape))")
  }
}

/// Checks that every value lies in [0, 1] (NaN does not), naming the first that does not by its
/// position in `shape`.
func checkUnitInterval<Scalar: BinaryFloatingPoint>(
  _ values: UnsafeBufferPointer<Scalar>, shape: [Int], name: String
) throws(LossError) {
  if let index = values.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
    throw .valueOutOfRange(
      "\(name) \(values[index]) at position"
        + " \(describe(shape: position(ofFlatIndex: index, in: shape))) is outside [0, 1]")
  }
}
