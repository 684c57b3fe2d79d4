import CrossEntropy
import Foundation
import NumPyIO
import Testing

@testable import xent

// The "Adding a loss to `xent evaluate`" recipe of
// Sources/xent/Commands/Evaluate/EvaluationRegistry.swift, compiled as written. Keep the two in
// step: `recipeMatchesTheRegistryComment` checks that every line of the recipe is here.

enum ExampleSquaredErrorEvaluation: EvaluableLoss {
  static let name = "example-squared-error"
  static let summary = "Mean squared error (F.mse_loss), as the recipe's example."
  static let options: Set<EvaluateOption> = [.reduction]
  static func evaluate<Scalar: EvaluationScalar>(
    _ request: EvaluationRequest<Scalar>
  ) throws(CLIError) -> EvaluationResult<Scalar> {
    let targets = try request.floatTarget()  // or request.classLabels()
    let criterion = MeanSquaredError(reduction: try request.reduction())
    let input = request.input
    return try request.run { () throws(LossError) in
      request.wantsGradient
        ? try criterion.lossAndGradient(predictions: input, targets: targets)
        : (try criterion.loss(predictions: input, targets: targets), nil)
    }
  }
}

/// The recipe's adapter, registered in a test-only registry, computes what `--loss mse` does.
@Suite struct EvaluationRecipeTests {
  /// The registry with the recipe's adapter added (step 2 of the recipe, here only).
  static var registry: [any EvaluableLoss.Type] {
    LossRegistry.all + [ExampleSquaredErrorEvaluation.self]
  }

  @Test func registersUnderAFreshName() {
    let names = Self.registry.map { $0.name }
    #expect(Set(names).count == names.count)
    #expect(LossRegistry.loss(named: ExampleSquaredErrorEvaluation.name) == nil)
    #expect(
      Self.registry.first { $0.name == ExampleSquaredErrorEvaluation.name }
        == ExampleSquaredErrorEvaluation.self)
  }

  @Test(arguments: [ReductionOption.none, .mean, .sum], [false, true])
  func matchesTheRegisteredMeanSquaredError(reduction: ReductionOption, gradient: Bool) throws {
    let input = try NumPyArray(shape: [2, 3], scalars: [Float(0.5), -1, 2, 0, 3.25, -0.75])
    let target = try NumPyArray(shape: [3], scalars: [Float(1), 0, -2])
    var options = EvaluationOptions()
    options.reduction = reduction
    let pieces = EvaluationPieces(
      lossName: "mse", inputArray: input, inputPath: "x.npy",
      target: LoadedArray(flag: "--target", path: "y.npy", array: target), options: options,
      wantsGradient: gradient)
    let example = try pieces.evaluate(ExampleSquaredErrorEvaluation.self, as: Float.self)
    let registered = try pieces.evaluate(MeanSquaredErrorEvaluation.self, as: Float.self)
    #expect(example.loss == registered.loss)
    #expect(example.gradient == registered.gradient)
    #expect((example.gradient != nil) == gradient)
    #expect(example.summary == registered.summary)
  }

  @Test func refusesBatchmeanAsTheRegisteredOneDoes() throws {
    let input = try NumPyArray(shape: [2], scalars: [0.5, -1.0])
    var options = EvaluationOptions()
    options.reduction = .batchmean
    let pieces = EvaluationPieces(
      lossName: "mse", inputArray: input, inputPath: "x.npy",
      target: LoadedArray(flag: "--target", path: "y.npy", array: input), options: options,
      wantsGradient: false)
    let error = #expect(throws: CLIError.self) {
      try pieces.evaluate(ExampleSquaredErrorEvaluation.self, as: Double.self)
    }
    #expect(
      error?.message == "--reduction batchmean is not valid for mse; expected none, mean or sum")
  }

  /// Every line of the recipe in EvaluationRegistry.swift's comment appears in this file, in
  /// the same order.
  @Test func recipeMatchesTheRegistryComment() throws {
    let here = URL(fileURLWithPath: #filePath)
    let registry = here.deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
      .appendingPathComponent("Sources/xent/Commands/Evaluate/EvaluationRegistry.swift")
    let comment = try String(contentsOf: registry, encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false)
      .filter { $0.hasPrefix("//      ") }
      .map { $0.dropFirst(2).trimmingCharacters(in: .whitespaces) }
    #expect(comment.count >= 15, "the recipe's code was not found in \(registry.path)")
    let lines = try String(contentsOf: here, encoding: .utf8).split(separator: "\n")
      .map { $0.trimmingCharacters(in: .whitespaces) }
    var next = lines.startIndex
    for line in comment {
      guard let found = lines[next...].firstIndex(of: line) else {
        Issue.record("the recipe line `\(line)` is not in EvaluationRecipeTests.swift, in order")
        return
      }
      next = found + 1
    }
  }
}
