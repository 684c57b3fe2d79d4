import Testing
import _CrossEntropyTestSupport

@testable import CrossEntropy

/// The caller-buffer forms of ``SigmoidFocalLoss``: the array API's bits, and their errors.
@Suite struct SigmoidFocalLossBufferFormTests {
  @Test(arguments: [1.5, 2.0])
  func bufferFormsMatchTheArrayAPI(gamma: Double) throws {
    var generator = SeededGenerator(seed: 77)
    let x = (0..<301).map { _ in Float.random(in: -9...9, using: &generator) }
    let y = (0..<301).map { _ in Float(Bool.random(using: &generator) ? 1 : 0) }
    for reduction in [Reduction.none, .mean, .sum] {
      let criterion = SigmoidFocalLoss(reduction: reduction, gamma: gamma)
      let expected = try criterion.lossAndGradient(
        logits: ShapedArray(shape: [7, 43], scalars: x),
        targets: ShapedArray(shape: [7, 43], scalars: y))
      var loss = [Float](repeating: 0, count: expected.loss.scalars.count)
      var gradient = [Float](repeating: 0, count: 301)
      var inPlace = x
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          try loss.withUnsafeMutableBufferPointer { l in
            try criterion.loss(logits: xb, shape: [7, 43], targets: yb, into: l)
            #expect(Array(l) == expected.loss.scalars)
            try gradient.withUnsafeMutableBufferPointer { g in
              try criterion.lossAndGradient(
                logits: xb, shape: [7, 43], targets: yb, loss: l, gradient: g)
            }
            #expect(Array(l) == expected.loss.scalars)
            try inPlace.withUnsafeMutableBufferPointer { z in
              try criterion.lossAndGradient(overwriting: z, shape: [7, 43], targets: yb, loss: l)
            }
            #expect(Array(l) == expected.loss.scalars)
          }
        }
      }
      #expect(gradient == expected.gradient.scalars)
      #expect(inPlace == expected.gradient.scalars)
    }
  }

  @Test func bufferErrorsNameTheCounts() {
    let x: [Float] = [0, 1, 2, 3, 4, 5]
    var l: [Float] = [0]
    var g = [Float](repeating: 0, count: 5)
    x.withUnsafeBufferPointer { xb in
      l.withUnsafeMutableBufferPointer { lb in
        let criterion = SigmoidFocalLoss()
        expectLossError(.shapeMismatch, "logits holds 6 elements but its shape [4] needs 4") {
          try criterion.loss(logits: xb, shape: [4], targets: xb, into: lb)
        }
        expectLossError(
          .shapeMismatch,
          "targets hold 5 elements but logits shape [6] holds 6; expected the same shape"
        ) {
          try criterion.loss(
            logits: xb, shape: [6], targets: UnsafeBufferPointer(rebasing: xb[1...]), into: lb)
        }
        g.withUnsafeMutableBufferPointer { gb in
          expectLossError(.shapeMismatch, "gradient holds 5 elements but logits shape [6] holds 6")
          {
            try criterion.lossAndGradient(
              logits: xb, shape: [6], targets: xb, loss: lb, gradient: gb)
          }
        }
        expectLossError(.shapeMismatch, "loss buffer holds 1 element but reduction none writes 6") {
          try SigmoidFocalLoss(reduction: .none).loss(logits: xb, shape: [6], targets: xb, into: lb)
        }
        expectLossError(.invalidOption, "focal gamma -1.0 is invalid; expected a finite value >= 0")
        {
          try SigmoidFocalLoss(gamma: -1).loss(logits: xb, shape: [6], targets: xb, into: lb)
        }
        expectLossError(
          .invalidOption,
          "focal alpha nan is invalid; expected a weight in [0, 1], or a negative value to disable"
            + " the weighting"
        ) {
          try SigmoidFocalLoss(alpha: .nan).loss(logits: xb, shape: [6], targets: xb, into: lb)
        }
      }
    }
  }
}
