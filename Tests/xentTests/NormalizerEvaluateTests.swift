import CrossEntropy
import Foundation
import NumPyIO
import Testing

@testable import xent

/// `--normalizer K` on the losses whose mean is not over rows with an ignore index: the mean
/// with K is the `--reduction sum` result over K, loss and gradient (CTC: the mean's batch
/// count only; CLIP: the mean times N / K).
@Suite struct NormalizerEvaluateTests {
  let folder: URL
  let logits: String
  let binaryTargets: String
  let logProbabilities: String
  let probabilities: String
  let similarities: String

  init() throws {
    folder = try makeTemporaryFolder()
    let values: [Float] = [1, 2, 3, 0.5, -1, 4, 0, 0.25, -2, 3, 1, 1]
    logits = try save(NumPyArray(shape: [4, 3], scalars: values), "x.npy", in: folder)
    binaryTargets = try save(
      NumPyArray(shape: [4, 3], scalars: values.indices.map { Float($0 % 2) }), "t.npy",
      in: folder)
    logProbabilities = try save(
      NumPyArray(shape: [4, 3], scalars: values.map { -abs($0) - 0.1 }), "lp.npy", in: folder)
    probabilities = try save(
      NumPyArray(shape: [4, 3], scalars: values.map { abs($0) / 5 + 0.05 }), "p.npy", in: folder)
    similarities = try save(NumPyArray(shape: [3, 4], scalars: values), "s.npy", in: folder)
  }

  /// Runs `xent evaluate` and returns the loss and gradient it wrote.
  func run(_ arguments: [String], _ tag: String) throws -> (loss: [Double], gradient: [Double]) {
    let loss = folder.appendingPathComponent("\(tag)-loss.npy").path
    let gradient = folder.appendingPathComponent("\(tag)-gradient.npy").path
    let result = evaluate(arguments + ["--output", loss, "--gradient", gradient])
    if case .failure(let error) = result { Issue.record("\(tag): \(error.message)") }
    return (
      try NumPyArray(contentsOf: loss).doubles(), try NumPyArray(contentsOf: gradient).doubles()
    )
  }

  @Test func normalizerDividesTheSum() throws {
    let cases: [(name: String, arguments: [String], mean: String)] = [
      ("focal", ["--input", logits, "--target", binaryTargets], "mean"),
      ("binary-cross-entropy-with-logits", ["--input", logits, "--target", binaryTargets], "mean"),
      ("binary-cross-entropy", ["--input", probabilities, "--target", binaryTargets], "mean"),
      ("kl-div", ["--input", logProbabilities, "--target", probabilities], "batchmean"),
      ("mse", ["--input", logits, "--target", probabilities], "mean"),
      ("info-nce", ["--input", similarities, "--temperature", "0.5"], "mean"),
    ]
    for (name, arguments, meanName) in cases {
      let base = ["--loss", name] + arguments
      let mean = try run(base + ["--reduction", meanName, "--normalizer", "2.5"], "\(name)-mean")
      let sum = try run(base + ["--reduction", "sum"], "\(name)-sum")
      expectClose(mean.loss, sum.loss.map { $0 / 2.5 }, tolerance: 1e-6, what: "\(name) loss")
      expectClose(
        mean.gradient, sum.gradient.map { $0 / 2.5 }, tolerance: 1e-6, what: "\(name) gradient")
    }
  }

  @Test func ctcAndCLIP() throws {
    let lp = try save(
      NumPyArray(shape: [3, 2, 3], scalars: (0..<18).map { Float(-1.1 - Double($0 % 5) / 7) }),
      "ctc.npy", in: folder)
    let labels = try save(
      NumPyArray(shape: [2, 2], scalars: [Int64(1), 2, 1, 0]), "l.npy", in: folder)
    let inputLengths = try save(
      NumPyArray(shape: [2], scalars: [Int64(3), 3]), "il.npy", in: folder)
    let labelLengths = try save(
      NumPyArray(shape: [2], scalars: [Int64(2), 1]), "tl.npy", in: folder)
    let base = [
      "--loss", "ctc", "--input", lp, "--target", labels, "--input-lengths", inputLengths,
      "--target-lengths", labelLengths,
    ]
    // mean with K = sum_n (l_n / max(L_n, 1)) / K; the plain mean divides by N = 2.
    let withK = try run(base + ["--normalizer", "5"], "ctc-k")
    let plain = try run(base, "ctc-plain")
    expectClose(withK.loss, plain.loss.map { $0 * 2 / 5 }, tolerance: 1e-6, what: "ctc loss")
    expectClose(
      withK.gradient, plain.gradient.map { $0 * 2 / 5 }, tolerance: 1e-6, what: "ctc gradient")

    let clipBase = ["--loss", "clip", "--input", logits, "--text", probabilities]
    let clipK = try run(clipBase + ["--normalizer", "8"], "clip-k")
    let clipPlain = try run(clipBase, "clip-plain")
    expectClose(clipK.loss, clipPlain.loss.map { $0 * 4 / 8 }, tolerance: 1e-6, what: "clip loss")
    expectClose(
      clipK.gradient, clipPlain.gradient.map { $0 * 4 / 8 }, tolerance: 1e-6,
      what: "clip gradient")
  }

  @Test func invalidNormalizerIsRefused() throws {
    #expect(
      errorMessage([
        "--loss", "mse", "--input", logits, "--target", logits, "--normalizer", "-1",
      ]).hasSuffix("normalizer -1.0 is invalid; expected a finite value > 0"))
    #expect(try files(in: folder).filter { $0.hasSuffix("-loss.npy") }.isEmpty)
  }
}

/// `--bfloat16` with `--sample-weight` and `--upstream-gradient` (bfloat16 bits or float32):
/// the fp32 library's result on the same bfloat16-representable values.
@Suite struct BFloat16RowScaleEvaluateTests {
  let folder: URL
  let values: [Float] = [1, 2, 3, 0.5, -1, 4, 0, 0.25, -2, 3, 1, 1.5]
  let labelValues = [0, -100, 2, 1]
  let weightValues: [Float] = [0.5, 2, 1.5, 0.25]

  init() throws { folder = try makeTemporaryFolder() }

  func bits(_ values: [Float]) -> [UInt16] { values.map { UInt16($0.bitPattern >> 16) } }

  /// The loss and the gradient (widened from bfloat16 bits) that `xent evaluate` wrote.
  func run(_ arguments: [String], _ tag: String) throws -> (loss: [Float], gradient: [Float]) {
    let loss = folder.appendingPathComponent("\(tag)-loss.npy").path
    let gradient = folder.appendingPathComponent("\(tag)-gradient.npy").path
    let result = evaluate(arguments + ["--output", loss, "--gradient", gradient])
    if case .failure(let error) = result { Issue.record("\(tag): \(error.message)") }
    return (
      try NumPyArray(contentsOf: loss).scalars(as: Float.self),
      try NumPyArray(contentsOf: gradient).scalars(as: UInt16.self).map {
        Float(bitPattern: UInt32($0) << 16)
      }
    )
  }

  @Test func matchesTheFloatLibrary() throws {
    let input = try save(NumPyArray(shape: [4, 3], scalars: bits(values)), "x.npy", in: folder)
    let labels = try save(
      NumPyArray(shape: [4], scalars: labelValues.map { Int64($0) }), "y.npy", in: folder)
    let weightBits = try save(
      NumPyArray(shape: [4], scalars: bits(weightValues)), "s.npy", in: folder)
    let weightFloats = try save(
      NumPyArray(shape: [4], scalars: weightValues), "s32.npy", in: folder)
    let upstreamValues: [Float] = [1, -2, 0.5, 3]
    let upstreamBits = try save(
      NumPyArray(shape: [4], scalars: bits(upstreamValues)), "g.npy", in: folder)
    let scalarUpstream = try save(
      NumPyArray(shape: [], scalars: [Float(0.75)]), "g0.npy", in: folder)
    let logits = try ShapedArray(shape: [4, 3], scalars: values)
    let labelArray = try ShapedArray(shape: [4], scalars: labelValues)
    let sampleWeights = try ShapedArray(shape: [4], scalars: weightValues)
    let base = ["--loss", "cross-entropy", "--bfloat16", "--input", input, "--target", labels]
    let cases: [(Reduction, String, String?, ShapedArray<Float>)] = [
      (.mean, weightBits, scalarUpstream, try ShapedArray(shape: [], scalars: [0.75])),
      (.sum, weightFloats, nil, try ShapedArray(shape: [], scalars: [1])),
      (.none, weightBits, upstreamBits, try ShapedArray(shape: [4], scalars: upstreamValues)),
    ]
    for (reduction, weights, upstream, upstreamArray) in cases {
      let tag = "\(reduction)"
      var arguments = base + ["--reduction", tag, "--sample-weight", weights]
      if let upstream { arguments += ["--upstream-gradient", upstream] }
      let result = try run(arguments, tag)
      let expected = try SoftmaxCrossEntropy(reduction: reduction).lossAndGradient(
        logits: logits, labels: labelArray, sampleWeights: sampleWeights,
        upstreamGradient: upstream == nil ? nil : upstreamArray)
      expectClose(
        result.loss.map { Double($0) }, expected.loss.scalars.map { Double($0) },
        tolerance: 1e-6, what: "\(tag) loss")
      // The gradient is rounded once to bfloat16.
      for (index, (a, e)) in zip(result.gradient, expected.gradient.scalars).enumerated() {
        #expect(abs(a - e) <= 0x1p-8 * abs(e) + 1e-7, "\(tag) gradient[\(index)]: \(a) vs \(e)")
      }
    }
  }

  @Test func badShapesAndDTypesAreRefused() throws {
    let input = try save(NumPyArray(shape: [4, 3], scalars: bits(values)), "x.npy", in: folder)
    let labels = try save(
      NumPyArray(shape: [4], scalars: labelValues.map { Int64($0) }), "y.npy", in: folder)
    let wrongShape = try save(
      NumPyArray(shape: [2, 2], scalars: bits(weightValues)), "w.npy", in: folder)
    let doubles = try save(NumPyArray(shape: [4], scalars: [0.5, 1, 1, 1]), "d.npy", in: folder)
    let base = ["--loss", "cross-entropy", "--bfloat16", "--input", input, "--target", labels]
    let output = ["--output", folder.appendingPathComponent("o.npy").path]
    #expect(
      errorMessage(base + ["--sample-weight", wrongShape] + output)
        == "--sample-weight \(wrongShape) has shape [2, 2]; expected [4], the target's shape")
    #expect(
      errorMessage(base + ["--sample-weight", doubles] + output)
        == "--sample-weight \(doubles) has dtype float64; with --bfloat16 it must hold bfloat16"
        + " bits (uint16) or float32")
    #expect(!FileManager.default.fileExists(atPath: output[1]))
  }
}
