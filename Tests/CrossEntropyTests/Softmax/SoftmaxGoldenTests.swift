import Testing

@testable import CrossEntropy

/// `logSumExp`, `logSoftmax` and `softmax` against `torch.logsumexp`, `torch.log_softmax` and
/// `torch.softmax` (fixtures from `Scripts/make_golden_fixtures.py`), non-finite rows included.
@Suite struct SoftmaxGoldenTests {
  @Test func float() throws { try check(Float.self) }
  @Test func double() throws { try check(Double.self) }

  func check<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try goldenCases("softmax.json", as: Scalar.self)
    #expect(cases.count > 5)
    for fixture in cases {
      let name = fixture.name
      let x = try parse(fixture.input, shape: fixture.inputShape, as: Scalar.self)!
      let axis = fixture.axis!
      let lse = try logSumExp(x, alongAxis: axis)
      #expect(lse.shape == fixture.logSumExpShape!, "\(name)")
      expectClose(lse.scalars, parse(fixture.logSumExp!), "logSumExp", in: name)
      let logProbabilities = try logSoftmax(x, alongAxis: axis)
      #expect(logProbabilities.shape == x.shape, "\(name)")
      expectClose(logProbabilities.scalars, parse(fixture.logSoftmax!), "logSoftmax", in: name)
      let probabilities = try softmax(x, alongAxis: axis)
      #expect(probabilities.shape == x.shape, "\(name)")
      expectClose(probabilities.scalars, parse(fixture.softmax!), "softmax", in: name)
    }
  }
}
