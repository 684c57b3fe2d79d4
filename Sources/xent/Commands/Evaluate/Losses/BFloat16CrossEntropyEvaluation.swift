import CrossEntropy
import NumPyIO

/// `--loss cross-entropy --bfloat16`: bfloat16 logits given as their raw bits in a uint16 `.npy`
/// (NumPy has no bfloat16; `torch_tensor.view(torch.uint16).numpy()` writes one), computed by
/// the library's bfloat16 entry points: fp32 arithmetic, the loss written as float32, the
/// gradient as uint16 bfloat16 bits (rounded to nearest even). Class-index targets only;
/// `--weight`, if given, is bfloat16 bits too (PyTorch wants the weights in the input's dtype).
/// `--sample-weight` (shaped like the target) and `--upstream-gradient` (shaped like the loss)
/// are bfloat16 bits (uint16) or float32, the library's fp32 row scales.
enum BFloat16CrossEntropyEvaluation {
  /// Evaluates the request whose `--input` holds bfloat16 bits, and encodes the results.
  ///
  /// - Throws: ``CLIError`` with one line for a float target, weights that are not 1-d uint16,
  ///   or anything the library rejects.
  static func evaluate(_ pieces: EvaluationPieces) throws(CLIError) -> EncodedOutputs {
    let lossName = pieces.lossName
    let inputLabel = "--input \(pieces.inputPath)"
    if pieces.target.array.dtype.isFloatingPoint {
      throw CLIError(
        "\(pieces.target.label): --bfloat16 takes class indices (int64, int32 or uint8), got"
          + " \(pieces.target.array.dtype.rawValue); probability targets need a float input")
    }
    let labels = try readClassLabels(pieces.target, lossName: lossName)
    let logits: [UInt16]
    do { logits = try pieces.inputArray.scalars(as: UInt16.self) } catch {
      throw CLIError("\(inputLabel): \(error.message)")
    }
    let weights = try classWeights(pieces.options.weight, inputLabel: inputLabel)
    let options = pieces.options
    let sampleWeights = try rowScales(
      options.sampleWeight, shape: labels.shape, expected: "the target's shape")
    let reduction: Reduction
    switch options.reduction {
    case .none: reduction = .none
    case .mean: reduction = .mean
    case .sum: reduction = .sum
    case .batchmean:
      throw CLIError(
        "--reduction batchmean is not valid for \(lossName); expected none, mean or sum")
    }
    let criterion = SoftmaxCrossEntropy(
      reduction: reduction, classAxis: options.classAxis, ignoreIndex: options.ignoreIndex,
      labelSmoothing: options.labelSmoothing, zLossScale: options.zLossScale,
      logitSoftCap: options.logitSoftCap, normalizer: options.normalizer,
      allIgnored: options.allIgnored)
    let shape = pieces.inputArray.shape
    let upstream = try rowScales(
      options.upstreamGradient, shape: reduction == .none ? labels.shape : [],
      expected: reduction == .none ? "the loss's shape (the target's)" : "0-d (the loss's shape)")
    var loss = [Float](repeating: 0, count: reduction == .none ? labels.scalars.count : 1)
    var gradient = [UInt16](repeating: 0, count: pieces.wantsGradient ? logits.count : 0)
    do {
      try logits.withUnsafeBufferPointer { x throws(LossError) in
        try labels.scalars.withUnsafeBufferPointer { y throws(LossError) in
          try withOptionalBuffer(weights) { w throws(LossError) in
            try withOptionalBuffer(sampleWeights) { s throws(LossError) in
              try withOptionalBuffer(upstream) { u throws(LossError) in
                try loss.withUnsafeMutableBufferPointer { l throws(LossError) in
                  if pieces.wantsGradient {
                    try gradient.withUnsafeMutableBufferPointer { g throws(LossError) in
                      try criterion.lossAndGradient(
                        bfloat16Logits: x, shape: shape, labels: y, classWeights: w,
                        sampleWeights: s, upstreamGradient: u, loss: l, gradient: g)
                    }
                  } else {
                    try criterion.loss(
                      bfloat16Logits: x, shape: shape, labels: y, classWeights: w,
                      sampleWeights: s, into: l)
                  }
                }
              }
            }
          }
        }
      }
    } catch {
      throw CLIError(
        "\(lossName) (\(inputLabel), --target \(pieces.target.path)): \(error.message)")
    }
    // The library accepted the class axis, so it is in range.
    let axis = options.classAxis < 0 ? options.classAxis + shape.count : options.classAxis
    var lossShape = shape
    lossShape.remove(at: axis)
    do {
      return EncodedOutputs(
        loss: try NumPyArray(shape: reduction == .none ? lossShape : [], scalars: loss),
        gradient: pieces.wantsGradient ? try NumPyArray(shape: shape, scalars: gradient) : nil,
        summary: lossSummary(loss, shape: reduction == .none ? lossShape : []))
    } catch {
      throw CLIError("\(lossName): cannot encode the result: \(error.message)")
    }
  }

  /// `--sample-weight` or `--upstream-gradient` as fp32: bfloat16 bits (uint16), widened
  /// exactly, or float32, of the given shape.
  private static func rowScales(
    _ loaded: LoadedArray?, shape: [Int], expected: String
  ) throws(CLIError) -> [Float]? {
    guard let loaded else { return nil }
    let array = loaded.array
    guard array.dtype == .uint16 || array.dtype == .float32 else {
      throw CLIError(
        "\(loaded.label) has dtype \(array.dtype.rawValue); with --bfloat16 it must hold"
          + " bfloat16 bits (uint16) or float32")
    }
    guard array.shape == shape else {
      throw CLIError(
        "\(loaded.label) has shape \(describe(array.shape)); expected \(describe(shape)),"
          + " \(expected)")
    }
    do {
      if array.dtype == .float32 { return try array.scalars(as: Float.self) }
      return try array.scalars(as: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
    } catch {
      throw CLIError("\(loaded.label): \(error.message)")
    }
  }

  /// `--weight` as fp32: a 1-d uint16 array of bfloat16 bits, widened exactly.
  private static func classWeights(
    _ weight: LoadedArray?, inputLabel: String
  ) throws(CLIError) -> [Float]? {
    guard let weight else { return nil }
    guard weight.array.dtype == .uint16 else {
      throw CLIError(
        "\(weight.label) has dtype \(weight.array.dtype.rawValue) but \(inputLabel) holds"
          + " bfloat16 (--bfloat16); the weights must be bfloat16 bits too (uint16), as PyTorch"
          + " wants the input's dtype")
    }
    guard weight.array.shape.count == 1 else {
      throw CLIError(
        "\(weight.label) has shape \(describe(weight.array.shape)); expected a 1-d array with"
          + " one weight per class")
    }
    do {
      return try weight.array.scalars(as: UInt16.self).map {
        Float(bitPattern: UInt32($0) << 16)
      }
    } catch {
      throw CLIError("\(weight.label): \(error.message)")
    }
  }
}
