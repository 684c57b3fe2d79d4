import Foundation

func fixed(_ value: Double, _ digits: Int) -> String {
  String(format: "%.\(digits)f", value)
}

func percent(_ value: Double) -> String {
  String(format: "%.2f%%", value * 100)
}

func signedPoints(_ value: Double) -> String {
  String(format: "%+.2f pts", value * 100)
}

func formatted(_ value: Double) -> String {
  value == value.rounded() ? String(Int(value)) : String(value)
}

/// `n` with a comma between groups of three digits, whatever the locale.
func grouped(_ n: Int) -> String {
  let digits = String(n)
  var result = ""
  for (index, digit) in digits.enumerated() {
    if index > 0, (digits.count - index) % 3 == 0 { result += "," }
    result.append(digit)
  }
  return result
}

/// Right-aligns `text` in `width` columns.
func pad(_ text: String, _ width: Int) -> String {
  text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}

/// Throws unless the folder that would hold the figure at `path` exists, so that a demo fails
/// before it trains rather than after.
func checkFigureFolder(_ path: String) throws(CLIError) {
  let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
  var isFolder: ObjCBool = false
  guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue
  else {
    throw CLIError("cannot write the figure to \(path): the folder \(folder) does not exist")
  }
}
