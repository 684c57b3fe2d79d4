import CrossEntropy
import Testing
import _CrossEntropyTestSupport

/// Many tasks calling the same criteria at once, while the thread limit changes under them, get
/// exactly the results of serial calls: the criteria are values without shared mutable state,
/// and every kernel's result is independent of its thread count.
@Suite struct ConcurrencyTests {
  /// One loss call and its results as bit patterns (loss, then each gradient).
  private struct Case: Sendable {
    var name: String
    var run: @Sendable () throws -> [UInt32]
  }

  private static func floats(_ count: Int, seed: UInt64, scale: Float = 3) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Float.random(in: -scale...scale, using: &generator) }
  }

  private static func labels(_ count: Int, classes: Int, seed: UInt64) -> [Int] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Int.random(in: 0..<classes, using: &generator) }
  }

  private static func bits(_ arrays: ShapedArray<Float>?...) -> [UInt32] {
    arrays.flatMap { $0?.scalars.map(\.bitPattern) ?? [] }
  }

  /// Large enough that the kernels split the work when allowed to.
  private static func cases() throws -> [Case] {
    let (rows, classes) = (1024, 256)
    let logits = try ShapedArray(shape: [rows, classes], scalars: floats(rows * classes, seed: 1))
    var labelValues = labels(rows, classes: classes, seed: 2)
    labelValues[5] = -100
    let labels = try ShapedArray(shape: [rows], scalars: labelValues)
    let teacher = try ShapedArray(shape: [rows, classes], scalars: floats(rows * classes, seed: 3))
    let targets = try ShapedArray(
      shape: [rows, classes], scalars: floats(rows * classes, seed: 4).map { $0 > 0 ? Float(1) : 0 }
    )
    let hidden = try ShapedArray(shape: [300, 64], scalars: floats(300 * 64, seed: 5, scale: 1))
    let weight = try ShapedArray(shape: [1000, 64], scalars: floats(64_000, seed: 6, scale: 0.3))
    let headLabels = try ShapedArray(
      shape: [300], scalars: Self.labels(300, classes: 1000, seed: 7))
    let softmax = SoftmaxCrossEntropy(labelSmoothing: 0.1)
    let distillation = DistillationLoss(temperature: 2, hardLabelWeight: 0.3)
    let binary = BinaryCrossEntropy()
    let head = LinearCrossEntropy(labelSmoothing: 0.05, scratchLimit: 100 * 1000 * 4)
    return [
      Case(name: "softmax cross-entropy") {
        let result = try softmax.lossAndGradient(logits: logits, labels: labels)
        return bits(result.loss, result.gradient)
      },
      Case(name: "distillation") {
        let result = try distillation.lossAndGradient(
          studentLogits: logits, teacherLogits: teacher, labels: labels)
        return bits(result.loss, result.gradient)
      },
      Case(name: "binary cross-entropy") {
        let result = try binary.lossAndGradient(logits: logits, targets: targets)
        return bits(result.loss, result.gradient)
      },
      Case(name: "linear cross-entropy") {
        let result = try head.lossAndGradient(hidden: hidden, weight: weight, labels: headLabels)
        return bits(result.loss, result.hiddenGradient, result.weightGradient)
      },
    ]
  }

  @Test func concurrentCallsWithChangingThreadLimitsMatchSerialCalls() async throws {
    defer { Parallelism.maximumThreadCount = 0 }
    let cases = try Self.cases()
    Parallelism.maximumThreadCount = 1
    let serial = try cases.map { try $0.run() }
    let limits = [1, 2, 3, 7]
    let results = try await withThrowingTaskGroup(of: (Int, [UInt32]).self) { group in
      for task in 0..<24 {
        group.addTask {
          Parallelism.maximumThreadCount = limits[task % limits.count]
          return (task, try cases[task % cases.count].run())
        }
      }
      var results: [(Int, [UInt32])] = []
      for try await result in group { results.append(result) }
      return results
    }
    #expect(results.count == 24)
    for (task, bits) in results {
      let index = task % cases.count
      #expect(bits == serial[index], "task \(task): \(cases[index].name) differs from serial")
    }
  }
}
