import CrossEntropy
import DemoSupport
import Foundation

/// How the model scores a whole split.
package struct SplitEvaluation: Sendable, Equatable {
  /// The mean negative log-likelihood per token, in nats.
  package var nll: Double
  /// The number of tokens scored.
  package var tokens: Int
  /// The token accuracy: the share of positions whose most likely next token (the argmax of
  /// the head's logits) is the actual one; NaN for an empty split.
  package var accuracy: Double
  /// The growth of the peak resident memory during the head's one call over the whole split, in
  /// bytes; nil where the operating system does not report it.
  package var headPeakExtraBytes: Int?
  /// The bytes the split's fp32 logits would take if materialised: `tokens x vocabulary x 4`.
  package var materializedLogitsBytes: Int

  /// The perplexity, `exp(nll)`.
  package var perplexity: Double { exp(nll) }
}

extension NeuralLanguageModel {
  /// Scores every position of a split with one call of the fused head over all of them.
  ///
  /// The hidden states are computed for the whole split (`tokens x H` floats), then one
  /// ``LinearCrossEntropy`` call with `.sum` gives the total negative log-likelihood and the
  /// token accuracy (its statistics, from the same pass) while holding at most its scratch
  /// bound of logits, however long the split.
  ///
  /// - Parameters:
  ///   - positions: The split's positions, with this model's context length.
  ///   - threads: The most threads the dense products may use.
  package func evaluate(_ positions: TokenPositions, threads: Int) throws(LossError)
    -> SplitEvaluation
  {
    let (rows, h, v) = (positions.count, shape.hidden, shape.vocabulary)
    let batch = 4096
    var inputs = [Float](repeating: 0, count: min(batch, max(rows, 1)) * shape.inputWidth)
    var hidden = [Float](repeating: 0, count: rows * h)
    positions.contexts.withUnsafeBufferPointer { contexts in
      hidden.withUnsafeMutableBufferPointer { hidden in
        inputs.withUnsafeMutableBufferPointer { inputs in
          for start in stride(from: 0, to: rows, by: batch) {
            let count = min(batch, rows - start)
            hiddenStates(
              contexts: contexts.baseAddress! + start * shape.context, rows: count,
              inputs: inputs.baseAddress!, hidden: hidden.baseAddress! + start * h,
              threads: threads)
          }
        }
      }
    }
    let offsets = shape.offsets
    let head = LinearCrossEntropy(reduction: .sum)
    let measured = try ResidentMemory.peakGrowth {
      () throws(LossError) -> (loss: Float, correct: Int, labeled: Int) in
      var total: Float = 0
      var counts = (correctCount: 0, labeledCount: 0)
      try hidden.withUnsafeBufferPointer { hidden throws(LossError) in
        try parameters.withUnsafeBufferPointer { p throws(LossError) in
          try positions.targets.withUnsafeBufferPointer { labels throws(LossError) in
            try withUnsafeMutablePointer(to: &total) { single throws(LossError) in
              counts = try head.lossAndStatistics(
                hidden: hidden, shape: [rows, h],
                weight: UnsafeBufferPointer(rebasing: p[offsets.outputWeight..<offsets.outputBias]),
                weightShape: [v, h],
                bias: UnsafeBufferPointer(rebasing: p[offsets.outputBias..<offsets.count]),
                labels: labels, into: UnsafeMutableBufferPointer(start: single, count: 1))
            }
          }
        }
      }
      return (total, counts.correctCount, counts.labeledCount)
    }
    let result = measured.result
    return SplitEvaluation(
      nll: rows == 0 ? .nan : Double(result.loss) / Double(rows), tokens: rows,
      accuracy: result.labeled == 0 ? .nan : Double(result.correct) / Double(result.labeled),
      headPeakExtraBytes: measured.bytes, materializedLogitsBytes: rows * v * 4)
  }

  /// Continues `prompt` by `count` tokens sampled from the model at a temperature.
  ///
  /// One row of logits (`V` floats) is formed per step; the distribution is
  /// `softmax(logits / temperature)`, sampled with `generator`.
  ///
  /// - Parameters:
  ///   - prompt: The tokens so far (may be empty: the boundary symbol fills the history).
  ///   - count: How many tokens to add.
  ///   - temperature: Positive; below 1 sharpens the distribution, above 1 flattens it.
  ///   - generator: The source of the draws.
  /// - Returns: The new tokens, without the prompt.
  package func sample(
    prompt: [Int32], count: Int, temperature: Double, generator: inout SplitMix64
  ) -> [Int32] {
    let (k, h, v) = (shape.context, shape.hidden, shape.vocabulary)
    let offsets = shape.offsets
    var history = [Int32](repeating: boundary, count: k) + prompt
    var produced: [Int32] = []
    var inputs = [Float](repeating: 0, count: shape.inputWidth)
    var hidden = [Float](repeating: 0, count: h)
    var logits = [Float](repeating: 0, count: v)
    var weights = [Double](repeating: 0, count: v)
    for _ in 0..<count {
      let context = Array(history.suffix(k))
      context.withUnsafeBufferPointer { context in
        hiddenStates(
          contexts: context.baseAddress!, rows: 1, inputs: &inputs, hidden: &hidden, threads: 1)
      }
      parameters.withUnsafeBufferPointer { p in
        logits.withUnsafeMutableBufferPointer { logits in
          logits.baseAddress!.update(from: p.baseAddress! + offsets.outputBias, count: v)
          MatrixProduct.multiply(
            m: 1, n: v, k: h, a: hidden, lda: h, transposeA: false,
            b: p.baseAddress! + offsets.outputWeight, ldb: h, transposeB: true,
            c: logits.baseAddress!, ldc: v, accumulate: true, threads: 1)
        }
      }
      let largest = Double(logits.max() ?? 0)
      var total = 0.0
      for token in 0..<v {
        weights[token] = exp((Double(logits[token]) - largest) / temperature)
        total += weights[token]
      }
      var draw = generator.nextUnit() * total
      var chosen = v - 1
      for token in 0..<v {
        draw -= weights[token]
        if draw < 0 {
          chosen = token
          break
        }
      }
      history.append(Int32(chosen))
      produced.append(Int32(chosen))
    }
    return produced
  }
}
