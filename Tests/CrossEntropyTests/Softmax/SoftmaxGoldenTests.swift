import Testing

@testable import CrossEntropy

/// `logSumExp`, `logSoftmax` and `softmax` against `torch.logsumexp`, `torch.log_softmax` and
/// `torch.softmax` (fixtures from `Scripts/make_golden_fixtures.py`), non-finite rows included.
@Suite struct SoftmaxGoldenTests {
  @Test func float() throws { try check(Float.self) }
  @Test func double() throws { try check(Double.self) }

  func check<Scalar: GoldenScalar>(_: Scalar.Type) throws {
    let cases = try fixtureCases("softmax", as: Scalar.self)
    #expect(cases.count > 5)
    for fixture in cases {
      let name = fixture.name
      let x = fixture.inputs["input"]!.parsed(as: Scalar.self)
      let axis = fixture.options["axis"]!.int!
      let expected = fixture.expected(Scalar.self)
      let lse = try logSumExp(x, alongAxis: axis)
      #expect(lse.shape == expected["logSumExp"]!.shape, "\(name)")
      expectClose(lse.scalars, expected["logSumExp"]!.values(), "logSumExp", in: name)
      let logProbabilities = try logSoftmax(x, alongAxis: axis)
      #expect(logProbabilities.shape == x.shape, "\(name)")
      expectClose(
        logProbabilities.scalars, expected["logSoftmax"]!.values(), "logSoftmax", in: name)
      let probabilities = try softmax(x, alongAxis: axis)
      #expect(probabilities.shape == x.shape, "\(name)")
      expectClose(probabilities.scalars, expected["softmax"]!.values(), "softmax", in: name)
    }
  }
}
