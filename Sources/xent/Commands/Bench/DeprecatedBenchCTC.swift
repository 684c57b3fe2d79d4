import ArgumentParser
import Foundation

/// `xent bench-ctc`: the former spelling of `xent bench --loss ctc`, hidden from the help and
/// kept so that existing scripts keep working. It parses its arguments as `xent bench --loss
/// ctc` does, prints a deprecation warning on standard error, and runs that command.
struct DeprecatedBenchCTC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-ctc",
    abstract: "Deprecated: use `xent bench --loss ctc`.",
    shouldDisplay: false)

  /// The warning printed on standard error.
  static let warning =
    "xent: warning: bench-ctc is deprecated; use xent bench --loss ctc with the same options"

  @Argument(
    parsing: .allUnrecognized,
    help: ArgumentHelp("The options of `xent bench --loss ctc`.", valueName: "options"))
  var arguments: [String] = []

  func run() throws {
    let bench = try Bench.parse(["--loss", "ctc"] + arguments)
    FileHandle.standardError.write(Data((Self.warning + "\n").utf8))
    try bench.run()
  }
}
