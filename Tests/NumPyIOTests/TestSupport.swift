import Foundation
import NumPyIO

/// The folder of this test target's fixtures.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

/// A fresh, empty temporary folder.
func makeTemporaryFolder() throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("numpyio-tests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// The files in `folder`, sorted.
func files(in folder: URL) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}

/// Writes `array` as `name` in `folder` and returns its path.
@discardableResult
func save(_ array: NumPyArray, _ name: String, in folder: URL) throws -> String {
  let path = folder.appendingPathComponent(name).path
  try array.write(to: path)
  return path
}
