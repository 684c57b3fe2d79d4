import RealModule

extension Reference {
  /// Cross-entropy of each row (or, `transposed`, each column) of a `rows × columns` logit
  /// matrix against the target on the diagonal.
  ///
  /// - Returns: The per-row losses and, if wanted, `scale * (softmax - onehot)` laid out like
  ///   `logits` (for `transposed`, softmax over columns, still in `logits`' layout), each
  ///   line's times its element of `lineScales` when that is not nil.
  static func diagonalCrossEntropy(
    logits: [Double], rows: Int, columns: Int, transposed: Bool, scale: Double,
    lineScales: [Double]? = nil, wantsGradient: Bool
  ) -> (rowLosses: [Double], gradient: [Double]?) {
    // A "line" is a row of the logits, or a column when transposed.
    let (lines, length) = transposed ? (columns, rows) : (rows, columns)
    func index(_ line: Int, _ k: Int) -> Int {
      transposed ? k * columns + line : line * columns + k
    }
    var losses = [Double](repeating: 0, count: lines)
    var gradient = wantsGradient ? [Double](repeating: 0, count: logits.count) : nil
    var buffer = [Double](repeating: 0, count: length)
    for line in 0..<lines {
      for k in 0..<length { buffer[k] = logits[index(line, k)] }
      var lse = buffer.withUnsafeBufferPointer(logSumExp)
      if lse == .infinity { lse = .nan }
      losses[line] = lse - buffer[line]
      if wantsGradient {
        let scale = lineScales.map { scale * $0[line] } ?? scale
        for k in 0..<length {
          let p = Double.exp(buffer[k] - lse)
          gradient![index(line, k)] = scale * (p - (k == line ? 1 : 0))
        }
      }
    }
    return (losses, gradient)
  }

  /// CLIP's symmetric loss; see ``CLIPLoss``. The gradients are those of `upstream` times the
  /// loss. Each direction's mean divides by `normalizer` when it is not nil, else by `n`.
  static func clip(
    image: [Double], text: [Double], count n: Int, dimension d: Int, logitScale: Double,
    normalizes: Bool, normalizer: Double? = nil, upstream: Double = 1, wantsGradient: Bool
  ) -> (loss: Double, image: [Double]?, text: [Double]?, scale: Double) {
    let (a, aNorms) = normalizes ? normalizeRows(image, n, d) : (image, [])
    let (b, bNorms) = normalizes ? normalizeRows(text, n, d) : (text, [])
    let factor = Double.exp(logitScale)
    var logits = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        var dot = 0.0
        for k in 0..<d { dot += a[i * d + k] * b[j * d + k] }
        logits[i * n + j] = factor * dot
      }
    }
    let scale = 1 / (2 * (normalizer ?? Double(n)))
    let gradientScale = scale * upstream
    let byRow = diagonalCrossEntropy(
      logits: logits, rows: n, columns: n, transposed: false, scale: gradientScale,
      wantsGradient: wantsGradient)
    let byColumn = diagonalCrossEntropy(
      logits: logits, rows: n, columns: n, transposed: true, scale: gradientScale,
      wantsGradient: wantsGradient)
    let loss = (byRow.rowLosses.reduce(0, +) + byColumn.rowLosses.reduce(0, +)) * scale
    guard wantsGradient else { return (loss, nil, nil, 0) }
    let g = zip(byRow.gradient!, byColumn.gradient!).map { $0 + $1 }  // d loss / d logits
    var scaleGradient = 0.0
    for (gij, lij) in zip(g, logits) { scaleGradient += gij * lij }
    var dA = [Double](repeating: 0, count: n * d)
    var dB = [Double](repeating: 0, count: n * d)
    for i in 0..<n {
      for j in 0..<n {
        let w = factor * g[i * n + j]
        for k in 0..<d {
          dA[i * d + k] += w * b[j * d + k]
          dB[j * d + k] += w * a[i * d + k]
        }
      }
    }
    if normalizes {
      dA = normalizeRowsBackward(dA, normalized: a, norms: aNorms, n, d)
      dB = normalizeRowsBackward(dB, normalized: b, norms: bNorms, n, d)
    }
    return (loss, dA, dB, scaleGradient)
  }

  /// PyTorch's `F.normalize(x, dim=-1)`: each row divided by `max(‖row‖, 1e-12)`.
  static func normalizeRows(_ x: [Double], _ n: Int, _ d: Int) -> ([Double], [Double]) {
    var result = x
    var norms = [Double](repeating: 0, count: n)
    for i in 0..<n {
      var sum = 0.0
      for k in 0..<d { sum += x[i * d + k] * x[i * d + k] }
      norms[i] = sum.squareRoot()
      let denominator = Swift.max(norms[i], 1e-12)
      for k in 0..<d { result[i * d + k] = x[i * d + k] / denominator }
    }
    return (result, norms)
  }

  /// The gradient through ``normalizeRows(_:_:_:)``: `(g - y (y · g)) / ‖x‖`, or `g / 1e-12`
  /// where the norm was clamped (the clamp passes no gradient, as in PyTorch).
  static func normalizeRowsBackward(
    _ g: [Double], normalized y: [Double], norms: [Double], _ n: Int, _ d: Int
  ) -> [Double] {
    var result = g
    for i in 0..<n {
      if norms[i] < 1e-12 {
        for k in 0..<d { result[i * d + k] = g[i * d + k] / 1e-12 }
        continue
      }
      var dot = 0.0
      for k in 0..<d { dot += y[i * d + k] * g[i * d + k] }
      for k in 0..<d { result[i * d + k] = (g[i * d + k] - y[i * d + k] * dot) / norms[i] }
    }
    return result
  }
}
