import RealModule
import Testing
import _CrossEntropyTestSupport

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
  /// The build's half-precision path (hardware conversion where the target has it) and the
  /// integer SIMD emulation (always tested) against Swift's `Float16` conversions: every half
  /// bit pattern widened, and a large sample of floats rounded, through the vector and the
  /// scalar entry points.
  @Test func halfConversionsMatchSwiftOnEveryBitPattern() {
    var mismatches = 0
    func widenedWrong(_ h: Float16, _ wide: Float) -> Bool {
      h.isNaN ? !wide.isNaN : wide.bitPattern != Float(h).bitPattern
    }
    func roundedWrong(_ x: Float, _ h: Float16) -> Bool {
      x.isNaN ? !h.isNaN : h.bitPattern != Float16(x).bitPattern
    }
    var halves = (0...UInt16.max).map { Float16(bitPattern: $0) }
    halves.withUnsafeBufferPointer { p in
      for start in stride(from: 0, to: p.count, by: 16) {
        let loaded = HalfStorage.load(p.baseAddress!, start)
        var bits = SIMD16<UInt32>()
        for k in 0..<16 { bits[k] = UInt32(p[start + k].bitPattern) }
        let emulated = HalfStorage.widen(bits)
        for k in 0..<16 {
          let h = p[start + k]
          if widenedWrong(h, loaded[k]) || widenedWrong(h, emulated[k]) { mismatches += 1 }
          if widenedWrong(h, HalfStorage.float(h)) { mismatches += 1 }
          if !h.isNaN, HalfStorage.stored(Float(h)).bitPattern != h.bitPattern { mismatches += 1 }
        }
      }
    }
    var generator = SeededGenerator(seed: 3)
    var v = Vector()
    for _ in 0..<20_000 {
      for k in 0..<16 {
        v[k] = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))
      }
      // Twelve lanes in the half range (2^-25 ..< 2^18: subnormals, overflow), four of them
      // exactly halfway between two halves (in the normal range), four anywhere.
      for k in 0..<12 {
        let r = v[k].bitPattern
        let exponent = 102 + (r >> 23) % 43
        v[k] = Float(bitPattern: (r & 0x807F_FFFF) | (exponent << 23))
        if k >= 8 { v[k] = Float(bitPattern: (v[k].bitPattern & ~0x1FFF) | 0x1000) }
      }
      halves.withUnsafeMutableBufferPointer { p in HalfStorage.store(v, p.baseAddress!, 0) }
      let emulated = HalfStorage.narrow(v)
      for k in 0..<16 {
        let x = v[k]
        if roundedWrong(x, halves[k]) || roundedWrong(x, HalfStorage.stored(x)) { mismatches += 1 }
        if roundedWrong(x, Float16(bitPattern: UInt16(truncatingIfNeeded: emulated[k]))) {
          mismatches += 1
        }
      }
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

@Test func unclampedExponentialMatchesVectorMathBitForBit() {
  // The exp without clamps, on its domain (x <= 0, -inf, NaN), against the clamped one.
  var inputs: [Float] = [
    0, -0.0, -.leastNonzeroMagnitude, VectorMath.expLowerBound, VectorMath.expLowerBound - 1e-5,
    -.infinity, .nan, -Float.greatestFiniteMagnitude, -1e30, -200,
  ]
  var x: Float = 0
  while x > -100 {
    inputs.append(x)
    x -= 0.013_7
  }
  while inputs.count % 16 != 0 { inputs.append(-1) }
  for start in stride(from: 0, to: inputs.count, by: 16) {
    let v = Vector(inputs[start..<start + 16])
    let fast = VectorMath.expOfNonPositive(v)
    let reference = VectorMath.exp(v)
    for lane in 0..<16 where fast[lane].bitPattern != reference[lane].bitPattern {
      if fast[lane].isNaN && reference[lane].isNaN { continue }
      Issue.record("exp(\(v[lane])): \(fast[lane]) vs \(reference[lane])")
    }
  }
}
