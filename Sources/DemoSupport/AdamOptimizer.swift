import Foundation

/// Adam (Kingma and Ba, 2015) with bias correction and no weight decay, as `torch.optim.Adam`.
///
/// ```
/// m = b1 m + (1 - b1) g        v = b2 v + (1 - b2) g^2
/// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
/// ```
package struct AdamOptimizer: Sendable {
  /// The step size.
  package var learningRate: Float
  /// The decay of the first moment.
  package var beta1: Float = 0.9
  /// The decay of the second moment.
  package var beta2: Float = 0.999
  /// Added to the denominator for stability.
  package var epsilon: Float = 1e-8
  private var firstMoment: [Float]
  private var secondMoment: [Float]
  private var step = 0

  /// Creates an optimiser for `parameterCount` parameters.
  package init(parameterCount: Int, learningRate: Float) {
    self.learningRate = learningRate
    firstMoment = [Float](repeating: 0, count: parameterCount)
    secondMoment = [Float](repeating: 0, count: parameterCount)
  }

  /// Takes one step along `gradient`.
  package mutating func update(_ parameters: inout [Float], gradient: UnsafePointer<Float>) {
    step += 1
    let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
    let correction2 = 1 - Float(pow(Double(beta2), Double(step)))
    let stepSize = learningRate / correction1
    let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
    let rootCorrection2 = correction2.squareRoot()
    parameters.withUnsafeMutableBufferPointer { parameters in
      firstMoment.withUnsafeMutableBufferPointer { first in
        secondMoment.withUnsafeMutableBufferPointer { second in
          for index in 0..<parameters.count {
            let g = gradient[index]
            first[index] = beta1 * first[index] + (1 - beta1) * g
            second[index] = beta2 * second[index] + (1 - beta2) * g * g
            let denominator = second[index].squareRoot() / rootCorrection2 + epsilon
            parameters[index] -= stepSize * first[index] / denominator
          }
        }
      }
    }
  }
}
