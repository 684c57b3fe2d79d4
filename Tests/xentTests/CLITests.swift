import ArgumentParser
import Foundation
import Testing

@testable import xent

/// Help, version and the one-line error contract of the `xent` executable.
@Suite(.serialized) struct CLITests {
  @Test func rootHelpListsTheSubcommands() {
    let help = Xent.helpMessage()
    for name in ["evaluate", "bench", "demo", "--version", "xent demo", "xent evaluate --help"] {
      #expect(help.contains(name), "\(name) missing from xent --help")
    }
    for line in help.split(separator: "\n") {
      #expect(line.count <= 80, "help line too long: \(line)")
    }
  }

  @Test func evaluateHelpListsLossesAndFlags() {
    let help = Xent.helpMessage(for: Evaluate.self)
    let words = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    for loss in LossRegistry.all {
      #expect(help.contains("\n  \(loss.name)\n"), "\(loss.name) missing from the help")
      #expect(words.contains(loss.summary), "\(loss.name)'s summary missing from the help")
    }
    for line in help.split(separator: "\n") {
      #expect(line.count <= 80, "help line too long: \(line)")
    }
    for option in EvaluateOption.allCases {
      #expect(help.contains(option.rawValue), "\(option.rawValue) missing from the help")
    }
    #expect(words.contains("--class-axis 1"))
  }

  @Test func everyLossNameIsUniqueAndKebabCase() {
    let names = LossRegistry.all.map { $0.name }
    #expect(Set(names).count == names.count)
    for name in names {
      #expect(name.allSatisfy { $0.isLowercase || $0 == "-" || $0.isNumber }, "\(name)")
    }
  }

  /// Docs/CLI.md's `xent evaluate` section names every loss and every option.
  @Test func theContractDocumentNamesEveryLossAndOption() throws {
    let document = try String(
      contentsOf: fixtures.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Docs/CLI.md"),
      encoding: .utf8)
    let section = try #require(
      document.components(separatedBy: "## xent evaluate").dropFirst().first?
        .components(separatedBy: "## xent bench").first)
    for loss in LossRegistry.all {
      #expect(section.contains("`\(loss.name)`"), "\(loss.name) missing from Docs/CLI.md")
    }
    for option in EvaluateOption.allCases {
      #expect(
        section.contains("`\(option.rawValue)"), "\(option.rawValue) missing from Docs/CLI.md")
    }
  }

  @Test func versionPrints() throws {
    let result = try runXent(["--version"])
    #expect(result.status == 0)
    #expect(
      result.output.trimmingCharacters(in: .whitespacesAndNewlines) == Xent.configuration.version)
  }

  @Test func errorsAreOneLineWithNonZeroStatus() throws {
    let cases: [[String]] = [
      ["evaluate"],
      ["evaluate", "--loss", "nope", "--input", "a.npy", "--target", "b.npy"],
      ["evaluate", "--loss", "cross-entropy", "--input", "/nonexistent.npy", "--target", "b.npy"],
      ["evaluate", "--bogus"],
      ["no-such-command"],
    ]
    for arguments in cases {
      let result = try runXent(arguments)
      #expect(result.status != 0, "\(arguments)")
      #expect(result.output.isEmpty, "\(arguments)")
      #expect(result.error.hasPrefix("xent: error: "), "\(arguments): \(result.error)")
      #expect(result.error.filter { $0 == "\n" }.count == 1, "\(arguments): \(result.error)")
    }
  }

  @Test func missingFileMessage() throws {
    let result = try runXent([
      "evaluate", "--loss", "cross-entropy", "--input", "/nonexistent.npy", "--target", "b.npy",
    ])
    #expect(result.status == 1)
    #expect(result.error == "xent: error: --input /nonexistent.npy: no such file\n")
  }

  @Test func helpExitsZero() throws {
    let result = try runXent(["evaluate", "--help"])
    #expect(result.status == 0)
    #expect(result.output.contains("USAGE: xent evaluate"))
  }
}
