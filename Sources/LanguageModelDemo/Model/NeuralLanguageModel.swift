import CrossEntropy
import DemoSupport
import Foundation

/// The sizes of a ``NeuralLanguageModel``.
package struct ModelShape: Sendable, Equatable {
  /// Tokens in the vocabulary (the classes of the head).
  package var vocabulary: Int
  /// Previous tokens the model reads.
  package var context: Int
  /// Size of a token's embedding.
  package var embedding: Int
  /// Units of the hidden layer, the head's input size.
  package var hidden: Int

  /// Creates a shape.
  package init(vocabulary: Int, context: Int, embedding: Int, hidden: Int) {
    self.vocabulary = vocabulary
    self.context = context
    self.embedding = embedding
    self.hidden = hidden
  }

  /// The width of the hidden layer's input, the concatenated context embeddings.
  var inputWidth: Int { context * embedding }

  /// Where each parameter tensor starts in the flat parameter array, and the total count.
  var offsets: (hiddenWeight: Int, hiddenBias: Int, outputWeight: Int, outputBias: Int, count: Int)
  {
    let hiddenWeight = (vocabulary + 1) * embedding
    let hiddenBias = hiddenWeight + hidden * inputWidth
    let outputWeight = hiddenBias + hidden
    let outputBias = outputWeight + vocabulary * hidden
    return (hiddenWeight, hiddenBias, outputWeight, outputBias, outputBias + vocabulary)
  }
}

/// A feed-forward neural language model after Bengio et al. (2003), whose output layer is the
/// library's fused ``LinearCrossEntropy``.
///
/// The previous ``ModelShape/context`` tokens are looked up in an embedding table (one more row
/// for the boundary before a play's first token), concatenated, and fed to a `tanh` hidden
/// layer; the head maps the hidden state to the vocabulary's logits, which are never
/// materialised for more than one chunk of rows:
///
/// ```
/// x = [e(t-k), ..., e(t-1)]      h = tanh(W₁ x + b₁)      loss = CE(W₂ h + b₂, t)
/// ```
///
/// The dense products run on the library's GEMM. All parameters live in one flat array (the
/// embeddings, `W₁`, `b₁`, `W₂` in `nn.Linear`'s `V x H` layout, `b₂`), so one Adam steps them.
package struct NeuralLanguageModel: Sendable {
  /// The sizes.
  package let shape: ModelShape
  /// Every parameter, in the order of ``ModelShape/offsets``.
  package var parameters: [Float]

  /// The boundary symbol's row in the embedding table, used as history before a play starts.
  package var boundary: Int32 { Int32(shape.vocabulary) }

  /// A freshly initialised model.
  ///
  /// Embeddings are uniform in ±√3 (unit variance), the dense weights uniform in
  /// ±1/√fan-in (PyTorch's `nn.Linear` default), `b₁` zero, and `b₂` the log of the training
  /// tokens' add-one unigram frequencies, so the untrained model already predicts the unigram.
  ///
  /// - Parameters:
  ///   - shape: The sizes.
  ///   - unigramCounts: How often each token occurs in the training data (`vocabulary` counts).
  ///   - generator: The source of the random weights.
  package init(shape: ModelShape, unigramCounts: [Int], generator: inout SplitMix64) {
    self.shape = shape
    let offsets = shape.offsets
    var parameters = [Float](repeating: 0, count: offsets.count)
    let root3 = Float(3).squareRoot()
    for index in 0..<offsets.hiddenWeight {
      parameters[index] = root3 * Float(2 * generator.nextUnit() - 1)
    }
    let hiddenBound = 1 / Float(shape.inputWidth).squareRoot()
    for index in offsets.hiddenWeight..<offsets.hiddenBias {
      parameters[index] = hiddenBound * Float(2 * generator.nextUnit() - 1)
    }
    let outputBound = 1 / Float(shape.hidden).squareRoot()
    for index in offsets.outputWeight..<offsets.outputBias {
      parameters[index] = outputBound * Float(2 * generator.nextUnit() - 1)
    }
    let total = Double(unigramCounts.reduce(0, +) + shape.vocabulary)
    for token in 0..<shape.vocabulary {
      parameters[offsets.outputBias + token] = Float(log(Double(unigramCounts[token] + 1) / total))
    }
    self.parameters = parameters
  }
}

/// Scratch memory for the forward and backward passes of up to `capacity` rows.
package struct ModelWorkspace {
  let capacity: Int
  var inputs: [Float]
  var hidden: [Float]
  /// The hidden states after dropout, the head's input (unused without dropout).
  var dropped: [Float]
  /// The dropout multipliers: 0, or 1 / (1 - rate).
  var mask: [Float]
  var hiddenGradient: [Float]
  var inputGradient: [Float]
  var gradient: [Float]

  /// Creates buffers for batches of at most `capacity` rows of a model of `shape`.
  package init(shape: ModelShape, capacity: Int) {
    self.capacity = capacity
    inputs = [Float](repeating: 0, count: capacity * shape.inputWidth)
    hidden = [Float](repeating: 0, count: capacity * shape.hidden)
    dropped = [Float](repeating: 0, count: capacity * shape.hidden)
    mask = [Float](repeating: 0, count: capacity * shape.hidden)
    hiddenGradient = [Float](repeating: 0, count: capacity * shape.hidden)
    inputGradient = [Float](repeating: 0, count: capacity * shape.inputWidth)
    gradient = [Float](repeating: 0, count: shape.offsets.count)
  }
}

extension NeuralLanguageModel {
  /// The hidden states of `rows` positions whose contexts are `contexts[row * k ..< row * k + k]`,
  /// written to `hidden` (`rows x H`); `inputs` receives the concatenated embeddings.
  func hiddenStates(
    contexts: UnsafePointer<Int32>, rows: Int, inputs: UnsafeMutablePointer<Float>,
    hidden: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let (k, e, h) = (shape.context, shape.embedding, shape.hidden)
    let width = shape.inputWidth
    let offsets = shape.offsets
    parameters.withUnsafeBufferPointer { p in
      let p = p.baseAddress!
      for row in 0..<rows {
        for slot in 0..<k {
          let token = Int(contexts[row * k + slot])
          (inputs + row * width + slot * e).update(from: p + token * e, count: e)
        }
        (hidden + row * h).update(from: p + offsets.hiddenBias, count: h)
      }
      MatrixProduct.multiply(
        m: rows, n: h, k: width, a: inputs, lda: width, transposeA: false,
        b: p + offsets.hiddenWeight, ldb: width, transposeB: true, c: hidden, ldc: h,
        accumulate: true, threads: threads)
    }
    for index in 0..<rows * h { hidden[index] = tanhf(hidden[index]) }
  }

  /// The mean loss of one batch and the gradient of every parameter, into
  /// `workspace.gradient`.
  ///
  /// - Parameters:
  ///   - contexts: `rows x k` context tokens.
  ///   - targets: `rows` next tokens.
  ///   - head: The fused output layer (its options: the reduction must be `.mean`).
  ///   - dropout: The rate at which hidden units are zeroed (inverted dropout: the kept ones
  ///     are scaled by `1 / (1 - dropout)`), in [0, 1); 0 draws nothing from `generator`.
  ///   - generator: The source of the dropout masks.
  ///   - workspace: Buffers for at least `targets.count` rows.
  ///   - threads: The most threads the dense products may use.
  func lossAndGradient(
    contexts: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int>,
    head: LinearCrossEntropy, dropout: Double = 0, generator: inout SplitMix64,
    workspace: inout ModelWorkspace, threads: Int
  ) throws(LossError) -> Double {
    let rows = targets.count
    let (h, v) = (shape.hidden, shape.vocabulary)
    let offsets = shape.offsets
    // The buffers move out of the workspace for the call, so that each is borrowed on its own.
    var buffers = ModelWorkspace(shape: shape, capacity: 0)
    swap(&buffers, &workspace)
    defer { swap(&buffers, &workspace) }
    hiddenStates(
      contexts: contexts.baseAddress!, rows: rows, inputs: &buffers.inputs,
      hidden: &buffers.hidden, threads: threads)
    if dropout > 0 {
      let keep = Float(1 / (1 - dropout))
      for index in 0..<rows * h {
        buffers.mask[index] = generator.nextUnit() < dropout ? 0 : keep
        buffers.dropped[index] = buffers.hidden[index] * buffers.mask[index]
      }
    }
    var loss: Float = 0
    try (dropout > 0 ? buffers.dropped : buffers.hidden).withUnsafeBufferPointer {
      headInput throws(LossError) in
      try parameters.withUnsafeBufferPointer { p throws(LossError) in
        try buffers.gradient.withUnsafeMutableBufferPointer { g throws(LossError) in
          try buffers.hiddenGradient.withUnsafeMutableBufferPointer { dh throws(LossError) in
            try withUnsafeMutablePointer(to: &loss) { single throws(LossError) in
              try head.lossAndGradient(
                hidden: UnsafeBufferPointer(rebasing: headInput[0..<rows * h]), shape: [rows, h],
                weight: UnsafeBufferPointer(rebasing: p[offsets.outputWeight..<offsets.outputBias]),
                weightShape: [v, h],
                bias: UnsafeBufferPointer(rebasing: p[offsets.outputBias..<offsets.count]),
                labels: targets, loss: UnsafeMutableBufferPointer(start: single, count: 1),
                hiddenGradient: UnsafeMutableBufferPointer(rebasing: dh[0..<rows * h]),
                weightGradient: UnsafeMutableBufferPointer(
                  rebasing: g[offsets.outputWeight..<offsets.outputBias]),
                biasGradient: UnsafeMutableBufferPointer(
                  rebasing: g[offsets.outputBias..<offsets.count]))
            }
          }
        }
      }
    }
    if dropout > 0 {
      for index in 0..<rows * h { buffers.hiddenGradient[index] *= buffers.mask[index] }
    }
    backward(
      contexts: contexts.baseAddress!, rows: rows, inputs: buffers.inputs,
      hidden: buffers.hidden, hiddenGradient: &buffers.hiddenGradient,
      gradient: &buffers.gradient, inputGradient: &buffers.inputGradient, threads: threads)
    return Double(loss)
  }

  /// Back-propagates the head's hidden-state gradient through `tanh`, the hidden layer and the
  /// embedding lookup, writing the gradients of the embeddings, `W₁` and `b₁`.
  private func backward(
    contexts: UnsafePointer<Int32>, rows: Int, inputs: UnsafePointer<Float>,
    hidden: UnsafePointer<Float>, hiddenGradient dh: UnsafeMutablePointer<Float>,
    gradient g: UnsafeMutablePointer<Float>, inputGradient: UnsafeMutablePointer<Float>,
    threads: Int
  ) {
    let (k, e, h) = (shape.context, shape.embedding, shape.hidden)
    let width = shape.inputWidth
    let offsets = shape.offsets
    // Through tanh: d(pre-activation) = dh * (1 - h²).
    for index in 0..<rows * h { dh[index] *= 1 - hidden[index] * hidden[index] }
    // b₁: column sums in row order.
    let db = g + offsets.hiddenBias
    db.update(repeating: 0, count: h)
    for row in 0..<rows {
      for unit in 0..<h { db[unit] += dh[row * h + unit] }
    }
    // W₁ (H x kE) = dAᵀ · X.
    MatrixProduct.multiply(
      m: h, n: width, k: rows, a: dh, lda: h, transposeA: true, b: inputs, ldb: width,
      transposeB: false, c: g + offsets.hiddenWeight, ldc: width, accumulate: false,
      threads: threads)
    // The inputs' gradient, dX = dA · W₁, scattered into the embedding rows.
    let dx = inputGradient
    parameters.withUnsafeBufferPointer { p in
      MatrixProduct.multiply(
        m: rows, n: width, k: h, a: dh, lda: h, transposeA: false,
        b: p.baseAddress! + offsets.hiddenWeight, ldb: width, transposeB: false, c: dx,
        ldc: width, accumulate: false, threads: threads)
    }
    g.update(repeating: 0, count: offsets.hiddenWeight)
    for row in 0..<rows {
      for slot in 0..<k {
        let target = g + Int(contexts[row * k + slot]) * e
        let source = dx + row * width + slot * e
        for index in 0..<e { target[index] += source[index] }
      }
    }
  }
}
