import ArgumentParser

/// `xent evaluate`: a loss and its gradient from NumPy `.npy` files. (Owned by the CLI work.)
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compute a loss, and optionally its gradient, from NumPy .npy files.")

  func run() throws {
    throw ValidationError("xent evaluate is not implemented yet")
  }
}
