import CrossEntropy
import Testing

/// Logits near the top of the fp32 range at low temperatures: every intermediate stays finite,
/// so the loss and gradient are those of float64 even in fp32.
///
/// With `s` and `t` below, each row's softened distributions are one-hot at their maxima for
/// any `T <= 0.5` (the next logit is at least 7e37 / T lower), so, with `p` the teacher's and
/// `q` the student's:
///
/// - row 0: `p = e1`, `q = e0`, `KL(p || q) = -log q_1 = (s_0 - s_1) / T = 2e38 / T`;
/// - row 1: `p = e0`, `q = e1`, `KL = (s_1 - s_0) / T = 8e37 / T`;
/// - batchmean times `T²`: `(2e38 + 8e37) T / 2 = 1.4e38 T`;
/// - gradient `T (q - p) / 2`: `(T/2, -T/2, 0, 0)` in row 0 and `(-T/2, T/2, 0, 0)` in row 1.
///
/// PyTorch 2.15's `F.kl_div(F.log_softmax(s / T), F.softmax(t / T), reduction="batchmean") * T²`
/// gives these values in float64, but in float32 `inf` at `T = 0.5` (the difference of two
/// scaled logits overflows) and NaN with NaN gradients at `T = 0.1` and `0.01` (`s / T`
/// overflows).
@Suite struct DistillationLossHugeLogitsTests {
  private let student: [Double] = [1e38, -1e38, 0, 3e37, 2e37, 1e38, -5e37, 1]
  private let teacher: [Double] = [3e37, 1e38, -1e38, 0, 1e38, 2e37, 0, -3e37]

  private func check(loss: Double, gradient: [Double], temperature: Double) {
    let expected = 1.4e38 * temperature
    let half = temperature / 2
    let expectedGradient = [half, -half, 0, 0, -half, half, 0, 0]
    #expect(loss.isFinite)
    #expect(abs(loss - expected) <= 1e-6 * expected, "T = \(temperature): loss \(loss)")
    for (got, want) in zip(gradient, expectedGradient) {
      #expect(abs(got - want) <= 1e-6 * temperature, "T = \(temperature): gradient \(got)")
    }
  }

  @Test(arguments: [0.5, 0.1, 0.01])
  func fp32StaysFiniteAndMatchesTheExactValue(temperature: Double) throws {
    let (loss, gradient) = try DistillationLoss(temperature: temperature).lossAndGradient(
      studentLogits: ShapedArray(shape: [2, 4], scalars: student.map { Float($0) }),
      teacherLogits: ShapedArray(shape: [2, 4], scalars: teacher.map { Float($0) }))
    check(
      loss: Double(loss.scalars[0]), gradient: gradient.scalars.map(Double.init),
      temperature: temperature)
  }

  @Test(arguments: [0.5, 0.1, 0.01])
  func float64MatchesTheExactValue(temperature: Double) throws {
    let (loss, gradient) = try DistillationLoss(temperature: temperature).lossAndGradient(
      studentLogits: ShapedArray(shape: [2, 4], scalars: student),
      teacherLogits: ShapedArray(shape: [2, 4], scalars: teacher))
    check(loss: loss.scalars[0], gradient: gradient.scalars, temperature: temperature)
  }
}
