import Testing

/// The thread counts every fused-kernel case runs with: one, two, an odd count, and more
/// threads than some cases have rows.
package let kernelThreadCounts = [1, 2, 3, 7]

/// Runs a fused fp32 kernel with each of `threadCounts` threads, forward only and with the
/// gradient; expects every run to match `reference` (see
/// ``expectClose(loss:gradient:reference:lossTolerance:gradientTolerance:_:sourceLocation:)``)
/// and the runs with the gradient to agree bit for bit.
///
/// - Parameters:
///   - what: The case, named in each issue, for a thread count.
///   - run: The kernel with a thread count, with (true) or without (false) the gradient.
/// - Returns: The first run with the gradient.
@discardableResult
package func expectKernelMatchesReference(
  _ reference: (loss: [Double], gradient: [Double]?), lossTolerance: Tolerance,
  gradientTolerance: Tolerance, threadCounts: [Int] = kernelThreadCounts,
  _ what: (_ threads: Int) -> String, sourceLocation: SourceLocation = #_sourceLocation,
  run: (_ threads: Int, _ wantsGradient: Bool) -> (loss: [Float], gradient: [Float]?)
) -> (loss: [Float], gradient: [Float])? {
  var first: (loss: [Float], gradient: [Float])? = nil
  for threads in threadCounts {
    for wantsGradient in [false, true] {
      let result = run(threads, wantsGradient)
      expectClose(
        loss: result.loss, gradient: result.gradient, reference: reference,
        lossTolerance: lossTolerance, gradientTolerance: gradientTolerance, what(threads),
        sourceLocation: sourceLocation)
      guard wantsGradient, let gradient = result.gradient else { continue }
      if let first {
        #expect(bitPatterns(result.loss) == bitPatterns(first.loss), sourceLocation: sourceLocation)
        #expect(
          bitPatterns(gradient) == bitPatterns(first.gradient), sourceLocation: sourceLocation)
      } else {
        first = (result.loss, gradient)
      }
    }
  }
  return first
}

/// The bit patterns of `values`, for comparisons that must be exact (NaN payloads included).
package func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
