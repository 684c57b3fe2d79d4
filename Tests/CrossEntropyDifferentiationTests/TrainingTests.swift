#if Differentiation
  import _Differentiation
  import CrossEntropy
  import CrossEntropyDifferentiation
  import Foundation
  import Testing
  import _CrossEntropyTestSupport

  // A two-layer perceptron written with differentiable functions, trained through
  // `gradient(at:of:)` on a seeded toy problem, its gradients checked at every step against
  // `lossAndGradient` and the chain rule written by hand.

  // MARK: - Differentiable layers of the test

  /// The matrix product of `[M, K]` and `[K, N]` arrays.
  @differentiable(reverse)
  func matmul(_ a: ShapedArray<Double>, _ b: ShapedArray<Double>) -> ShapedArray<Double> {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    precondition(b.shape[0] == k)
    var product = [Double](repeating: 0, count: m * n)
    for row in 0..<m {
      for inner in 0..<k {
        let left = a.scalars[row * k + inner]
        for column in 0..<n { product[row * n + column] += left * b.scalars[inner * n + column] }
      }
    }
    return try! ShapedArray(shape: [m, n], scalars: product)
  }

  @derivative(of: matmul)
  func vjpMatmul(_ a: ShapedArray<Double>, _ b: ShapedArray<Double>) -> (
    value: ShapedArray<Double>,
    pullback: (ShapedArray<Double>) -> (ShapedArray<Double>, ShapedArray<Double>)
  ) {
    (
      matmul(a, b),
      { upstream in (matmul(upstream, transposed(b)), matmul(transposed(a), upstream)) }
    )
  }

  /// The transpose of a `[M, N]` array.
  func transposed(_ a: ShapedArray<Double>) -> ShapedArray<Double> {
    let (m, n) = (a.shape[0], a.shape[1])
    return try! ShapedArray(
      shape: [n, m], scalars: (0..<m * n).map { a.scalars[($0 % m) * n + $0 / m] })
  }

  /// `x + bias` with a `[N]` bias added to every row of a `[M, N]` array.
  @differentiable(reverse)
  func addingBias(_ x: ShapedArray<Double>, _ bias: ShapedArray<Double>) -> ShapedArray<Double> {
    let n = bias.shape[0]
    return try! ShapedArray(
      shape: x.shape, scalars: x.scalars.indices.map { x.scalars[$0] + bias.scalars[$0 % n] })
  }

  @derivative(of: addingBias)
  func vjpAddingBias(_ x: ShapedArray<Double>, _ bias: ShapedArray<Double>) -> (
    value: ShapedArray<Double>,
    pullback: (ShapedArray<Double>) -> (ShapedArray<Double>, ShapedArray<Double>)
  ) {
    (addingBias(x, bias), { upstream in (upstream, columnSums(upstream)) })
  }

  /// The sums of the columns of a `[M, N]` array.
  func columnSums(_ x: ShapedArray<Double>) -> ShapedArray<Double> {
    let n = x.shape[1]
    var sums = [Double](repeating: 0, count: n)
    for index in x.scalars.indices { sums[index % n] += x.scalars[index] }
    return ShapedArray(sums)
  }

  /// `tanh` of every element.
  @differentiable(reverse)
  func tanhElements(_ x: ShapedArray<Double>) -> ShapedArray<Double> {
    try! ShapedArray(shape: x.shape, scalars: x.scalars.map { Foundation.tanh($0) })
  }

  @derivative(of: tanhElements)
  func vjpTanhElements(_ x: ShapedArray<Double>) -> (
    value: ShapedArray<Double>, pullback: (ShapedArray<Double>) -> ShapedArray<Double>
  ) {
    let y = tanhElements(x)
    return (y, { upstream in tanhBackward(upstream, y) })
  }

  /// `upstream * (1 - y^2)`, the gradient through `y = tanh(x)`.
  func tanhBackward(_ upstream: ShapedArray<Double>, _ y: ShapedArray<Double>) -> ShapedArray<
    Double
  > {
    try! ShapedArray(
      shape: y.shape,
      scalars: y.scalars.indices.map { upstream.scalars[$0] * (1 - y.scalars[$0] * y.scalars[$0]) })
  }

  // MARK: - The model

  /// `logits = tanh(x · w1 + b1) · w2 + b2`.
  struct Perceptron: Differentiable {
    var w1: ShapedArray<Double>
    var b1: ShapedArray<Double>
    var w2: ShapedArray<Double>
    var b2: ShapedArray<Double>

    init(inputs: Int, hidden: Int, classes: Int, using generator: inout SeededGenerator) {
      w1 = randomArray([inputs, hidden], scale: 0.5, using: &generator)
      b1 = randomArray([hidden], scale: 0.1, using: &generator)
      w2 = randomArray([hidden, classes], scale: 0.5, using: &generator)
      b2 = randomArray([classes], scale: 0.1, using: &generator)
    }

    @differentiable(reverse)
    func hidden(_ x: ShapedArray<Double>) -> ShapedArray<Double> {
      tanhElements(addingBias(matmul(x, w1), b1))
    }

    @differentiable(reverse)
    func callAsFunction(_ x: ShapedArray<Double>) -> ShapedArray<Double> {
      addingBias(matmul(hidden(x), w2), b2)
    }

    /// One step of gradient descent.
    mutating func descend(along gradient: TangentVector, rate: Double) {
      w1 = w1 - gradient.w1.map { rate * $0 }
      b1 = b1 - gradient.b1.map { rate * $0 }
      w2 = w2 - gradient.w2.map { rate * $0 }
      b2 = b2 - gradient.b2.map { rate * $0 }
    }
  }

  extension ShapedArray<Double> {
    fileprivate func map(_ transform: (Double) -> Double) -> ShapedArray<Double> {
      try! ShapedArray(shape: shape, scalars: scalars.map(transform))
    }
  }

  /// Three Gaussian blobs in the plane, one class each.
  func blobs(count: Int, using generator: inout SeededGenerator) -> (
    x: ShapedArray<Double>, labels: ShapedArray<Int>
  ) {
    let centers: [(Double, Double)] = [(1.5, 0), (-1, 1.2), (-0.5, -1.5)]
    let labels = (0..<count).map { $0 % 3 }
    let noise = generator.normals(2 * count, scale: 0.5)
    let points = labels.indices.flatMap { index in
      [
        centers[labels[index]].0 + noise[2 * index],
        centers[labels[index]].1 + noise[2 * index + 1],
      ]
    }
    return (try! ShapedArray(shape: [count, 2], scalars: points), ShapedArray(labels))
  }

  @Suite struct TrainingTests {
    /// Softmax cross-entropy on the perceptron's logits: autodiff's gradients of every
    /// parameter equal the hand-written chain from `lossAndGradient` at every step, and the
    /// loss falls.
    @Test func perceptronWithSoftmaxCrossEntropy() throws {
      var generator = SeededGenerator(seed: 51)
      let (x, labels) = blobs(count: 48, using: &generator)
      var model = Perceptron(inputs: 2, hidden: 8, classes: 3, using: &generator)
      let criterion = SoftmaxCrossEntropy(labelSmoothing: 0.05)
      var losses: [Double] = []
      for step in 0..<30 {
        let (loss, modelGradient) = valueWithGradient(at: model) { model in
          criterion.differentiableLoss(logits: model(x), labels: labels)
        }

        // The same gradients by hand: the loss's fused gradient, then the chain rule.
        let hidden = model.hidden(x)
        let logits = addingBias(matmul(hidden, model.w2), model.b2)
        let expected = try criterion.lossAndGradient(logits: logits, labels: labels)
        let hiddenGradient = matmul(expected.gradient, transposed(model.w2))
        let preactivationGradient = tanhBackward(hiddenGradient, hidden)
        #expect(loss == expected.loss.scalar, "step \(step) loss")
        expectGradient(
          modelGradient.w2, matmul(transposed(hidden), expected.gradient), "step \(step) w2")
        expectGradient(modelGradient.b2, columnSums(expected.gradient), "step \(step) b2")
        expectGradient(
          modelGradient.w1, matmul(transposed(x), preactivationGradient), "step \(step) w1")
        expectGradient(modelGradient.b1, columnSums(preactivationGradient), "step \(step) b1")

        losses.append(loss)
        model.descend(along: modelGradient, rate: 0.5)
      }
      #expect(losses.last! < 0.5 * losses.first!, "losses \(losses)")
      #expect(zip(losses, losses.dropFirst()).filter { $1 > $0 }.count <= 2, "losses \(losses)")
    }

    /// The same perceptron with its last layer as a fused linear cross-entropy head (PyTorch's
    /// `nn.Linear` layout, `[classes, hidden]`): gradients of the hidden states, the classifier
    /// and its bias flow from the head into the first layer.
    @Test func perceptronWithLinearCrossEntropyHead() throws {
      var generator = SeededGenerator(seed: 52)
      let (x, labels) = blobs(count: 36, using: &generator)
      var model = Perceptron(inputs: 2, hidden: 6, classes: 3, using: &generator)
      var classifier = transposed(model.w2)
      let head = LinearCrossEntropy(reduction: .sum)
      var losses: [Double] = []
      for step in 0..<30 {
        let (loss, gradients) = valueWithGradient(at: model, classifier) { model, classifier in
          head.differentiableLoss(
            hidden: model.hidden(x), weight: classifier, bias: model.b2, labels: labels)
        }
        let (modelGradient, classifierGradient) = gradients

        let hidden = model.hidden(x)
        let expected = try head.lossAndGradient(
          hidden: hidden, weight: classifier, bias: model.b2, labels: labels)
        let preactivationGradient = tanhBackward(expected.hiddenGradient, hidden)
        #expect(loss == expected.loss.scalar, "step \(step) loss")
        expectGradient(classifierGradient, expected.weightGradient, "step \(step) classifier")
        expectGradient(modelGradient.b2, expected.biasGradient!, "step \(step) bias")
        expectGradient(
          modelGradient.w1, matmul(transposed(x), preactivationGradient), "step \(step) w1")
        expectGradient(modelGradient.b1, columnSums(preactivationGradient), "step \(step) b1")
        // `w2` is not used by this loss: its tangent is the broadcasting zero.
        #expect(modelGradient.w2 == .zero, "step \(step) w2")

        losses.append(loss)
        model.descend(along: modelGradient, rate: 0.02)
        classifier = classifier - classifierGradient.map { 0.02 * $0 }
      }
      #expect(losses.last! < 0.5 * losses.first!, "losses \(losses)")
    }
  }
#endif
