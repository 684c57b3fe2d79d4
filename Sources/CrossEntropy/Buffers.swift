/// Calls `body` with a buffer over `array`, or with `nil` when there is no array.
func withOptionalBuffer<Element, R, E>(
  _ array: [Element]?, _ body: (UnsafeBufferPointer<Element>?) throws(E) -> R
) throws(E) -> R {
  guard let array else { return try body(nil) }
  let result: Result<R, E> = array.withUnsafeBufferPointer { buffer in
    do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
  }
  return try result.get()
}

/// Calls `body` with a mutable buffer over `array`, or with `nil` when there is no array.
func withOptionalMutableBuffer<Element, R, E>(
  _ array: inout [Element]?, _ body: (UnsafeMutableBufferPointer<Element>?) throws(E) -> R
) throws(E) -> R {
  guard array != nil else { return try body(nil) }
  let result: Result<R, E> = array!.withUnsafeMutableBufferPointer { buffer in
    do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
  }
  return try result.get()
}
