import Foundation
import Testing

@testable import CrossEntropy

/// Deterministic test values in about [-scale, scale]: `scale * sin(1.7 i + seed)`.
func spreadValues(_ count: Int, seed: Int, scale: Double = 3) -> [Double] {
  (0..<count).map { scale * sin(1.7 * Double($0) + Double(seed)) }
}

/// Calls `body` with mutable buffers of the given counts, each filled with `sentinel`, expects
/// it to throw a ``LossError`` of `kind` with exactly `message`, and then expects every buffer
/// to still hold only the sentinel: a form that throws writes nothing.
func expectLossErrorWritingNothing<Scalar: BinaryFloatingPoint>(
  _ kind: LossError.Kind, _ message: String, counts: [Int], sentinel: Scalar = 7,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: ([UnsafeMutableBufferPointer<Scalar>]) throws -> Void
) {
  let buffers = counts.map { count in
    let buffer = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: count)
    buffer.initialize(repeating: sentinel)
    return buffer
  }
  defer { for buffer in buffers { buffer.deallocate() } }
  expectLossError(kind, message, sourceLocation: sourceLocation) { try body(buffers) }
  for (index, buffer) in buffers.enumerated() {
    #expect(
      buffer.allSatisfy { $0 == sentinel }, "buffer \(index) was written",
      sourceLocation: sourceLocation)
  }
}

/// Whether two arrays hold the same values bit for bit (NaN matching NaN of the same bits).
func identical<Scalar: BinaryFloatingPoint>(_ a: [Scalar], _ b: [Scalar]) -> Bool {
  a.count == b.count
    && zip(a, b).allSatisfy { x, y in
      x.sign == y.sign && x.exponentBitPattern == y.exponentBitPattern
        && x.significandBitPattern == y.significandBitPattern
    }
}
