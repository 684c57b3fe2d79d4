import ArgumentParser

/// The `xent` command: cross-entropy losses from the command line.
@main
struct Xent: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "xent",
    abstract: "Cross-entropy losses and their gradients, with PyTorch's semantics.",
    discussion: """
      Start here:
        xent demo             train a digit classifier with the library's losses
        xent evaluate --help  compute a loss and its gradient from NumPy .npy files
        xent bench --help     time the library's kernels on this machine

      Errors print one line on standard error and exit with a non-zero status.
      """,
    version: "0.1.0",
    subcommands: [Evaluate.self, Bench.self, Demo.self, DeprecatedBenchCTC.self]
  )
}
