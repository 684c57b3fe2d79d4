/// The argument checks shared by the public losses: each throws a ``LossError`` whose message
/// names the offending value and what was expected.

// MARK: - Shapes and buffer counts

/// Checks that a buffer has the count its shape implies.
func checkCount(_ count: Int, shape: [Int], name: String) throws(LossError) {
  let expected = try elementCount(of: shape, name: "\(name) shape")
  guard count == expected else {
    throw .shapeMismatch(
      "\(name) holds \(count) elements but its shape \(describe(shape: shape)) needs \(expected)")
  }
}

/// Checks that a caller's loss buffer holds what the reduction writes: 1, or one per row.
func checkLossCount(_ count: Int, reduction: Reduction, rows: Int) throws(LossError) {
  let expected = reduction == .none ? rows : 1
  guard count == expected else {
    throw .shapeMismatch(
      "loss buffer holds \(count) elements but reduction \(reduction) writes \(expected)")
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
      "loss buffer holds \(count) elements but reduction \(reduction) writes \(expected)")
  }
}

/// Checks that a caller's gradient buffer has one element per input element of `shape`.
func checkGradientCount(_ count: Int, shape: [Int], name: String) throws(LossError) {
  let expected = try elementCount(of: shape, name: "\(name) shape")
  guard count == expected else {
    throw .shapeMismatch(
      "gradient holds \(count) elements but \(name) shape \(describe(shape: shape)) holds"
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
