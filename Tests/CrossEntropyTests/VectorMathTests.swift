import RealModule
import Testing

@testable import CrossEntropy

/// The distance between `value` and `exact` in units in the last place of `Float(exact)`.
private func ulpError(_ value: Float, _ exact: Double) -> Double {
  let rounded = Float(exact)
  let ulp = Double(rounded.ulp)
  return abs(Double(value) - exact) / ulp
}

@Test func vectorExpIsWithinTwoULPOnTheSoftmaxRange() {
  // Every 641st float between -87.33654 and 0 (about 1.7 million), against libm's Double exp.
  let lowest = VectorMath.expLowerBound.bitPattern
  let stride: UInt32 = 641
  var worst = 0.0
  var worstInput: Float = 0
  var bits = (-Float(0)).bitPattern
  var lanes = Vector.zero
  var lane = 0
  func check(_ inputs: Vector) {
    let outputs = VectorMath.exp(inputs)
    for i in 0..<16 {
      let error = ulpError(outputs[i], Double.exp(Double(inputs[i])))
      if error > worst {
        worst = error
        worstInput = inputs[i]
      }
    }
  }
  while bits <= lowest {
    lanes[lane] = Float(bitPattern: bits)
    lane += 1
    if lane == 16 {
      check(lanes)
      lane = 0
    }
    bits += stride
  }
  lanes[0] = VectorMath.expLowerBound
  lanes[1] = -1e-30
  lanes[2] = -0.5 * Float.log(2)
  check(lanes)
  #expect(worst <= 2, "worst error \(worst) ULP at x = \(worstInput)")
}

@Test func vectorExpHandlesTheEdges() {
  var x = Vector(repeating: 0)
  x[0] = -.infinity
  x[1] = .nan
  x[2] = -100
  x[3] = -87.4
  x[4] = 0
  let y = VectorMath.exp(x)
  #expect(y[0] == 0)
  #expect(y[1].isNaN)
  #expect(y[2] == 0)
  #expect(y[3] == 0)
  #expect(y[4] == 1)
}

@Test func treeReductionsMatchScalarLoops() {
  var v = Vector.zero
  for i in 0..<16 { v[i] = Float(i * 7 % 16) - 3.5 }
  #expect(VectorMath.sum(v) == (0..<16).reduce(Float(0)) { $0 + v[$1] })
  #expect(VectorMath.maximum(v) == 11.5)
  v[3] = .nan
  #expect(VectorMath.maximum(v) == 11.5)
}
