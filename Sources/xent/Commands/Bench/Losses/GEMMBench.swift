import ArgumentParser
import CrossEntropy
import CrossEntropyCPU
import Foundation

/// `xent bench --loss gemm --layout L`: the products of the language-model head.
enum GEMMLayout: String, ExpressibleByArgument, CaseIterable {
  case nt, nn, tn

  var benchmark: GEMMBenchmark.Layout {
    switch self {
    case .nt: .nt
    case .nn: .nn
    case .tn: .tn
    }
  }
}

extension Bench {
  /// `--hidden`, or its default.
  var hiddenCount: Int { hidden ?? 1024 }

  func validateGEMM() throws {
    guard rowCount > 0, classCount > 0, hiddenCount > 0 else {
      throw ValidationError("--rows, --classes and --hidden must be > 0")
    }
    guard [.float32, .float16, .bfloat16].contains(dtype) else {
      throw ValidationError("--loss gemm takes --dtype float32, float16 or bfloat16")
    }
  }

  /// `xent bench --loss gemm`: one product `C (+)= op(A) · op(B)` with m = `--rows`,
  /// n = `--classes`, k = `--hidden`, in the layout `--layout` (nt: the logits H · Wᵀ, nn: the
  /// hidden gradient G · W, tn: the weight gradient Gᵀ · H, accumulated). `--dtype` is the type
  /// of both operands for nt and of B for nn and tn (A, the logit gradient, stays fp32). Prints
  /// the median time, GFLOP/s (2 m n k per product), the multiply-add peak of the micro-kernel's
  /// instruction set measured in the same run on as many threads, the micro-kernel, and the
  /// 1-minute load average (the figures are only as good as the machine is idle).
  func timeGEMM() throws {
    guard let operands = GEMMBenchmark.Operands(rawValue: dtype.rawValue),
      GEMMBenchmark.supports(operands)
    else {
      throw ValidationError("xent bench does not time --loss gemm with --dtype \(dtype.rawValue)")
    }
    let threads = Parallelism.effectiveThreadCount
    let benchmark = GEMMBenchmark(
      m: rowCount, n: classCount, k: hiddenCount, layout: layout.benchmark, operands: operands)
    let seconds = Timing.median(options) { benchmark.run(threads: threads) }
    let peak = GEMMBenchmark.peakGFLOPS(threads: threads)
    let gflops = benchmark.flops / seconds * 1e-9
    let build = xent_cpu_is_native_build() != 0 ? "native" : "portable"
    var load = [Double](repeating: -1, count: 3)
    _ = getloadavg(&load, 3)
    if options.json {
      print(
        "{\"loss\": \"gemm\", \"layout\": \"\(layout.rawValue)\", \"m\": \(rowCount),"
          + " \"n\": \(classCount), \"k\": \(hiddenCount), \"dtype\": \"\(dtype.rawValue)\","
          + " \"threads\": \(threads), \"kernel\": \"\(benchmark.kernel)\","
          + " \"seconds\": \(seconds), \"gflops\": \(rounded(gflops)),"
          + " \"fma_peak_gflops\": \(rounded(peak)),"
          + " \"fraction_of_peak\": \(rounded(gflops / peak)),"
          + " \"load_average\": \(rounded(load[0])), \"build\": \"\(build)\"}")
    } else {
      print("product         \(layout.rawValue): m \(rowCount), n \(classCount), k \(hiddenCount)")
      print("operands        \(dtype.rawValue), \(build) build, \(threads) thread(s)")
      print("kernel          \(benchmark.kernel)")
      print("time            \(rounded(seconds * 1e3)) ms (median of \(options.repeats))")
      print("throughput      \(rounded(gflops)) GFLOP/s")
      print("peak            \(rounded(peak)) GFLOP/s (\(benchmark.kernel) multiply-adds)")
      print("load average    \(rounded(load[0]))")
    }
  }
}
