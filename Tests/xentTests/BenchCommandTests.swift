import Foundation
import Testing

/// `xent bench`: the JSON contract of shared/docs/CLI.md, on a tiny problem.
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
