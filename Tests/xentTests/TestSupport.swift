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

/// Runs one `xent evaluate` fixture case written by a script in Scripts/ (`args.txt`, the input
/// files, and PyTorch's `expected-loss.npy` and `expected-grad.npy`), and expects the loss and
/// gradient files to match PyTorch's in dtype, shape and value (relative tolerance 4e-3 for
/// float16, 2e-5 for float32, 1e-10 otherwise; NaN matches NaN).
///
/// - Returns: What `xent evaluate` printed, and the loss file it wrote.
@discardableResult
func expectEvaluateMatchesFixture(
  _ folder: URL, name: String
) throws -> (printed: String, loss: NumPyArray) {
  let output = try makeTemporaryFolder()
  let text = try String(contentsOf: folder.appendingPathComponent("args.txt"), encoding: .utf8)
  var arguments = text.split(separator: "\n").map { argument in
    argument.hasSuffix(".npy")
      ? folder.appendingPathComponent(String(argument)).path : String(argument)
  }
  let lossPath = output.appendingPathComponent("loss.npy").path
  let gradientPath = output.appendingPathComponent("grad.npy").path
  arguments += ["--output", lossPath, "--gradient", gradientPath]
  var compared = [(lossPath, "expected-loss.npy"), (gradientPath, "expected-grad.npy")]
  // linear-cross-entropy: the classifier and bias gradients, where the case holds them.
  for (flag, expectedName) in [
    ("--classifier-gradient", "expected-classifier-grad.npy"),
    ("--bias-gradient", "expected-bias-grad.npy"),
  ]
  where FileManager.default.fileExists(
    atPath: folder.appendingPathComponent(expectedName).path)
  {
    let path = output.appendingPathComponent(expectedName).path
    arguments += [flag, path]
    compared.append((path, expectedName))
  }
  let printed = try evaluate(arguments).get()
  for (actualPath, expectedName) in compared {
    let expected = try NumPyArray(contentsOf: folder.appendingPathComponent(expectedName).path)
    let actual = try NumPyArray(contentsOf: actualPath)
    #expect(actual.dtype == expected.dtype, "\(name) \(expectedName) dtype")
    #expect(actual.shape == expected.shape, "\(name) \(expectedName) shape")
    let tolerance: Double =
      switch actual.dtype {
      case .float16: 4e-3
      case .float32: 2e-5
      default: 1e-10
      }
    expectClose(
      actual.doubles(), expected.doubles(), tolerance: tolerance, what: "\(name) \(expectedName)")
  }
  return (printed, try NumPyArray(contentsOf: lossPath))
}

/// Expects each value within `tolerance` relative (absolute below 1) of PyTorch's; NaN matches
/// NaN and equal infinities match.
func expectClose(_ actual: [Double], _ expected: [Double], tolerance: Double, what: String) {
  #expect(actual.count == expected.count, "\(what): count")
  for (index, (a, e)) in zip(actual, expected).enumerated() {
    let close = (a.isNaN && e.isNaN) || a == e || abs(a - e) <= tolerance * max(1, abs(e))
    #expect(close, "\(what)[\(index)]: \(a) vs PyTorch \(e)")
  }
}

/// How `xent evaluate` counts per-element losses: `1 loss`, `2 losses`.
func lossCount(_ count: Int) -> String {
  count == 1 ? "1 loss" : "\(count) losses"
}
