#!/usr/bin/env python3
"""Times the same cross-entropy problems through PyTorch and `xent bench` in one run, and prints
the ratio table of the README's performance section (machine, versions, date included).

    $TORCH_PYTHON Scripts/compare_with_torch.py \
        --xent .build/release/xent --native-xent .build-native/release/xent

Build the two binaries first:
    swift build -c release --product xent
    swift build -c release --product xent --scratch-path .build-native \
        -Xswiftc -target-cpu -Xswiftc native

With `--lm-head`, it times the language-model head instead: PyTorch eager's
`F.cross_entropy(F.linear(h, W, b), y).backward()` against `xent bench --loss
linear-cross-entropy` at the same sizes and thread count, each in a separate process, in seconds
per forward + backward and peak extra resident memory (beyond the inputs, measured around one
call after warm-up through the kernel's peak-RSS mark).

Figures are medians in nanoseconds per logit. PyTorch's forward + backward is
`F.cross_entropy(x, y, ...).backward()` on a leaf tensor (its gradient buffer is reused between
calls); xent's is the in-place gradient path. The BCE-with-logits rows time
`F.binary_cross_entropy_with_logits(x, t, weight, pos_weight).backward()` against
`xent bench --loss binary-cross-entropy-with-logits` (fused kernel, gradient in place). Every
case runs PyTorch and xent back to back, and the whole table can be repeated (--rounds) because
shared machines are noisy.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

CASES = [
    # name, rows, classes, dtype, label smoothing, weighted, ignore every[, loss[, (H, W)]]
    ("fp32 4096x32000", 4096, 32000, "float32", 0.0, False, 0),
    ("fp32 4096x32000 smoothing+weights+ignore", 4096, 32000, "float32", 0.1, True, 8),
    ("fp32 1024x256000", 1024, 256000, "float32", 0.0, False, 0),
    ("fp32 32768x1000", 32768, 1000, "float32", 0.0, False, 0),
    ("fp16 4096x32000", 4096, 32000, "float16", 0.0, False, 0),
    ("bf16 4096x32000", 4096, 32000, "bfloat16", 0.0, False, 0),
    # BCE-with-logits on an (N, C) multi-label batch of 0/1 targets, mean; "weighted" adds a
    # per-class weight and pos_weight (shape [C]).
    ("BCE-with-logits fp32 1024x32000", 1024, 32000, "float32", 0.0, False, 0, "bce"),
    ("BCE-with-logits fp32 1024x32000 weight+pos_weight", 1024, 32000, "float32", 0.0, True, 0,
     "bce"),
    # (N, C, H, W) logits, classes on axis 1 (xent: --spatial H*W).
    ("fp32 (32, 1000, 32, 32)", 32, 1000, "float32", 0.0, False, 0, "cross-entropy", (32, 32)),
    ("fp32 (8, 21, 256, 256)", 8, 21, "float32", 0.0, False, 0, "cross-entropy", (256, 256)),
    ("fp32 (8, 21, 256, 256) smoothing+weights+ignore", 8, 21, "float32", 0.1, True, 8,
     "cross-entropy", (256, 256)),
]

# The language-model head: rows N, hidden size D, vocabulary V, dtype of h and W.
LM_HEAD_CASES = [
    ("fp32 N=4096 D=1024 V=32000", 4096, 1024, 32000, "float32"),
    ("fp32 N=1024 D=2048 V=128256", 1024, 2048, 128256, "float32"),
    ("bf16 N=4096 D=1024 V=32000", 4096, 1024, 32000, "bfloat16"),
]

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def median_time(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def torch_case(rows, classes, dtype, smoothing, weighted, ignore_every, loss, spatial, warmup,
               repeats, compiled=False):
    """Returns (forward, forward+backward) in ns per element, or None where PyTorch fails."""
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(rows, classes, *spatial, generator=generator) * 8 - 4).to(
        TORCH_DTYPES[dtype])
    n = x.numel()
    if loss == "bce":
        y = torch.randint(0, 2, (rows, classes), generator=generator).to(x.dtype)
        w = (torch.rand(classes, generator=generator) + 0.5).to(x.dtype) if weighted else None
        pw = (torch.rand(classes, generator=generator) * 4 + 1).to(x.dtype) if weighted else None

        def loss_fn(logits, targets):
            return F.binary_cross_entropy_with_logits(logits, targets, weight=w, pos_weight=pw)
    else:
        y = torch.randint(0, classes, (rows, *spatial), generator=generator)
        if ignore_every:
            y.view(-1)[::ignore_every] = -100
        w = (torch.rand(classes, generator=generator) + 0.5).to(x.dtype) if weighted else None

        def loss_fn(logits, labels):
            return F.cross_entropy(logits, labels, weight=w, label_smoothing=smoothing)

    if compiled:
        torch._dynamo.reset()  # one compiled graph per case, not recompiles of a shared one
    fn = torch.compile(loss_fn) if compiled else loss_fn
    try:
        with torch.no_grad():
            forward = median_time(lambda: fn(x, y), warmup, repeats)
        leaf = x.clone().requires_grad_(True)

        def step():
            leaf.grad = None
            fn(leaf, y).backward()

        backward = median_time(step, warmup, repeats)
    except Exception as error:  # noqa: BLE001 -- report and go on
        print(f"  torch{' compile' if compiled else ''} failed: {str(error)[:120]}",
              file=sys.stderr)
        return None
    return forward * 1e9 / n, backward * 1e9 / n


def xent_case(binary, rows, classes, dtype, smoothing, weighted, ignore_every, loss, spatial,
              warmup, repeats):
    if not binary:
        return None
    name = "binary-cross-entropy-with-logits" if loss == "bce" else "cross-entropy"
    command = [binary, "bench", "--loss", name, "--rows", str(rows), "--classes",
               str(classes), "--dtype", dtype, "--label-smoothing", str(smoothing),
               "--ignore-every", str(ignore_every), "--warmup", str(warmup), "--repeats",
               str(repeats), "--json"] + (["--weighted"] if weighted else [])
    if spatial:
        command += ["--spatial", str(int(torch.tensor(spatial).prod()))]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"  xent failed: {result.stderr.strip()[:160]}", file=sys.stderr)
        return None
    return json.loads(result.stdout)


def proc_status_bytes(key):
    """A `VmRSS:`-style line of /proc/self/status in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def torch_lm_head_worker(rows, hidden, classes, dtype, threads, warmup, repeats):
    """Runs in its own process: times PyTorch eager's head and prints one JSON object."""
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(rows, hidden, generator=generator).to(TORCH_DTYPES[dtype])
    w = (torch.randn(classes, hidden, generator=generator) * 0.02).to(TORCH_DTYPES[dtype])
    b = torch.zeros(classes).to(TORCH_DTYPES[dtype])
    y = torch.randint(0, classes, (rows,), generator=generator)
    leaves = [t.requires_grad_(True) for t in (h, w, b)]

    def step():
        for leaf in leaves:
            leaf.grad = None
        F.cross_entropy(F.linear(h, w, b).float(), y).backward()

    seconds = median_time(step, warmup, repeats)
    for leaf in leaves:
        leaf.grad = None
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = proc_status_bytes("VmRSS:")
    step()
    peak = proc_status_bytes("VmHWM:")
    # The gradient outputs are part of PyTorch's result, as they are of xent's.
    outputs = sum(leaf.grad.numel() * leaf.grad.element_size() for leaf in leaves)
    extra = None if before is None or peak is None else max(0, peak - before - outputs)
    print(json.dumps({"seconds_forward_backward": seconds, "peak_extra_bytes": extra,
                      "gflops": 6 * rows * hidden * classes / seconds / 1e9}))


def lm_head_case(script_python, binary, rows, hidden, classes, dtype, threads, warmup, repeats):
    """(torch, xent) result dictionaries of one head case, None where a side fails."""
    torch_command = [script_python, os.path.abspath(__file__), "--torch-lm-head-worker",
                     ",".join(map(str, (rows, hidden, classes, dtype, threads, warmup,
                                        repeats)))]
    xent_command = [binary, "bench", "--loss", "linear-cross-entropy", "--rows", str(rows),
                    "--hidden", str(hidden), "--classes", str(classes), "--dtype", dtype,
                    "--threads", str(threads), "--warmup", str(warmup), "--repeats",
                    str(repeats), "--json"]
    results = []
    for side, command in (("torch", torch_command), ("xent", xent_command)):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"  {side} failed: {result.stderr.strip()[-200:]}", file=sys.stderr)
            results.append(None)
        else:
            results.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return tuple(results)


def mebibytes(value):
    return "-" if value is None or value < 0 else f"{value / 2**20:.0f} MiB"


def run_lm_head(args):
    threads = args.threads or os.cpu_count()
    cases = LM_HEAD_CASES if args.cases is None else [
        LM_HEAD_CASES[int(i)] for i in args.cases.split(",")]
    print(f"Medians of {args.repeats} after {args.warmup} warm-up calls, {threads} threads, "
          "seconds per forward + backward; extra memory beyond inputs and gradient outputs.")
    for round_index in range(args.rounds):
        print()
        print(f"Round {round_index + 1}")
        print("| case | torch eager s | xent s | xent / torch | torch GFLOP/s | xent GFLOP/s | "
              "torch extra | xent extra |")
        print("|---|---|---|---|---|---|---|---|")
        for name, rows, hidden, classes, dtype in cases:
            eager, ours = lm_head_case(sys.executable, args.xent, rows, hidden, classes, dtype,
                                       threads, args.warmup, args.repeats)
            e_s = eager["seconds_forward_backward"] if eager else None
            x_s = ours["seconds_forward_backward"] if ours else None
            print(f"| {name} | {fmt(e_s)} | {fmt(x_s)} | "
                  f"{'-' if e_s is None or x_s is None else f'{x_s / e_s:.2f}x'} | "
                  f"{fmt(eager['gflops'] if eager else None)} | "
                  f"{fmt(ours['gflops'] if ours else None)} | "
                  f"{mebibytes(eager['peak_extra_bytes'] if eager else None)} | "
                  f"{mebibytes(ours['peak_extra_bytes'] if ours else None)} |", flush=True)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def swift_version():
    try:
        return subprocess.run(["swift", "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown Swift"


def fmt(value):
    return "-" if value is None else f"{value:.2f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.1f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xent", default=".build/release/xent", help="portable xent binary")
    parser.add_argument("--native-xent", default=None, help="xent built with -target-cpu native")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole table")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--cases", default=None, help="comma-separated case indices (0-based)")
    parser.add_argument("--lm-head", action="store_true",
                        help="time the language-model head (linear + cross-entropy) instead")
    parser.add_argument("--threads", type=int, default=0,
                        help="--lm-head: threads for both sides (0: one per logical CPU)")
    parser.add_argument("--torch-lm-head-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.torch_lm_head_worker:
        rows, hidden, classes, dtype, threads, warmup, repeats = (
            args.torch_lm_head_worker.split(","))
        torch_lm_head_worker(int(rows), int(hidden), int(classes), dtype, int(threads),
                             int(warmup), int(repeats))
        return

    cases = CASES if args.cases is None else [CASES[int(i)] for i in args.cases.split(",")]
    print(f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()} "
          f"{platform.release()}")
    print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads); {swift_version()}")
    print(f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    if args.lm_head:
        run_lm_head(args)
        return
    print(f"Medians of {args.repeats} after {args.warmup} warm-up calls, ns per logit; "
          "F+B = forward + backward (xent: gradient in place).")
    for round_index in range(args.rounds):
        print()
        print(f"Round {round_index + 1}")
        print("| case | torch eager F+B | torch.compile F+B | xent portable F+B | "
              "xent native F+B | native vs eager | portable vs eager | torch eager F | "
              "xent native F |")
        print("|---|---|---|---|---|---|---|---|---|")
        for case in cases:
            name = case[0]
            loss = case[7] if len(case) > 7 else "cross-entropy"
            spatial = tuple(case[8]) if len(case) > 8 else ()
            shape = tuple(case[1:7]) + (loss, spatial)
            eager = torch_case(*shape, args.warmup, args.repeats)
            compiled = None if args.no_compile else torch_case(
                *shape, args.warmup, args.repeats, compiled=True)
            portable = xent_case(args.xent, *shape, args.warmup, args.repeats)
            native = xent_case(args.native_xent, *shape, args.warmup, args.repeats)
            e_fb = eager[1] if eager else None
            c_fb = compiled[1] if compiled else None
            p_fb = portable["ns_per_element_forward_backward"] if portable else None
            n_fb = native["ns_per_element_forward_backward"] if native else None
            e_f = eager[0] if eager else None
            n_f = native["ns_per_element_forward"] if native else None
            print(f"| {name} | {fmt(e_fb)} | {fmt(c_fb)} | {fmt(p_fb)} | {fmt(n_fb)} | "
                  f"{ratio(e_fb, n_fb)} | {ratio(e_fb, p_fb)} | {fmt(e_f)} | {fmt(n_f)} |",
                  flush=True)


if __name__ == "__main__":
    main()
