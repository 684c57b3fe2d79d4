import ArgumentParser
import Foundation

/// `xent bench-ctc`: the former spelling of `xent bench --loss ctc`, hidden from the help and
/// kept so that existing scripts keep working. It prints a deprecation warning on standard
/// error and runs `xent bench --loss ctc` with the same arguments.
struct DeprecatedBenchCTC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-ctc",
    abstract: "Deprecated: use `xent bench --loss ctc`.",
    shouldDisplay: false)

  /// The warning printed on standard error.
  static let warning =
    "xent: warning: bench-ctc is deprecated; use xent bench --loss ctc with the same options"

  @Argument(parsing: .allUnrecognized)
  var arguments: [String] = []

  func run() throws {
    FileHandle.standardError.write(Data((Self.warning + "\n").utf8))
    let bench = try Bench.parse(["--loss", "ctc"] + arguments)
    try bench.run()
  }
}
