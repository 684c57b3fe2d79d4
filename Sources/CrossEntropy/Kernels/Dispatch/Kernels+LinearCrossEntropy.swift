extension Kernels {
  /// The language-model head for the public element types: fp32 and Double run
  /// ``LinearCrossEntropySchedule`` in their own precision; any other type runs the Double
  /// schedule on Double copies of its inputs and outputs (O(N·D + V·D) extra memory). The
  /// rows' statistics, if asked, are written into `statistics`.
  static func linearCrossEntropy<Scalar: BinaryFloatingPoint>(
    hidden: UnsafePointer<Scalar>,
    weight: UnsafePointer<Scalar>,
    bias: UnsafePointer<Scalar>?,
    labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Scalar>?,
    problem: LinearCrossEntropyProblem,
    loss: UnsafeMutableBufferPointer<Scalar>,
    hiddenGradient: UnsafeMutablePointer<Scalar>?,
    weightGradient: UnsafeMutablePointer<Scalar>?,
    biasGradient: UnsafeMutablePointer<Scalar>?,
    logSumExp: UnsafeMutablePointer<Scalar>?,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) {
    if Scalar.self == Float.self {
      LinearCrossEntropySchedule<FloatHead<FloatStorage>>(
        hidden: cast(hidden, to: Float.self), weight: cast(weight, to: Float.self),
        bias: bias.map { cast($0, to: Float.self) }, labels: labels,
        classWeights: classWeights.map { cast($0, to: Float.self) }, problem: problem,
        loss: cast(loss, to: Float.self),
        hiddenGradient: hiddenGradient.map { cast($0, to: Float.self) },
        weightGradient: weightGradient.map { cast($0, to: Float.self) },
        biasGradient: biasGradient.map { cast($0, to: Float.self) },
        logSumExp: logSumExp.map { cast($0, to: Float.self) }, statistics: statistics
      ).run()
      return
    }
    if Scalar.self == Double.self {
      LinearCrossEntropySchedule<DoubleHead>(
        hidden: cast(hidden, to: Double.self), weight: cast(weight, to: Double.self),
        bias: bias.map { cast($0, to: Double.self) }, labels: labels,
        classWeights: classWeights.map { cast($0, to: Double.self) }, problem: problem,
        loss: cast(loss, to: Double.self),
        hiddenGradient: hiddenGradient.map { cast($0, to: Double.self) },
        weightGradient: weightGradient.map { cast($0, to: Double.self) },
        biasGradient: biasGradient.map { cast($0, to: Double.self) },
        logSumExp: logSumExp.map { cast($0, to: Double.self) }, statistics: statistics
      ).run()
      return
    }
    let (n, d, v) = (problem.rows, problem.hiddenSize, problem.classes)
    func wide(_ p: UnsafePointer<Scalar>, _ count: Int) -> [Double] {
      (0..<count).map { Double(p[$0]) }
    }
    let wideHidden = wide(hidden, n * d)
    let wideWeight = wide(weight, v * d)
    let wideBias = bias.map { wide($0, v) }
    let wideClassWeights = classWeights.map { wide($0.baseAddress!, $0.count) }
    var wideLoss = [Double](repeating: 0, count: loss.count)
    var wideHiddenGradient = hiddenGradient.map { _ in [Double](repeating: 0, count: n * d) }
    var wideWeightGradient = weightGradient.map { wide(UnsafePointer($0), v * d) }
    var wideBiasGradient = biasGradient.map { wide(UnsafePointer($0), v) }
    var wideLogSumExp = logSumExp.map { _ in [Double](repeating: 0, count: n) }
    wideHidden.withUnsafeBufferPointer { h in
      wideWeight.withUnsafeBufferPointer { w in
        withOptionalBuffer(wideBias) { b in
          withOptionalBuffer(wideClassWeights) { cw in
            wideLoss.withUnsafeMutableBufferPointer { l in
              withOptionalMutableBuffer(&wideHiddenGradient) { dh in
                withOptionalMutableBuffer(&wideWeightGradient) { dw in
                  withOptionalMutableBuffer(&wideBiasGradient) { db in
                    withOptionalMutableBuffer(&wideLogSumExp) { lse in
                      linearCrossEntropy(
                        hidden: startAddress(h.baseAddress), weight: startAddress(w.baseAddress),
                        bias: b.map { startAddress($0.baseAddress) }, labels: labels,
                        classWeights: cw, problem: problem, loss: l,
                        hiddenGradient: dh.map { mutableStartAddress($0.baseAddress) },
                        weightGradient: dw.map { mutableStartAddress($0.baseAddress) },
                        biasGradient: db.map { mutableStartAddress($0.baseAddress) },
                        logSumExp: lse.map { mutableStartAddress($0.baseAddress) },
                        statistics: statistics)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    for i in loss.indices { loss[i] = Scalar(wideLoss[i]) }
    func narrow(_ values: [Double]?, into p: UnsafeMutablePointer<Scalar>?) {
      guard let values, let p else { return }
      for i in values.indices { p[i] = Scalar(values[i]) }
    }
    narrow(wideHiddenGradient, into: hiddenGradient)
    narrow(wideWeightGradient, into: weightGradient)
    narrow(wideBiasGradient, into: biasGradient)
    narrow(wideLogSumExp, into: logSumExp)
  }

  /// The language-model head for hidden states and a classifier stored as `E` (float16 or
  /// bfloat16 bits): the products and the row kernel in fp32; the loss, the gradients and the
  /// log-sum-exp in fp32 (the statistics in Double).
  static func linearCrossEntropy<E: KernelStorage>(
    _: E.Type,
    hidden: UnsafePointer<E.Stored>,
    weight: UnsafePointer<E.Stored>,
    bias: UnsafePointer<E.Stored>?,
    labels: UnsafeBufferPointer<Int>,
    classWeights: UnsafeBufferPointer<Float>?,
    problem: LinearCrossEntropyProblem,
    loss: UnsafeMutableBufferPointer<Float>,
    hiddenGradient: UnsafeMutablePointer<Float>?,
    weightGradient: UnsafeMutablePointer<Float>?,
    biasGradient: UnsafeMutablePointer<Float>?,
    logSumExp: UnsafeMutablePointer<Float>?,
    statistics: UnsafeMutablePointer<RowStatistics>? = nil
  ) {
    LinearCrossEntropySchedule<FloatHead<E>>(
      hidden: hidden, weight: weight, bias: bias, labels: labels, classWeights: classWeights,
      problem: problem, loss: loss, hiddenGradient: hiddenGradient,
      weightGradient: weightGradient, biasGradient: biasGradient, logSumExp: logSumExp,
      statistics: statistics
    ).run()
  }
}
