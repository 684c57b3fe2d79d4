import Foundation

/// A short decimal for a tick label: no trailing zeros.
package func formatTick(_ value: Double) -> String {
  if value >= 1, value == value.rounded() { return String(Int(value)) }
  var text = String(format: "%.6g", value)
  if text.contains("e") { text = String(format: "%g", value) }
  return text
}

/// A 1-2-5 step that cuts `span` into at most `maximumTicks` intervals.
package func niceStep(for span: Double, maximumTicks: Int) -> Double {
  let raw = max(span / Double(maximumTicks), 1e-9)
  let magnitude = pow(10, floor(log10(raw)))
  for multiple in [1.0, 2.0, 5.0, 10.0] where multiple * magnitude >= raw {
    return multiple * magnitude
  }
  return 10 * magnitude
}
