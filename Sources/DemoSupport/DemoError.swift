/// A failure of the demo: its data could not be read, or an option is out of range.
///
/// The message is one line naming the value and what was expected; the CLI prints it as is.
package struct DemoError: Error, CustomStringConvertible, Equatable {
  /// The one-line explanation.
  package var message: String

  /// Creates an error with a one-line message.
  package init(_ message: String) {
    self.message = message
  }

  /// The message.
  package var description: String { message }
}
