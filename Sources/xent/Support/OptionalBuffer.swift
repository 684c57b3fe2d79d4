/// Calls `body` with a buffer over `array`, or with `nil`.
func withOptionalBuffer<T, R, E: Error>(
  _ array: [T]?, _ body: (UnsafeBufferPointer<T>?) throws(E) -> R
) throws(E) -> R {
  guard let array else { return try body(nil) }
  return try array.withUnsafeBufferPointer { buffer throws(E) in try body(buffer) }
}
