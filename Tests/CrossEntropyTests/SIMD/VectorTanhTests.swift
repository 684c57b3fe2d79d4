import RealModule
import Testing

@testable import CrossEntropy

/// The worst error of ``VectorMath/tanh(_:)`` in ULP of the correctly rounded result (libm's
/// Double tanh rounded to fp32), over every `stride`-th positive float up to `limit` bits, and
/// the negated values.
private func worstTanhError(stride: UInt32, limit: UInt32) -> (ulp: Double, at: Float) {
  var worst = 0.0
  var worstInput: Float = 0
  var lanes = Vector.zero
  var lane = 0
  func check(_ inputs: Vector) {
    for sign: Float in [1, -1] {
      let outputs = VectorMath.tanh(inputs * sign)
      for i in 0..<16 {
        let exact = Double.tanh(Double(inputs[i] * sign))
        let ulp = Double(Float(exact).magnitude.ulp)
        let error = abs(Double(outputs[i]) - exact) / ulp
        if error > worst {
          worst = error
          worstInput = inputs[i] * sign
        }
      }
    }
  }
  var bits: UInt32 = 0
  while bits <= limit {
    lanes[lane] = Float(bitPattern: bits)
    lane += 1
    if lane == 16 {
      check(lanes)
      lane = 0
    }
    bits += stride
  }
  // Around the switch between the polynomial and the exponential.
  for k in 0..<16 {
    lanes[k] = Float(bitPattern: VectorMath.tanhPolynomialBound.bitPattern &+ UInt32(k) &- 8)
  }
  check(lanes)
  return (worst, worstInput)
}

@Test func vectorTanhIsWithinTwoULPOnEveryFloat() {
  // Every 397th positive finite float (about 5.4 million, subnormals to the largest), both signs.
  let result = worstTanhError(stride: 397, limit: Float.greatestFiniteMagnitude.bitPattern)
  #expect(result.ulp <= 2, "worst error \(result.ulp) ULP at x = \(result.at)")
}

@Test func vectorTanhIsWithinTwoULPOnTheLogitRange() {
  // Denser where capped logits live: |y| up to 16, every 499th float (about 2.2 million).
  let result = worstTanhError(stride: 499, limit: Float(16).bitPattern)
  #expect(result.ulp <= 2, "worst error \(result.ulp) ULP at x = \(result.at)")
}

@Test func vectorTanhHandlesTheEdges() {
  var x = Vector.zero
  x[0] = .infinity
  x[1] = -.infinity
  x[2] = .nan
  x[3] = -0.0
  x[4] = 1e-30
  x[5] = 50
  x[6] = -50
  x[7] = .leastNonzeroMagnitude
  let y = VectorMath.tanh(x)
  #expect(y[0] == 1 && y[1] == -1)
  #expect(y[2].isNaN)
  #expect(y[3] == 0 && y[3].sign == .minus)
  #expect(y[4] == 1e-30)
  #expect(y[5] == 1 && y[6] == -1)
  #expect(y[7] == .leastNonzeroMagnitude)
  // Monotone and bounded across the switch and up to saturation.
  var previous: Float = -1
  var t: Float = -12
  while t <= 12 {
    let value = VectorMath.tanh(Vector(repeating: t))[0]
    #expect(value >= previous && abs(value) <= 1, "tanh(\(t)) = \(value)")
    previous = value
    t += 1.0 / 64
  }
}

@Test func vectorTanhDerivativeKeepsItsRelativeAccuracyWhereTanhSaturates() {
  // 1 - tanh^2(y) = 4e / (1 + e)^2 with e = exp(-2|y|), in Double; |y| up to 40 (the factor
  // falls to about 1e-34), where 1 - t * t from an fp32 t would have no correct digit left.
  var worst = 0.0
  var worstInput: Float = 0
  var y: Float = -40
  while y <= 40 {
    let d = VectorMath.tanhWithDerivative(Vector(repeating: y)).derivative[0]
    let e = Double.exp(-2 * abs(Double(y)))
    let exact = 4 * e / ((1 + e) * (1 + e))
    let error = abs(Double(d) - exact) / exact
    if error > worst {
      worst = error
      worstInput = y
    }
    y += 1.0 / 128
  }
  #expect(worst <= 1e-6, "worst relative error \(worst) at y = \(worstInput)")
}
