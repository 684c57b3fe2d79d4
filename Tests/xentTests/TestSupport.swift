import ArgumentParser
import Foundation
import NumPyIO
import Testing

@testable import xent

/// The folder of this test target's fixtures.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

/// A fresh, empty temporary folder.
func makeTemporaryFolder() throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("xent-tests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// The files in `folder`, sorted.
func files(in folder: URL) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}

/// Runs `xent evaluate ARGUMENTS` in process: its standard output, or its one-line error.
func evaluate(_ arguments: [String]) -> Result<String, CLIError> {
  do {
    let command = try Xent.parseAsRoot(["evaluate"] + arguments)
    guard let evaluate = command as? Evaluate else {
      return .failure(CLIError("not an evaluate command"))
    }
    return .success(try evaluate.execute())
  } catch let error as CLIError {
    return .failure(error)
  } catch {
    return .failure(CLIError(Xent.oneLineMessage(for: error)))
  }
}

/// The error message of a run expected to fail, or a recorded issue.
func errorMessage(
  _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation
) -> String {
  switch evaluate(arguments) {
  case .success(let output):
    Issue.record("expected an error, got output \(output)", sourceLocation: sourceLocation)
    return ""
  case .failure(let error): return error.message
  }
}

/// Writes `array` as `name` in `folder` and returns its path.
@discardableResult
func save(_ array: NumPyArray, _ name: String, in folder: URL) throws -> String {
  let path = folder.appendingPathComponent(name).path
  try array.write(to: path)
  return path
}

/// The built `xent` executable, beside the test bundle.
func xentExecutable() -> URL? {
  var candidates: [URL] = []
  if let argument = CommandLine.arguments.first {
    candidates.append(URL(fileURLWithPath: argument).deletingLastPathComponent())
  }
  candidates.append(Bundle.main.bundleURL)
  candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
  for folder in candidates {
    let url = folder.appendingPathComponent("xent")
    if FileManager.default.isExecutableFile(atPath: url.path) { return url }
  }
  return nil
}

/// Runs the built `xent` with `arguments`: exit status, standard output, standard error.
///
/// The streams go to files, not pipes: reading pipes while other tests run in parallel can be
/// interrupted by signals in Foundation on Linux.
func runXent(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
  let executable = try #require(xentExecutable(), "the xent executable was not found")
  let folder = try makeTemporaryFolder()
  let outputURL = folder.appendingPathComponent("stdout")
  let errorURL = folder.appendingPathComponent("stderr")
  _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
  _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
  let output = try FileHandle(forWritingTo: outputURL)
  let error = try FileHandle(forWritingTo: errorURL)
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  process.currentDirectoryURL = folder
  process.standardOutput = output
  process.standardError = error
  try process.run()
  process.waitUntilExit()
  try output.close()
  try error.close()
  return (
    process.terminationStatus, try String(contentsOf: outputURL, encoding: .utf8),
    try String(contentsOf: errorURL, encoding: .utf8)
  )
}
