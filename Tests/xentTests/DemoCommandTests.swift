import ArgumentParser
import Foundation
import Testing

@testable import xent

@Suite struct DemoCommandTests {
  @Test func helpNamesEveryFlag() {
    let help = DigitsDemoCommand.helpMessage()
    for flag in [
      "--epochs", "--hidden", "--learning-rate", "--batch-size", "--label-smoothing", "--seed",
      "--plot",
    ] {
      #expect(help.contains(flag), "help lacks \(flag)")
    }
    #expect(help.contains("CC BY 4.0"))
  }

  @Test(arguments: [
    (["--epochs", "0"], "--epochs 0 must be at least 1"),
    (["--hidden", "0"], "--hidden 0 must be at least 1"),
    (["--learning-rate", "0"], "--learning-rate 0.0 must be a positive number"),
    (["--batch-size", "0"], "--batch-size 0 must be at least 1"),
    (["--label-smoothing", "1.5"], "--label-smoothing 1.5 must be in [0, 1]"),
    (["--plot", ""], "--plot needs a file path"),
  ])
  func badOptionsGiveOneLine(arguments: [String], message: String) {
    do {
      _ = try DigitsDemoCommand.parse(arguments)
      Issue.record("\(arguments) parsed")
    } catch {
      let text = Xent.oneLineMessage(for: error)
      #expect(text == message)
      #expect(!text.contains("\n"))
    }
  }

  @Test func aShortRunWritesTheFigure() throws {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("xent-demo-test-\(UUID().uuidString).svg").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let demo = try DigitsDemoCommand.parse(["--epochs", "1", "--hidden", "8", "--plot", path])
    try demo.run()
    let svg = try String(contentsOfFile: path, encoding: .utf8)
    #expect(svg.hasPrefix("<?xml"))
    #expect(svg.contains("</svg>"))
  }

  @Test func anUnwritablePlotPathIsOneLine() throws {
    let demo = try DigitsDemoCommand.parse([
      "--epochs", "1", "--hidden", "4", "--plot", "/nonexistent-dir/figure.svg",
    ])
    do {
      try demo.run()
      Issue.record("wrote to a missing directory")
    } catch {
      let text = Xent.oneLineMessage(for: error)
      #expect(error is CLIError)
      #expect(
        text
          == "cannot write the figure to /nonexistent-dir/figure.svg: the folder /nonexistent-dir"
          + " does not exist")
      #expect(!text.contains("\n"))
    }
  }
}

@Suite struct LanguageModelDemoCommandTests {
  @Test func demoWithoutASubcommandRunsTheDigits() throws {
    let command = try Xent.parseAsRoot(["demo", "--epochs", "1"])
    #expect(command is DigitsDemoCommand)
    #expect(try Xent.parseAsRoot(["demo", "lm", "--epochs", "1"]) is LanguageModelDemoCommand)
  }

  @Test func helpNamesEveryFlagAndTheData() {
    let help = LanguageModelDemoCommand.helpMessage()
    for flag in [
      "--epochs", "--vocabulary", "--context", "--embedding", "--hidden", "--dropout",
      "--batch-size", "--learning-rate", "--threads", "--sample-tokens", "--temperature", "--seed",
      "--plot", "--json",
    ] {
      #expect(help.contains(flag), "help lacks \(flag)")
    }
    #expect(help.contains("CC BY 2.5"))
    #expect(help.contains("Kneser-Ney"))
  }

  @Test(arguments: [
    (["--epochs", "0"], "--epochs 0 must be at least 1"),
    (["--vocabulary", "256"], "--vocabulary 256 must be in 257...65536"),
    (["--dropout", "1"], "--dropout 1.0 must be in [0, 1)"),
    (["--temperature", "0"], "--temperature 0.0 must be a positive number"),
    (["--threads", "0"], "--threads 0 must be at least 1"),
    (["--sample-tokens=-1"], "--sample-tokens -1 must be at least 0"),
    (["--plot", ""], "--plot needs a file path"),
  ])
  func badOptionsGiveOneLine(arguments: [String], message: String) {
    do {
      _ = try LanguageModelDemoCommand.parse(arguments)
      Issue.record("\(arguments) parsed")
    } catch {
      let text = Xent.oneLineMessage(for: error)
      #expect(text == message)
    }
  }

  @Test func anUnwritablePlotPathFailsBeforeTraining() throws {
    let command = try LanguageModelDemoCommand.parse(["--plot", "/nonexistent-dir/lm.svg"])
    do {
      try command.run()
      Issue.record("ran with a missing plot folder")
    } catch {
      #expect(
        Xent.oneLineMessage(for: error)
          == "cannot write the figure to /nonexistent-dir/lm.svg: the folder /nonexistent-dir does"
          + " not exist")
    }
  }
}
