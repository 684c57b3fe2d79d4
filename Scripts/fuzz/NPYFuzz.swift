// libFuzzer target for the .npy reader (Sources/NumPyIO). Built by Scripts/fuzz_npy.sh, which
// compiles this file together with the NumPyIO sources into one module:
//
//   swiftc -sanitize=fuzzer,address -parse-as-library NPYFuzz.swift Sources/NumPyIO/...
//
// Every input must either decode or throw NumPyError; a trap, an out-of-bounds access or a huge
// allocation is a bug. Whatever decodes must survive typed access and a write/read round trip.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let array = try? NumPyArray(npyBytes: bytes) else { return 0 }
  precondition(array.count * array.dtype.itemSize == array.data.count)
  _ = array.doubles()
  _ = try? array.integers()
  let encoded = array.npyBytes
  guard let decoded = try? NumPyArray(npyBytes: encoded), decoded == array else {
    fatalError("round trip failed for shape \(array.shape) of \(array.dtype)")
  }
  return 0
}
