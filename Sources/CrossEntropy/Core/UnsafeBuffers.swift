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

/// The start of a caller's buffer. An empty buffer may have no base address; it then gets an
/// aligned placeholder that is never dereferenced (an empty input has no element to read), so
/// that empty input never traps.
func startAddress<Element>(_ pointer: UnsafePointer<Element>?) -> UnsafePointer<Element> {
  pointer ?? UnsafePointer(bitPattern: MemoryLayout<Element>.alignment)!
}

/// The start of a caller's mutable buffer, with the placeholder of ``startAddress(_:)`` for an
/// empty one (never written: an empty output receives nothing).
func mutableStartAddress<Element>(
  _ pointer: UnsafeMutablePointer<Element>?
) -> UnsafeMutablePointer<Element> {
  pointer ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
}
