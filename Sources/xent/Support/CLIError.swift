import CrossEntropy
import NumPyIO

/// An error the `xent` command reports as one line on standard error before exiting non-zero.
struct CLIError: Error, CustomStringConvertible, Equatable {
  /// The one-line message, naming the file or value and what was expected.
  let message: String

  init(_ message: String) {
    self.message = message
  }

  var description: String { message }
}

extension CLIError {
  /// A `.npy` reading or type error, which already names the file.
  init(_ error: NumPyError) {
    self.init(error.message)
  }
}
