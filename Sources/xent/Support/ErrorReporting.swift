import ArgumentParser
import Foundation

extension Xent {
  /// The entry point: parses the arguments and runs the command, and reports every error as
  /// ONE line on standard error (no usage block, no stack trace) with a non-zero exit status.
  /// `--help` and `--version` print as ArgumentParser formats them.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let error as CLIError {
      reportAndExit(error.message, code: ExitCode.failure)
    } catch let error as ExitCode {
      terminate(error.rawValue)
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      reportAndExit(oneLineMessage(for: error), code: code)
    }
  }

  /// The first non-empty line of ArgumentParser's message for `error`.
  static func oneLineMessage(for error: any Error) -> String {
    let full = message(for: error)
    let line = full.split(separator: "\n").first.map(String.init) ?? ""
    return line.isEmpty ? String(describing: error) : line
  }

  private static func reportAndExit(_ message: String, code: ExitCode) -> Never {
    let line = "xent: error: " + message.split(separator: "\n").joined(separator: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
    terminate(code.rawValue == 0 ? 1 : code.rawValue)
  }
}

/// Ends the process with `status`.
private func terminate(_ status: Int32) -> Never {
  exit(status)
}
