import ArgumentParser

/// `xent demo`: trains a classifier with the library. (Owned by the demo work.)
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a small classifier on handwritten digits with the library's losses.")

  func run() throws {
    throw ValidationError("xent demo is not implemented yet")
  }
}
