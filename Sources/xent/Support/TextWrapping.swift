/// Splits `text` at spaces into lines of at most `width` characters, each starting with
/// `indent` spaces; a word longer than a line gets a line of its own.
func wrappedLines(_ text: String, width: Int, indent: Int = 0) -> [String] {
  let margin = String(repeating: " ", count: indent)
  var lines: [String] = []
  var current = ""
  for word in text.split(separator: " ") {
    if !current.isEmpty, indent + current.count + 1 + word.count > width {
      lines.append(margin + current)
      current = ""
    }
    current += (current.isEmpty ? "" : " ") + word
  }
  if !current.isEmpty { lines.append(margin + current) }
  return lines
}
