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

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  @Test func halfConversionsMatchSwiftOnEveryBitPattern() {
    var mismatches = 0
    for pattern in 0...UInt16.max {
      let h = Float16(bitPattern: pattern)
      let wide = HalfStorage.float(h)
      if h.isNaN ? !wide.isNaN : wide.bitPattern != Float(h).bitPattern { mismatches += 1 }
      if !h.isNaN, HalfStorage.stored(Float(h)).bitPattern != pattern { mismatches += 1 }
    }
    var generator = SplitMix(state: 3)
    for _ in 0..<100_000 {
      let x = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))
      let expected = Float16(x)
      let actual = HalfStorage.stored(x)
      if x.isNaN ? !actual.isNaN : actual.bitPattern != expected.bitPattern { mismatches += 1 }
    }
    #expect(mismatches == 0)
  }
#endif

@Test func bfloat16RoundsToNearestEven() {
  #expect(BFloat16Storage.stored(1) == 0x3F80)
  #expect(BFloat16Storage.stored(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even
  #expect(BFloat16Storage.stored(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, even
  #expect(BFloat16Storage.stored(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
  #expect(BFloat16Storage.stored(-.infinity) == 0xFF80)
  #expect(BFloat16Storage.float(BFloat16Storage.stored(.nan)).isNaN)
  #expect(BFloat16Storage.float(0xC040) == -3)
}
