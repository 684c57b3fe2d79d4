import ArgumentParser

/// The `xent` command: cross-entropy losses from the command line.
@main
struct Xent: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "xent",
    abstract: "Cross-entropy losses and their gradients, with PyTorch's semantics.",
    version: "0.1.0",
    subcommands: [Evaluate.self, Bench.self, Demo.self]
  )
}
