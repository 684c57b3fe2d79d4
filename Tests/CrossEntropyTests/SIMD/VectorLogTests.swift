import RealModule
import Testing

@testable import CrossEntropy

/// The worst error in ULP of `Float(exact)` of `f` over `inputs`, against `exact` in Double.
private func worstError(
  _ inputs: [Float], _ f: (Vector) -> Vector, _ exact: (Double) -> Double
) -> (ulp: Double, at: Float) {
  var worst = (ulp: 0.0, at: Float(0))
  var start = 0
  while start < inputs.count {
    var lanes = Vector.zero
    let n = min(16, inputs.count - start)
    for j in 0..<n { lanes[j] = inputs[start + j] }
    let outputs = f(lanes)
    for j in 0..<n {
      let expected = exact(Double(lanes[j]))
      let ulp = Double(Float(expected).ulp)
      let error: Double
      if expected.isInfinite || expected == 0 {
        error = Double(outputs[j]) == expected ? 0 : .infinity
      } else {
        error = abs(Double(outputs[j]) - expected) / ulp
      }
      if error > worst.ulp || error.isNaN { worst = (error, lanes[j]) }
    }
    start += n
  }
  return worst
}

/// Every `stride`-th float between the bit patterns `from` and `to` (inclusive).
private func floats(from: UInt32, to: UInt32, stride: UInt32) -> [Float] {
  Array(Swift.stride(from: from, through: to, by: Int(stride))).map { Float(bitPattern: $0) }
}

@Test func vectorLog1pIsWithinTwoULPFromMinusOneToTheLargestFloat() {
  // About 1.4 million floats: every 1021st negative float in (-1, 0) and every 1021st positive
  // float up to the largest finite one, against libm's log1p in Double.
  let negative = floats(from: (-Float(0)).bitPattern, to: (-Float(1)).bitPattern, stride: 1021)
  let positive = floats(from: 0, to: Float.greatestFiniteMagnitude.bitPattern, stride: 1021)
  let edges: [Float] = [
    -1, -1 + .ulpOfOne / 2, -0.5, -0.29289, 0.41421, 1e-30, .leastNonzeroMagnitude,
    .leastNormalMagnitude, 1, 2, 3, 1e7, 16_777_216, .greatestFiniteMagnitude,
  ]
  let worst = worstError(negative + positive + edges, VectorMath.log1p) { .log(onePlus: $0) }
  #expect(worst.ulp <= 2, "worst error \(worst.ulp) ULP at x = \(worst.at)")
}

@Test func vectorLogIsWithinTwoULPOnPositiveFloats() {
  // Every 1021st positive float, subnormals included.
  let inputs = floats(from: 1, to: Float.greatestFiniteMagnitude.bitPattern, stride: 1021)
  let worst = worstError(inputs, VectorMath.log) { .log($0) }
  #expect(worst.ulp <= 2, "worst error \(worst.ulp) ULP at x = \(worst.at)")
}

@Test func vectorLog1pHandlesTheEdges() {
  var x = Vector(repeating: 0)
  x[0] = -1
  x[1] = .infinity
  x[2] = .nan
  x[3] = -2
  x[4] = 0
  x[5] = -.infinity
  x[6] = -0.0
  let y = VectorMath.log1p(x)
  #expect(y[0] == -.infinity)
  #expect(y[1] == .infinity)
  #expect(y[2].isNaN)
  #expect(y[3].isNaN)
  #expect(y[4] == 0)
  #expect(y[5].isNaN)
  #expect(y[6] == 0)
  let l = VectorMath.log(x)
  #expect(l[4] == -.infinity)
  #expect(l[1] == .infinity)
  #expect(l[0].isNaN)
}
