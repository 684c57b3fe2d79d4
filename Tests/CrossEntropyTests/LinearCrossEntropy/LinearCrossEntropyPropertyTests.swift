import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// ``LinearCrossEntropy`` against ``SoftmaxCrossEntropy`` on the materialised logits (and the
/// gradients as explicit matrix products in Double), for every option, in Float and Double, over
/// the chunk edges of both schedules.
@Suite struct LinearCrossEntropyPropertyTests {
  /// Every combination of the options, on a problem with a bias, class weights and ignored rows.
  static let criteria: [LinearCrossEntropy] = {
    var result: [LinearCrossEntropy] = []
    for reduction in [Reduction.mean, .sum, .none] {
      for smoothing in [0, 0.15] {
        for (zLoss, cap) in [(0.0, nil), (1e-3, nil), (0.0, 2.5 as Double?), (0.01, 3.0)] {
          result.append(
            LinearCrossEntropy(
              reduction: reduction, labelSmoothing: smoothing, zLossScale: zLoss,
              logitSoftCap: cap))
        }
      }
    }
    return result
  }()

  /// Scratch limits (bytes) that give one chunk, several row chunks, vocabulary blocks of
  /// several classes, and blocks of one row and one class.
  static let scratchLimits = [LinearCrossEntropy.defaultScratchLimit, 2_000, 300, 1]

  @Test(arguments: criteria)
  func everyOptionMatchesSoftmaxCrossEntropy(criterion: LinearCrossEntropy) throws {
    for (index, problem) in [
      HeadProblem.random(
        rows: 11, size: 5, classes: 19, bias: true, classWeights: true, ignoring: true, seed: 3),
      HeadProblem.random(rows: 9, size: 3, classes: 17, ignoring: true, scale: 3, seed: 4),
    ].enumerated() {
      let reference = try problem.reference(criterion)
      for limit in Self.scratchLimits {
        var chunked = criterion
        chunked.scratchLimit = limit
        let what = "problem \(index) scratch \(limit)"
        let (double, doubleForward) = try problem.run(chunked, as: Double.self)
        expectHeadClose(double, forward: doubleForward, reference, "Double \(what)")
        let (float, floatForward) = try problem.run(chunked, as: Float.self)
        expectHeadClose(float, forward: floatForward, reference, "Float \(what)")
      }
    }
  }

  /// N = 1, D = 1, one class, V around the 16-lane vector width, and vocabulary blocks that do
  /// not divide V.
  @Test(arguments: [
    (1, 1, 1), (1, 4, 5), (3, 1, 7), (2, 3, 15), (2, 3, 16), (2, 3, 17), (17, 2, 33),
    (5, 2, 31),
  ])
  func sizesAtChunkEdges(rows: Int, size: Int, classes: Int) throws {
    let problem = HeadProblem.random(
      rows: rows, size: size, classes: classes, bias: true, classWeights: true, seed: 7)
    for smoothing in [0, 0.1] {
      let criterion = LinearCrossEntropy(labelSmoothing: smoothing, zLossScale: 1e-3)
      let reference = try problem.reference(criterion)
      // Scratch for all rows, for one row fewer (two row chunks), for half a minimal block of
      // rows (vocabulary blocks), and one byte.
      let limits = [
        LinearCrossEntropy.defaultScratchLimit, max(1, rows - 1) * classes * 8,
        classes * 8 * min(rows, 16) / 2, 1,
      ]
      for limit in limits {
        var chunked = criterion
        chunked.scratchLimit = limit
        let what = "\(problem.testDescription) smoothing \(smoothing) scratch \(limit)"
        let (double, forward) = try problem.run(chunked, as: Double.self)
        expectHeadClose(double, forward: forward, reference, "Double \(what)")
        let (float, floatForward) = try problem.run(chunked, as: Float.self)
        expectHeadClose(float, forward: floatForward, reference, "Float \(what)")
      }
    }
  }

  @Test func blockingFollowsTheScratchLimit() {
    func blocking(rows: Int, classes: Int, limit: Int) -> LinearCrossEntropyProblem.Blocking {
      LinearCrossEntropyProblem(
        rows: rows, hiddenSize: 8, classes: classes, ignoreIndex: -100, labelSmoothing: 0,
        reduction: .mean, zLossScale: 0, logitSoftCap: nil,
        denominators: MeanDenominators(loss: 1, zLoss: 1), scratchLimit: limit,
        accumulates: false
      ).blocking(elementBytes: 4)
    }
    // 4096 tokens of a 32,000 vocabulary in 64 MiB: 524 rows fit, 8 equal chunks of 512.
    #expect(blocking(rows: 4096, classes: 32_000, limit: 64 << 20) == .rows(512))
    #expect(blocking(rows: 1024, classes: 128_256, limit: 64 << 20) == .rows(128))
    #expect(blocking(rows: 3, classes: 10, limit: 64 << 20) == .rows(3))
    // 16 rows do not fit: blocks of 16 rows and of the classes that fit, balanced.
    #expect(
      blocking(rows: 100, classes: 1000, limit: 16 * 4 * 500) == .vocabulary(rows: 16, classes: 500)
    )
    #expect(
      blocking(rows: 100, classes: 1000, limit: 16 * 4 * 400) == .vocabulary(rows: 16, classes: 334)
    )
    #expect(blocking(rows: 5, classes: 1000, limit: 1) == .vocabulary(rows: 1, classes: 1))
  }

  /// `.none`'s gradients are those of the sum of its per-row losses.
  @Test func noneGradientIsTheSumsGradient() throws {
    let problem = HeadProblem.random(rows: 6, size: 4, classes: 9, bias: true, ignoring: true)
    let (none, _) = try problem.run(LinearCrossEntropy(reduction: .none), as: Double.self)
    let (sum, _) = try problem.run(LinearCrossEntropy(reduction: .sum), as: Double.self)
    #expect(none.hidden == sum.hidden)
    #expect(none.weight == sum.weight)
    #expect(none.bias == sum.bias)
    #expect(abs(none.loss.reduce(0, +) - sum.loss[0]) <= 1e-13 * abs(sum.loss[0]))
  }

  /// The array forms agree with the buffer forms, shapes included.
  @Test func arrayFormsMatchTheBufferForms() throws {
    let problem = HeadProblem.random(rows: 6, size: 4, classes: 9, bias: true, classWeights: true)
    let criterion = LinearCrossEntropy(labelSmoothing: 0.1)
    let hidden = try ShapedArray(shape: [2, 3, 4], scalars: problem.hidden.map { Float($0) })
    let weight = try ShapedArray(shape: [9, 4], scalars: problem.weight.map { Float($0) })
    let bias = try ShapedArray(shape: [9], scalars: problem.bias!.map { Float($0) })
    let labels = try ShapedArray(shape: [2, 3], scalars: problem.labels)
    let weights = problem.classWeights!.map { Float($0) }
    let result = try criterion.lossAndGradient(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: weights)
    let (buffers, _) = try problem.run(criterion, as: Float.self)
    #expect(result.loss.shape == [])
    #expect(result.loss.scalars == buffers.loss)
    #expect(result.hiddenGradient.shape == [2, 3, 4])
    #expect(result.hiddenGradient.scalars == buffers.hidden)
    #expect(result.weightGradient.scalars == buffers.weight)
    #expect(result.biasGradient?.scalars == buffers.bias)
    let loss = try criterion.loss(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: weights)
    #expect(loss.scalars == buffers.loss)
    var none = criterion
    none.reduction = .none
    let perRow = try none.loss(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: weights)
    #expect(perRow.shape == [2, 3])
    let noBias = try criterion.lossAndGradient(hidden: hidden, weight: weight, labels: labels)
    #expect(noBias.biasGradient == nil)
    // Accumulation does not apply to the fresh arrays of the array forms.
    var accumulating = criterion
    accumulating.accumulatesGradients = true
    let fresh = try accumulating.lossAndGradient(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: weights)
    #expect(fresh.weightGradient == result.weightGradient)
    #expect(fresh.biasGradient == result.biasGradient)
  }

  /// Types other than Float and Double run the Double schedule on copies.
  @Test func otherScalarTypesTakeTheDoublePath() throws {
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      let problem = HeadProblem.random(rows: 4, size: 3, classes: 6, bias: true)
      let criterion = LinearCrossEntropy()
      let result = try criterion.lossAndGradient(
        hidden: ShapedArray(shape: [4, 3], scalars: problem.hidden.map { Float16($0) }),
        weight: ShapedArray(shape: [6, 3], scalars: problem.weight.map { Float16($0) }),
        bias: ShapedArray(shape: [6], scalars: problem.bias!.map { Float16($0) }),
        labels: ShapedArray(shape: [4], scalars: problem.labels))
      var rounded = problem
      rounded.hidden = problem.hidden.map { Double(Float16($0)) }
      rounded.weight = problem.weight.map { Double(Float16($0)) }
      rounded.bias = problem.bias!.map { Double(Float16($0)) }
      let reference = try rounded.reference(criterion)
      expectClose(
        result.loss.scalars.map { Double($0) }, reference.loss, relative: 1e-3, absolute: 0,
        "Float16 loss")
      expectClose(
        result.weightGradient.scalars.map { Double($0) }, reference.weight, relative: 1e-3,
        absolute: 1e-6, "Float16 weight gradient")
    #endif
  }

  /// Empty batches: `.mean` is 0 / 0 = NaN (or 0 over a normaliser), `.sum` 0, and the weight
  /// and bias gradients are 0 (or unchanged when accumulating).
  @Test func emptyBatch() throws {
    let problem = HeadProblem.random(rows: 0, size: 3, classes: 4, bias: true)
    let (mean, _) = try problem.run(LinearCrossEntropy(), as: Float.self)
    #expect(mean.loss[0].isNaN)
    #expect(mean.weight == [Float](repeating: 0, count: 12))
    #expect(mean.bias == [Float](repeating: 0, count: 4))
    let (normalised, _) = try problem.run(LinearCrossEntropy(normalizer: 8), as: Double.self)
    #expect(normalised.loss == [0])
    let (sum, _) = try problem.run(LinearCrossEntropy(reduction: .sum), as: Double.self)
    #expect(sum.loss == [0])
    // All labels ignored: NaN mean, zero gradients.
    var ignored = HeadProblem.random(rows: 3, size: 2, classes: 5, bias: true)
    ignored.labels = [-100, -100, -100]
    for limit in [LinearCrossEntropy.defaultScratchLimit, 1] {
      let (result, _) = try ignored.run(LinearCrossEntropy(scratchLimit: limit), as: Float.self)
      #expect(result.loss[0].isNaN)
      #expect(result.hidden.allSatisfy { $0 == 0 })
      #expect(result.weight.allSatisfy { $0 == 0 })
      #expect(result.logSumExp == [0, 0, 0])
    }
  }

  /// D = 0: the logits are the bias.
  @Test func emptyHiddenSize() throws {
    var problem = HeadProblem.random(rows: 3, size: 0, classes: 4, bias: true)
    problem.labels = [0, 3, 1]
    let reference = try problem.reference(LinearCrossEntropy())
    let (result, _) = try problem.run(LinearCrossEntropy(), as: Double.self)
    expectHeadClose(result, reference, "D = 0")
  }

  /// NaN and infinity propagate as PyTorch's: a NaN hidden state makes its row's loss and the
  /// mean NaN, on both schedules.
  @Test func nonFiniteValuesPropagate() throws {
    var problem = HeadProblem.random(rows: 4, size: 3, classes: 5)
    problem.hidden[4] = .nan
    problem.hidden[9] = .infinity
    for limit in [LinearCrossEntropy.defaultScratchLimit, 1] {
      let criterion = LinearCrossEntropy(reduction: .none, scratchLimit: limit)
      let reference = try problem.reference(criterion)
      for precision in ["Float", "Double"] {
        let loss =
          precision == "Float"
          ? try problem.run(criterion, as: Float.self).0.loss.map { Double($0) }
          : try problem.run(criterion, as: Double.self).0.loss
        #expect(loss[1].isNaN, "\(precision) scratch \(limit)")
        #expect(loss[0].isFinite && loss[2].isFinite, "\(precision) scratch \(limit)")
        #expect(reference.loss[1].isNaN)
      }
    }
  }
}
