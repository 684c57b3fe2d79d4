import Foundation
import Testing

@testable import xent

/// `xent bench`: the JSON contract of Docs/CLI.md, on a tiny problem.
@Suite struct BenchCommandTests {
  @Test(arguments: ["float32", "float16", "bfloat16", "float64"])
  func jsonHasTheContractFields(dtype: String) throws {
    let run = try runXent([
      "bench", "--rows", "8", "--classes", "37", "--dtype", dtype, "--threads", "1",
      "--label-smoothing", "0.1", "--weighted", "--ignore-every", "3", "--warmup", "0",
      "--repeats", "1", "--json",
    ])
    #expect(run.status == 0, "\(run.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    #expect(object["loss"] as? String == "cross-entropy")
    #expect(object["rows"] as? Int == 8)
    #expect(object["classes"] as? Int == 37)
    #expect(object["dtype"] as? String == dtype)
    #expect(object["threads"] as? Int == 1)
    #expect((object["ns_per_element_forward"] as? Double ?? -1) > 0)
    #expect((object["ns_per_element_forward_backward"] as? Double ?? -1) > 0)
    #expect(object["extra_bytes"] is Int)
    #expect(["portable", "native"].contains(object["build"] as? String ?? ""))
  }

  @Test func badOptionsFailWithAMessage() throws {
    let run = try runXent(["bench", "--rows", "0"])
    #expect(run.status != 0)
    #expect(run.error.contains("--rows"))
    let smoothing = try runXent(["bench", "--label-smoothing", "2"])
    #expect(smoothing.status != 0)
    #expect(smoothing.error.contains("--label-smoothing 2.0 is outside [0, 1]"))
    let ctcOnly = try runXent(["bench", "--target-length", "3"])
    #expect(ctcOnly.status != 0)
    #expect(ctcOnly.error == "xent: error: --target-length applies to --loss ctc only\n")
    let rows = try runXent(["bench", "--loss", "ctc", "--rows", "3"])
    #expect(rows.status != 0)
    #expect(
      rows.error
        == "xent: error: --rows does not apply to --loss ctc; it takes --time-steps, --batch and"
        + " --classes\n")
    let threads = try runXent(["bench", "--threads=-1"])
    #expect(threads.error == "xent: error: --threads -1 must be >= 0\n")
    let repeats = try runXent(["bench", "--loss", "ctc", "--repeats", "0"])
    #expect(repeats.error == "xent: error: --repeats must be > 0 and --warmup >= 0\n")
  }

  /// A debug build is about 400 times slower than a release build; `xent bench` says so.
  @Test func debugBuildWarns() throws {
    let run = try runXent([
      "bench", "--rows", "2", "--classes", "5", "--warmup", "0", "--repeats", "1", "--json",
    ])
    #expect(run.status == 0, "\(run.error)")
    #if DEBUG
      #expect(Bench.debugBuildWarning.contains("debug build"))
      #expect(Bench.debugBuildWarning.contains("400 times slower"))
      #expect(run.error == Bench.debugBuildWarning + "\n")
    #else
      #expect(run.error.isEmpty)
    #endif
  }

  @Test func logitOptionsAreTimedAndReported() throws {
    let run = try runXent([
      "bench", "--rows", "4", "--classes", "50", "--threads", "1", "--z-loss-scale", "0.001",
      "--logit-soft-cap", "30", "--warmup", "0", "--repeats", "1", "--json",
    ])
    #expect(run.status == 0, "\(run.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    #expect(object["z_loss_scale"] as? Double == 0.001)
    #expect(object["logit_soft_cap"] as? Double == 30)
    let plain = try runXent(["bench", "--rows", "2", "--classes", "5", "--repeats", "1", "--json"])
    #expect(plain.output.contains("\"logit_soft_cap\": null"), "\(plain.output)")
    let scale = try runXent(["bench", "--z-loss-scale=-1"])
    #expect(scale.error.contains("--z-loss-scale -1.0 must be finite and >= 0"), "\(scale.error)")
    let cap = try runXent(["bench", "--logit-soft-cap", "0"])
    #expect(cap.error.contains("--logit-soft-cap 0.0 must be finite and > 0"), "\(cap.error)")
  }
}

/// `xent bench --loss binary-cross-entropy-with-logits`: times the fused BCE path.
@Suite struct BenchBinaryCommandTests {
  @Test(arguments: ["float32", "float64"])
  func jsonReportsTheBinaryLoss(dtype: String) throws {
    let run = try runXent([
      "bench", "--loss", "binary-cross-entropy-with-logits", "--rows", "4", "--classes", "37",
      "--dtype", dtype, "--weighted", "--threads", "1", "--warmup", "0", "--repeats", "1",
      "--json",
    ])
    #expect(run.status == 0, "\(run.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    #expect(object["loss"] as? String == "binary-cross-entropy-with-logits")
    #expect(object["dtype"] as? String == dtype)
    #expect((object["ns_per_element_forward_backward"] as? Double ?? -1) > 0)
  }
}

/// `xent bench --loss ctc`, and the deprecated `xent bench-ctc` spelling that forwards to it.
@Suite struct BenchCTCCommandTests {
  static let problem = [
    "--time-steps", "6", "--batch", "2", "--classes", "5", "--target-length", "2", "--threads",
    "1", "--warmup", "0", "--repeats", "1", "--json",
  ]

  /// The JSON object of a run, after checking that it succeeded.
  func json(_ run: (status: Int32, output: String, error: String)) throws -> [String: Any] {
    #expect(run.status == 0, "\(run.error)")
    return try #require(
      try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
  }

  @Test(arguments: ["float32", "float64"])
  func jsonReportsTheCTCLoss(dtype: String) throws {
    let object = try json(
      try runXent(["bench", "--loss", "ctc", "--dtype", dtype] + Self.problem))
    #expect(object["loss"] as? String == "ctc")
    #expect(object["time_steps"] as? Int == 6)
    #expect(object["batch"] as? Int == 2)
    #expect(object["classes"] as? Int == 5)
    #expect(object["target_length"] as? Int == 2)
    #expect(object["dtype"] as? String == dtype)
    #expect(object["repeats"] as? Int == 1)
    #expect(object["threads"] as? Int == 1)
    #expect((object["ms_forward"] as? Double ?? -1) > 0)
    #expect((object["ms_forward_backward"] as? Double ?? -1) > 0)
  }

  @Test(arguments: ["float32", "float16", "bfloat16", "float64"])
  func jsonReportsTheLinearCrossEntropy(dtype: String) throws {
    let object = try json(
      try runXent([
        "bench", "--loss", "linear-cross-entropy", "--rows", "5", "--hidden", "3", "--classes",
        "17", "--dtype", dtype, "--threads", "1", "--weighted", "--ignore-every", "2",
        "--z-loss-scale", "0.001", "--warmup", "0", "--repeats", "1", "--json",
      ]))
    #expect(object["loss"] as? String == "linear-cross-entropy")
    #expect(object["rows"] as? Int == 5)
    #expect(object["hidden"] as? Int == 3)
    #expect(object["classes"] as? Int == 17)
    #expect(object["dtype"] as? String == dtype)
    #expect(object["threads"] as? Int == 1)
    #expect(object["weighted"] as? Bool == true)
    #expect((object["seconds_forward"] as? Double ?? -1) > 0)
    #expect((object["seconds_forward_backward"] as? Double ?? -1) > 0)
    #expect((object["gflops"] as? Double ?? -1) >= 0)
    #expect(object["peak_extra_bytes"] is Int)
    #expect(["baseline", "avx2", "avx512"].contains(object["gemm_kernel"] as? String ?? ""))
    #expect(["portable", "native"].contains(object["build"] as? String ?? ""))
  }

  @Test(arguments: ["nt", "nn", "tn"])
  func jsonReportsTheMatrixProduct(layout: String) throws {
    let object = try json(
      try runXent([
        // Sizes whose rounded GFLOP/s stays above 0 even on a loaded machine (7 x 9 x 5
        // printed 0.0 at a load average of 10).
        "bench", "--loss", "gemm", "--layout", layout, "--rows", "67", "--hidden", "65",
        "--classes", "69", "--threads", "1", "--warmup", "0", "--repeats", "1", "--json",
      ]))
    #expect(object["loss"] as? String == "gemm")
    #expect(object["layout"] as? String == layout)
    #expect(object["m"] as? Int == 67)
    #expect(object["n"] as? Int == 69)
    #expect(object["k"] as? Int == 65)
    #expect((object["gflops"] as? Double ?? -1) > 0)
    #expect((object["fma_peak_gflops"] as? Double ?? -1) > 0)
    #expect(["baseline", "avx2", "avx512"].contains(object["kernel"] as? String ?? ""))
  }

  @Test func hiddenAppliesToTheHeadOnly() throws {
    let run = try runXent(["bench", "--hidden", "3"])
    #expect(
      run.error == "xent: error: --hidden applies to --loss gemm and linear-cross-entropy only\n")
    let zero = try runXent(["bench", "--loss", "linear-cross-entropy", "--hidden", "0"])
    #expect(zero.error == "xent: error: --hidden 0 must be > 0\n")
  }

  @Test func theOldSpellingForwardsWithAWarning() throws {
    let old = try runXent(["bench-ctc", "--dtype", "float64"] + Self.problem)
    let object = try json(old)
    #expect(object["loss"] as? String == "ctc")
    #expect(object["dtype"] as? String == "float64")
    #expect(object["time_steps"] as? Int == 6)
    #expect(old.error.hasPrefix(DeprecatedBenchCTC.warning + "\n"), "\(old.error)")
    #expect(DeprecatedBenchCTC.warning.contains("xent bench --loss ctc"))
    // The same problem, so the same checksum of the losses and gradients.
    let new = try json(
      try runXent(["bench", "--loss", "ctc", "--dtype", "float64"] + Self.problem))
    #expect(object["checksum"] as? Double == new["checksum"] as? Double)
  }

  @Test func theOldSpellingIsHidden() {
    #expect(!Xent.helpMessage().contains("bench-ctc"))
  }

  @Test func theOldSpellingReportsErrorsInOneLine() throws {
    let run = try runXent(["bench-ctc", "--classes", "1"])
    #expect(run.status != 0)
    #expect(
      run.error
        == "xent: error: --time-steps and --batch must be > 0, --classes > 1, --target-length"
        + " >= 0\n")
  }

  @Test func float16IsRefused() throws {
    let run = try runXent(["bench", "--loss", "ctc", "--dtype", "float16"] + Self.problem)
    #expect(run.status != 0)
    #expect(
      run.error == "xent: error: xent bench does not time --loss ctc with --dtype float16 yet\n")
  }
}
