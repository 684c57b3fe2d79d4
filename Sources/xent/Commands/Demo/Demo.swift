import ArgumentParser

/// `xent demo`: the demos; without a subcommand, the digits classifier.
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train models with the library's losses: digits (the default) or a language model.",
    subcommands: [DigitsDemoCommand.self, LanguageModelDemoCommand.self],
    defaultSubcommand: DigitsDemoCommand.self)
}
