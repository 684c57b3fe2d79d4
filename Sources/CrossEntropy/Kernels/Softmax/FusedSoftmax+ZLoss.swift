import RealModule

extension FusedSoftmax {
  /// The log-sum-exp of every kept row (0 for the others) of `rows x classes` logits, soft-capped
  /// first if `softCap` is set; a +inf logit makes its row's value NaN, as in the loss.
  static func logSumExps<E: KernelStorage>(
    _ logits: UnsafePointer<E.Stored>, rows: Int, classes: Int, softCap: Double?, kept: [Bool],
    _: E.Type
  ) -> [Double] {
    var lse = [Double](repeating: 0, count: rows)
    let cap = softCap.map(FusedRows.SoftCap.init)
    lse.withUnsafeMutableBufferPointer { out in
      kept.withUnsafeBufferPointer { kept in
        let threads = Threads.count(rows: rows, elementsPerRow: classes)
        Threads.forEachRange(rows: rows, threads: threads) { range in
          let capped = cap == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: classes)
          defer { capped?.deallocate() }
          for r in range where kept[r] {
            let x = logits + r * classes
            if let cap, let capped {
              FusedRows.softCap(
                x, count: classes, into: capped, derivative: FusedRows.NoStore(), cap, E.self)
              out[r] = logSumExp(UnsafePointer(capped), count: classes, FloatStorage.self)
            } else {
              out[r] = logSumExp(x, count: classes, E.self)
            }
          }
        }
      }
    }
    return lse
  }

  /// The log-sum-exp of one row from its online statistics (the reference's Double formula when
  /// the maximum is not finite).
  @inline(__always)
  static func logSumExp<E: KernelStorage>(
    _ x: UnsafePointer<E.Stored>, count: Int, _ e: E.Type
  ) -> Double {
    let stats = FusedRows.onlineStatistics(x, count: count, side: .none, e)
    guard stats.maximum.isFinite else { return scalarLogSumExpRow(x, count: count, e) }
    return Double(stats.maximum) + .log(stats.sum)
  }
}
