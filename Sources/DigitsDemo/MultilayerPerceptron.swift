import DemoSupport
import Foundation

/// A multilayer perceptron with one hidden ReLU layer: `logits = relu(x·W1 + b1)·W2 + b2`.
///
/// All parameters live in one flat array (`W1`, `b1`, `W2`, `b2`, each row-major), so that an
/// optimiser updates them in a single loop.
package struct MultilayerPerceptron: Sendable {
  /// Inputs per sample.
  package let inputCount: Int
  /// Hidden units.
  package let hiddenCount: Int
  /// Outputs (classes) per sample.
  package let outputCount: Int
  /// `W1` (`inputCount x hiddenCount`), `b1`, `W2` (`hiddenCount x outputCount`), `b2`.
  package var parameters: [Float]

  var firstBiasOffset: Int { inputCount * hiddenCount }
  var secondWeightsOffset: Int { firstBiasOffset + hiddenCount }
  var secondBiasOffset: Int { secondWeightsOffset + hiddenCount * outputCount }

  /// Creates a network with He-normal weights (standard deviation `sqrt(2 / fan-in)`, He et al.,
  /// 2015) and zero biases.
  ///
  /// - Parameters:
  ///   - inputCount: Inputs per sample.
  ///   - hiddenCount: Hidden units.
  ///   - outputCount: Outputs per sample.
  ///   - generator: The source of the initial weights.
  package init(
    inputCount: Int, hiddenCount: Int, outputCount: Int, generator: inout SplitMix64
  ) {
    self.inputCount = inputCount
    self.hiddenCount = hiddenCount
    self.outputCount = outputCount
    var parameters: [Float] = []
    parameters.reserveCapacity(
      inputCount * hiddenCount + hiddenCount + hiddenCount * outputCount + outputCount)
    for (fanIn, fanOut) in [(inputCount, hiddenCount), (hiddenCount, outputCount)] {
      let deviation = (2 / Double(fanIn)).squareRoot()
      for _ in 0..<(fanIn * fanOut) {
        parameters.append(Float(generator.nextGaussian() * deviation))
      }
      parameters += [Float](repeating: 0, count: fanOut)
    }
    self.parameters = parameters
  }

  /// The number of parameters.
  package var parameterCount: Int { parameters.count }

  /// The logits of `rows` samples.
  ///
  /// - Parameters:
  ///   - inputs: `rows x inputCount` features, row-major.
  ///   - rows: The number of samples.
  /// - Returns: `rows x outputCount` logits, row-major.
  package func logits(_ inputs: [Float], rows: Int) -> [Float] {
    precondition(inputs.count == rows * inputCount, "inputs must hold rows x inputCount values")
    var hidden = [Float](repeating: 0, count: rows * hiddenCount)
    var logits = [Float](repeating: 0, count: rows * outputCount)
    inputs.withUnsafeBufferPointer { input in
      hidden.withUnsafeMutableBufferPointer { hidden in
        logits.withUnsafeMutableBufferPointer { logits in
          forward(
            input.baseAddress!, rows: rows, hidden: hidden.baseAddress!,
            logits: logits.baseAddress!)
        }
      }
    }
    return logits
  }

  /// Runs the network on `rows` samples, keeping the hidden activations for the backward pass.
  func forward(
    _ input: UnsafePointer<Float>, rows: Int, hidden: UnsafeMutablePointer<Float>,
    logits: UnsafeMutablePointer<Float>
  ) {
    parameters.withUnsafeBufferPointer { parameters in
      let base = parameters.baseAddress!
      DenseKernels.affine(
        input, rows: rows, inner: inputCount, weights: base, bias: base + firstBiasOffset,
        columns: hiddenCount, into: hidden)
      DenseKernels.relu(hidden, count: rows * hiddenCount)
      DenseKernels.affine(
        hidden, rows: rows, inner: hiddenCount, weights: base + secondWeightsOffset,
        bias: base + secondBiasOffset, columns: outputCount, into: logits)
    }
  }

  /// The gradient of the loss with respect to every parameter, laid out as ``parameters``,
  /// from the gradient with respect to the logits.
  ///
  /// `hiddenGradient` is scratch of `rows x hiddenCount` elements.
  func backward(
    _ input: UnsafePointer<Float>, rows: Int, hidden: UnsafePointer<Float>,
    logitGradient: UnsafePointer<Float>, hiddenGradient: UnsafeMutablePointer<Float>,
    into gradient: UnsafeMutablePointer<Float>
  ) {
    parameters.withUnsafeBufferPointer { parameters in
      let base = parameters.baseAddress!
      DenseKernels.weightGradient(
        input: hidden, upstream: logitGradient, rows: rows, inner: hiddenCount,
        columns: outputCount, weights: gradient + secondWeightsOffset,
        bias: gradient + secondBiasOffset)
      DenseKernels.inputGradientThroughReLU(
        upstream: logitGradient, weights: base + secondWeightsOffset, rows: rows,
        inner: hiddenCount, columns: outputCount, mask: hidden, into: hiddenGradient)
      DenseKernels.weightGradient(
        input: input, upstream: hiddenGradient, rows: rows, inner: inputCount,
        columns: hiddenCount, weights: gradient, bias: gradient + firstBiasOffset)
    }
  }
}
