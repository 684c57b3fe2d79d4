import Foundation

/// Builds an SVG document element by element, escaping text.
package struct SVGWriter {
  let width: Double
  let height: Double
  private var elements: [String] = []

  package init(width: Double, height: Double) {
    self.width = width
    self.height = height
  }

  /// The finished document.
  package func document() -> String {
    let header = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(number(width))" height="\(number(height))" \
      viewBox="0 0 \(number(width)) \(number(height))" \
      font-family="Helvetica, Arial, sans-serif">
      <rect width="100%" height="100%" fill="white"/>

      """
    return header + elements.joined(separator: "\n") + "\n</svg>\n"
  }

  package mutating func text(
    _ content: String, x: Double, y: Double, size: Double, anchor: String = "start",
    weight: String = "normal", rotate: Double? = nil
  ) {
    let transform = rotate.map {
      " transform=\"rotate(\(number($0)) \(number(x)) \(number(y)))\""
    }
    elements.append(
      "<text x=\"\(number(x))\" y=\"\(number(y))\" font-size=\"\(number(size))\""
        + " text-anchor=\"\(anchor)\" font-weight=\"\(weight)\"\(transform ?? "")"
        + " fill=\"#222\">\(escape(content))</text>")
  }

  package mutating func line(
    x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, dashed: Bool = false
  ) {
    elements.append(
      "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\""
        + " stroke=\"\(stroke)\" stroke-width=\"1\"\(dashed ? " stroke-dasharray=\"5 4\"" : "")/>"
    )
  }

  package mutating func rectangle(_ frame: PlotFrame, stroke: String) {
    elements.append(
      "<rect x=\"\(number(frame.left))\" y=\"\(number(frame.top))\""
        + " width=\"\(number(frame.width))\" height=\"\(number(frame.height))\""
        + " fill=\"none\" stroke=\"\(stroke)\"/>")
  }

  package mutating func bar(
    x: Double, y: Double, width: Double, height: Double, fill: String, tooltip: String
  ) {
    elements.append(
      "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(width))\""
        + " height=\"\(number(height))\" fill=\"\(fill)\" fill-opacity=\"0.75\""
        + " stroke=\"white\" stroke-width=\"0.5\"><title>\(escape(tooltip))</title></rect>")
  }

  package mutating func polyline(_ points: [(Double, Double)], stroke: String, dashed: Bool) {
    let list = points.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
    elements.append(
      "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\""
        + "\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>")
  }

  /// A boxed legend in `columns` columns: a swatch (a filled square for the first `filled`
  /// entries, a line sample otherwise, dashed where asked) and a label per entry.
  package mutating func legend(
    _ entries: [(label: String, color: String, dashed: Bool)], x: Double, y: Double,
    width: Double, columns: Int = 1, filled: Int = 0
  ) {
    let rowHeight = 18.0
    let rows = (entries.count + columns - 1) / columns
    let columnWidth = width / Double(columns)
    elements.append(
      "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(width))\""
        + " height=\"\(number(Double(rows) * rowHeight + 8))\" fill=\"white\""
        + " stroke=\"#bbb\"/>")
    for (index, entry) in entries.enumerated() {
      let left = x + Double(index % columns) * columnWidth
      let middle = y + 4 + rowHeight * (Double(index / columns) + 0.5)
      if index < filled {
        elements.append(
          "<rect x=\"\(number(left + 8))\" y=\"\(number(middle - 6))\" width=\"22\""
            + " height=\"12\" fill=\"\(entry.color)\" fill-opacity=\"0.75\"/>")
      } else {
        elements.append(
          "<line x1=\"\(number(left + 8))\" y1=\"\(number(middle))\" x2=\"\(number(left + 30))\""
            + " y2=\"\(number(middle))\" stroke=\"\(entry.color)\" stroke-width=\"2\""
            + "\(entry.dashed ? " stroke-dasharray=\"6 4\"" : "")/>")
      }
      text(entry.label, x: left + 38, y: middle + 4, size: 11)
    }
  }

  private func number(_ value: Double) -> String {
    String(format: "%.2f", value)
  }

  private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}

/// The plotting area of a panel, in SVG user units (y grows downwards).
package struct PlotFrame {
  package var left: Double
  package var top: Double
  package var width: Double
  package var height: Double
  package var right: Double { left + width }
  package var bottom: Double { top + height }

  /// Creates a frame from its top-left corner and size.
  package init(left: Double, top: Double, width: Double, height: Double) {
    self.left = left
    self.top = top
    self.width = width
    self.height = height
  }
}
