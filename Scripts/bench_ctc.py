#!/usr/bin/env python3
"""Times PyTorch's CPU ctc_loss and `xent bench --loss ctc` on the same problem, in the same run.

Usage (from the repository root, after `swift build -c release`):

    $TORCH_PYTHON Scripts/bench_ctc.py [--time-steps 500] [--batch 32] [--classes 80]
        [--target-length 100] [--repeats 9] [--threads 2] [--xent .build/release/xent]

The problem: float32 (or --dtype float64) log-probabilities (T, N, C) from a log-softmax of
random scores, every input length T, every target S labels from 1..C-1 (blank 0), reduction
mean. PyTorch runs with torch.set_num_threads(threads) and xent with --threads threads; both
sides report the median of `repeats` timed calls after two warm-up calls: the loss alone
(forward) and loss.backward() included (forward+backward, with log_probs requiring grad). The
PyTorch and xent runs alternate `rounds` times and the best median of each side is kept, so
that both see the same machine load. Prints one JSON object.
"""

import argparse
import json
import subprocess
import time

import torch
import torch.nn.functional as F


def torch_medians(T, N, C, S, repeats, dtype):
    g = torch.Generator().manual_seed(0)
    log_probs = torch.randn(T, N, C, generator=g, dtype=dtype).log_softmax(2).detach()
    targets = torch.randint(1, C, (N, S), generator=g, dtype=torch.long)
    input_lengths = torch.full((N,), T, dtype=torch.long)
    target_lengths = torch.full((N,), S, dtype=torch.long)

    def forward():
        with torch.no_grad():
            F.ctc_loss(log_probs, targets, input_lengths, target_lengths)

    def forward_backward():
        x = log_probs.clone().requires_grad_()
        F.ctc_loss(x, targets, input_lengths, target_lengths).backward()

    def median(fn):
        for _ in range(2):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        times.sort()
        return times[len(times) // 2]

    return median(forward), median(forward_backward)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--target-length", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--xent", default=".build/release/xent")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    T, N, C, S = args.time_steps, args.batch, args.classes, args.target_length

    torch_forward, torch_both, ours_forward, ours_both = [], [], [], []
    ours = None
    for _ in range(args.rounds):
        f, b = torch_medians(T, N, C, S, args.repeats, getattr(torch, args.dtype))
        torch_forward.append(f)
        torch_both.append(b)
        out = subprocess.run(
            [args.xent, "bench", "--loss", "ctc", "--time-steps", str(T), "--batch", str(N), "--classes",
             str(C), "--target-length", str(S), "--repeats", str(args.repeats),
             "--dtype", args.dtype, "--threads", str(args.threads), "--json"],
            check=True, capture_output=True, text=True).stdout
        ours = json.loads(out)
        ours_forward.append(ours["ms_forward"])
        ours_both.append(ours["ms_forward_backward"])

    result = {
        "problem": {"time_steps": T, "batch": N, "classes": C, "target_length": S,
                    "dtype": args.dtype, "reduction": "mean"},
        "torch": {"version": torch.__version__, "threads": torch.get_num_threads(),
                  "ms_forward": min(torch_forward), "ms_forward_backward": min(torch_both)},
        "xent": {"threads": ours["threads"], "ms_forward": min(ours_forward),
                 "ms_forward_backward": min(ours_both)},
        "speedup_forward": min(torch_forward) / min(ours_forward),
        "speedup_forward_backward": min(torch_both) / min(ours_both),
        "repeats": args.repeats, "rounds": args.rounds,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
