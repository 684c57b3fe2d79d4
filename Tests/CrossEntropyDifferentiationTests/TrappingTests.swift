#if Differentiation
  import _Differentiation
  import CrossEntropy
  import CrossEntropyDifferentiation
  import Testing

  /// The differentiable forms cannot throw: they trap, naming what is wrong.
  @Suite struct TrappingTests {
    @Test func invalidLabelTrapsWithTheLossErrorsMessage() async {
      let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        let logits = try! ShapedArray<Double>(shape: [1, 2], scalars: [0, 1])
        let labels = try! ShapedArray<Int>(shape: [1], scalars: [5])
        _ = SoftmaxCrossEntropy().differentiableLoss(logits: logits, labels: labels)
      }
      let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
      #expect(message.contains("label 5"), "\(message)")
    }

    @Test func scalarFormTrapsForReductionNone() async {
      let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        let scores = try! ShapedArray<Double>(shape: [2], scalars: [0, 1])
        _ = MeanSquaredError(reduction: .none).differentiableLoss(
          predictions: scores, targets: scores)
      }
      let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
      #expect(
        message.contains("MeanSquaredError.differentiableLoss needs a reduction to one value"),
        "\(message)")
    }

    @Test func mismatchedShapesTrap() async {
      let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        let a = try! ShapedArray<Double>(shape: [2], scalars: [0, 1])
        let b = try! ShapedArray<Double>(shape: [3], scalars: [0, 1, 2])
        _ = a + b
      }
      let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
      #expect(message.contains("cannot add arrays of shapes [2] and [3]"), "\(message)")
    }
  }
#endif
