import ArgumentParser
import CrossEntropy
import CrossEntropyCPU
import DemoSupport
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
  /// of both operands for nt and of B for nn and tn (A, the logit gradient, stays fp32).
  ///
  /// Prints the median time and GFLOP/s (2 m n k per product), the multiply-add peak of the
  /// micro-kernel's instruction set measured in the same run on as many threads, the kernel,
  /// and the 1-minute load average. On a shared machine the wall-clock figures fall with the
  /// load, so both are also given per second of CPU time the process got (`*_per_cpu_second`:
  /// the rate of one thread while it runs).
  func timeGEMM() throws {
    guard let operands = GEMMBenchmark.Operands(rawValue: dtype.rawValue),
      GEMMBenchmark.supports(operands)
    else {
      throw ValidationError("xent bench does not time --loss gemm with --dtype \(dtype.rawValue)")
    }
    let threads = Parallelism.effectiveThreadCount
    let benchmark = GEMMBenchmark(
      m: rowCount, n: classCount, k: hiddenCount, layout: layout.benchmark, operands: operands)
    let start = processCPUSeconds()
    var timed = 0
    let seconds = Timing.median(options) {
      benchmark.run(threads: threads)
      timed += 1
    }
    let cpuSeconds = (processCPUSeconds() - start) / Double(max(timed, 1))
    let peak = peakGFLOPS(threads: threads)
    let gflops = benchmark.flops / seconds * 1e-9
    let gflopsPerCPUSecond = benchmark.flops / cpuSeconds * 1e-9
    let build = xent_cpu_is_native_build() != 0 ? "native" : "portable"
    var load = [Double](repeating: -1, count: 3)
    _ = getloadavg(&load, 3)
    if options.json {
      print(
        "{\"loss\": \"gemm\", \"layout\": \"\(layout.rawValue)\", \"m\": \(rowCount),"
          + " \"n\": \(classCount), \"k\": \(hiddenCount), \"dtype\": \"\(dtype.rawValue)\","
          + " \"threads\": \(threads), \"kernel\": \"\(benchmark.kernel)\","
          + " \"seconds\": \(seconds), \"gflops\": \(rounded(gflops)),"
          + " \"fma_peak_gflops\": \(rounded(peak.wall)),"
          + " \"fraction_of_peak\": \(rounded(gflops / peak.wall)),"
          + " \"gflops_per_cpu_second\": \(rounded(gflopsPerCPUSecond)),"
          + " \"fma_peak_gflops_per_cpu_second\": \(rounded(peak.perCPUSecond)),"
          + " \"fraction_of_peak_per_cpu_second\":"
          + " \(rounded(gflopsPerCPUSecond / peak.perCPUSecond)),"
          + " \"load_average\": \(rounded(load[0])), \"build\": \"\(build)\"}")
    } else {
      print("product         \(layout.rawValue): m \(rowCount), n \(classCount), k \(hiddenCount)")
      print("operands        \(dtype.rawValue), \(build) build, \(threads) thread(s)")
      print("kernel          \(benchmark.kernel)")
      print("time            \(rounded(seconds * 1e3)) ms (median of \(options.repeats))")
      print(
        "throughput      \(rounded(gflops)) GFLOP/s, \(rounded(gflopsPerCPUSecond)) per CPU second")
      print(
        "peak            \(rounded(peak.wall)) GFLOP/s, \(rounded(peak.perCPUSecond)) per CPU"
          + " second (\(benchmark.kernel) multiply-adds)")
      print("load average    \(rounded(load[0]))")
    }
  }

  /// The multiply-add peak on `threads` threads at once: GFLOP/s of wall time, and per second
  /// of CPU time; the best of three runs of about a quarter of a second.
  private func peakGFLOPS(threads: Int) -> (wall: Double, perCPUSecond: Double) {
    let clock = ContinuousClock()
    func run(_ iterations: Int) -> (wall: Double, cpu: Double) {
      let cpu = processCPUSeconds()
      let wall = clock.measure {
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
          GEMMBenchmark.peakLoop(iterations: iterations)
        }
      }
      return (wall.inSeconds, processCPUSeconds() - cpu)
    }
    let probe = 1 << 20
    let iterations = max(probe, Int(Double(probe) * 0.25 / max(run(probe).wall, 1e-6)))
    let runs = (0..<3).map { _ in run(iterations) }
    let flops = Double(threads) * Double(iterations) * GEMMBenchmark.peakFlopsPerIteration
    return (
      flops / runs.map(\.wall).min()! * 1e-9,
      flops / runs.map(\.cpu).min()! * 1e-9
    )
  }
}

/// The CPU time of this process so far (all threads), in seconds; 0 where it is not available.
private func processCPUSeconds() -> Double {
  #if os(Linux) || canImport(Darwin)
    var usage = rusage()
    #if os(Linux)
      getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
      getrusage(RUSAGE_SELF, &usage)
    #endif
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    return user + system
  #else
    return 0
  #endif
}
