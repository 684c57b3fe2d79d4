import Dispatch
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
  ///
  /// Each parameter is updated on its own, so splitting the parameters over `threads` threads
  /// (large models only) gives the same bits as one thread.
  package mutating func update(
    _ parameters: inout [Float], gradient: UnsafePointer<Float>, threads: Int = 1
  ) {
    step += 1
    let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
    let correction2 = 1 - Float(pow(Double(beta2), Double(step)))
    let stepSize = learningRate / correction1
    let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
    let rootCorrection2 = correction2.squareRoot()
    let count = parameters.count
    let parts = count >= 1 << 16 ? max(1, threads) : 1
    parameters.withUnsafeMutableBufferPointer { parameters in
      firstMoment.withUnsafeMutableBufferPointer { first in
        secondMoment.withUnsafeMutableBufferPointer { second in
          // Sendable bit patterns of the addresses: the parts write disjoint ranges.
          let (p, m, v) = (
            UInt(bitPattern: parameters.baseAddress!), UInt(bitPattern: first.baseAddress!),
            UInt(bitPattern: second.baseAddress!)
          )
          let g = UInt(bitPattern: gradient)
          let work: @Sendable (Int) -> Void = { part in
            let p = UnsafeMutablePointer<Float>(bitPattern: p)!
            let m = UnsafeMutablePointer<Float>(bitPattern: m)!
            let v = UnsafeMutablePointer<Float>(bitPattern: v)!
            let gradient = UnsafePointer<Float>(bitPattern: g)!
            for index in (count * part / parts)..<(count * (part + 1) / parts) {
              let g = gradient[index]
              m[index] = beta1 * m[index] + (1 - beta1) * g
              v[index] = beta2 * v[index] + (1 - beta2) * g * g
              let denominator = v[index].squareRoot() / rootCorrection2 + epsilon
              p[index] -= stepSize * m[index] / denominator
            }
          }
          if parts == 1 {
            work(0)
          } else {
            DispatchQueue.concurrentPerform(iterations: parts, execute: work)
          }
        }
      }
    }
  }
}
