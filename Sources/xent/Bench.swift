import ArgumentParser

/// `xent bench`: times the library's kernels on synthetic data. (Owned by the speed work.)
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time the library's kernels on synthetic data.")

  func run() throws {
    throw ValidationError("xent bench is not implemented yet")
  }
}
