import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Standard output for the demo: lines, and on a terminal a progress bar redrawn in place.
///
/// Every write goes straight to the file descriptor, so lines and the bar never reorder; the bar
/// is redrawn only when what it shows changes.
final class ConsoleOutput {
  /// Whether standard output is a terminal (then the progress bar is drawn).
  let isTerminal = isatty(STDOUT_FILENO) == 1
  private let barWidth = 30
  private var drawn = ""

  /// Writes a line; on a terminal, it first clears the progress bar.
  func line(_ text: String) {
    drawn = ""
    write((isTerminal ? "\r\u{1B}[2K" : "") + text + "\n")
  }

  /// Draws the progress bar (on a terminal only).
  func progress(fraction: Double, label: String) {
    guard isTerminal else { return }
    let filled = Int((min(max(fraction, 0), 1) * Double(barWidth)).rounded(.down))
    let bar =
      String(repeating: "█", count: filled)
      + String(repeating: "░", count: barWidth - filled)
    let text = "  [\(bar)] \(Int((fraction * 100).rounded()))%  \(label)"
    guard text != drawn else { return }
    drawn = text
    write("\r\u{1B}[2K" + text)
  }

  /// Removes the progress bar (on a terminal only).
  func clearProgress() {
    if isTerminal { write("\r\u{1B}[2K") }
    drawn = ""
  }

  private func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
  }
}
