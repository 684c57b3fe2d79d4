#!/usr/bin/env python3
"""Checks `xent evaluate --loss ctc` against PyTorch's F.ctc_loss on cases the tests never saw.

Usage (from the repository root, after `swift build`):

    $TORCH_PYTHON Scripts/check_ctc_against_torch.py [--xent .build/debug/xent]
        [--random 200] [--seed 1] [--no-opinfo]

Two sources of cases:
- PyTorch's own OpInfo sample inputs for nn.functional.ctc_loss (float32 and float64);
- seeded random cases: batched or unbatched, padded or concatenated targets (int64 or int32),
  blank anywhere, repeats, empty targets, zero and infeasible input lengths, every reduction,
  zero_infinity on and off; some with bad input that PyTorch rejects (lengths beyond the
  tensors, negative lengths, a blank out of range, a length count that is not the batch size),
  and some with a label outside 0..<C (xent rejects it; PyTorch does not check it).

Each case goes through `xent evaluate` (loss and gradient files) and through PyTorch. The loss
must match PyTorch in the input's dtype (rtol 2e-5 for float32, 1e-10 for float64). A float64
gradient must match PyTorch's (rtol 1e-10, plus 1e-13 times the largest magnitude). A float32
gradient is judged against the exact answer (PyTorch in float64 on the same inputs): its largest
error must stay within twice that of PyTorch's own float32 gradient (or 2e-6 of the largest
magnitude). xent's float32 kernel follows PyTorch's float32 order and rounding, so both share the
same error (up to ~1% at T = 1000); the note printed for OpInfo cases also gives the largest
difference to PyTorch's float32 gradient (relative to its largest magnitude), which is ~6e-6 on
the OpInfo samples: xent's vector exp/log are an ulp or two from libm's, so now and then a step
of the recursion rounds the other way. Cases PyTorch rejects must make xent exit non-zero with one line on
standard error and no output files. Exit status 1 if any case fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from xent_evaluate_check import close, op_db

RTOL = {"float32": 2e-5, "float64": 1e-10}
ATOL_SCALE = {"float32": 2e-6, "float64": 1e-13}
NP = {"float32": np.float32, "float64": np.float64}


def torch_ctc(x, targets, il, tl, blank, reduction, zero_infinity, dtype):
    xt = torch.tensor(np.asarray(x, dtype=np.float64 if dtype == "float64x" else x.dtype),
                      requires_grad=True)
    loss = F.ctc_loss(xt, torch.tensor(targets), torch.tensor(il), torch.tensor(tl),
                      blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    (loss.sum() if reduction == "none" else loss).backward()
    return loss.detach().numpy(), xt.grad.numpy()


def run(case, xent, workdir):
    x, targets, il, tl, blank, reduction, zero_inf, int_type = case["args"]
    dtype = str(x.dtype)
    paths = {}
    for name, array in (("x", x), ("y", np.asarray(targets, dtype=int_type)),
                        ("il", np.asarray(il, dtype=int_type)), ("tl", np.asarray(tl, dtype=int_type))):
        paths[name] = os.path.join(workdir, f"{name}.npy")
        np.save(paths[name], array)
    out, grad = os.path.join(workdir, "L.npy"), os.path.join(workdir, "G.npy")
    for p in (out, grad):
        if os.path.exists(p):
            os.remove(p)
    command = [xent, "evaluate", "--loss", "ctc", "--input", paths["x"], "--target", paths["y"],
               "--input-lengths", paths["il"], "--target-lengths", paths["tl"], "--blank",
               str(blank), "--reduction", reduction, "--output", out, "--gradient", grad]
    if zero_inf:
        command.append("--zero-infinity")
    try:
        loss, gradient = torch_ctc(x, targets, il, tl, blank, reduction, zero_inf, dtype)
        exact_loss, exact_gradient = torch_ctc(
            x.astype(np.float64), targets, il, tl, blank, reduction, zero_inf, "float64x")
        torch_error = None
    except (RuntimeError, ValueError, IndexError) as error:
        torch_error = str(error).splitlines()[0]
    if torch_error is None and case.get("deviation"):
        torch_error = "(not PyTorch) " + case["deviation"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    problems, note = [], ""
    if torch_error is not None:
        if result.returncode == 0:
            problems.append(f"PyTorch raises ({torch_error}) but xent exits 0")
        if len([line for line in result.stderr.splitlines() if line.strip()]) != 1:
            problems.append(f"stderr is not one line: {result.stderr!r}")
        if os.path.exists(out) or os.path.exists(grad):
            problems.append("output written despite the error")
        return "rejected", problems, note
    if result.returncode != 0:
        return "computed", [f"xent fails where PyTorch succeeds: {result.stderr.strip()}"], note
    actual_loss, actual_grad = np.load(out), np.load(grad)
    if actual_loss.shape != loss.shape or actual_grad.shape != gradient.shape:
        problems.append(f"shapes {actual_loss.shape}/{actual_grad.shape}")
    ok, detail = close(actual_loss, loss, RTOL[dtype], atol_scale=ATOL_SCALE[dtype])
    if not ok:
        problems.append(f"loss: {detail}")
    if dtype == "float64":
        ok, detail = close(actual_grad, exact_gradient, RTOL[dtype],
                           atol_scale=ATOL_SCALE[dtype])
        if not ok:
            problems.append(f"gradient vs PyTorch float64: {detail}")
    else:
        # Both float32 gradients against the exact one: xent's error must stay within twice
        # PyTorch's (or 2e-6 of the largest magnitude, whichever is larger; both round at every
        # step, so on short inputs either may be the closer one), and NaNs must agree.
        a, e, t = (np.asarray(v, dtype=np.float64).reshape(-1)
                   for v in (actual_grad, exact_gradient, gradient))
        if not np.array_equal(np.isnan(a), np.isnan(e)):
            problems.append("gradient NaNs differ from PyTorch's")
        finite = np.isfinite(e) & np.isfinite(a) & np.isfinite(t)
        if finite.any():
            ours = np.abs(a - e)[finite].max()
            theirs = np.abs(t - e)[finite].max()
            bound = max(2 * theirs, ATOL_SCALE[dtype] * np.abs(e[finite]).max())
            if ours > bound:
                problems.append(f"gradient error {ours:.2e} exceeds twice PyTorch float32's {theirs:.2e}")
            apart = np.abs(a - t)[finite].max() / max(np.abs(t[finite]).max(), 1e-30)
            note = (f"gradient max error vs exact: xent {ours:.2e}, PyTorch float32 {theirs:.2e};"
                    f" xent vs PyTorch float32 {apart:.2e} of the largest magnitude")
    return "computed", problems, note


def opinfo_cases():
    for op in op_db():
        if op.name != "nn.functional.ctc_loss":
            continue
        for dtype in ("float32", "float64"):
            for index, s in enumerate(op.sample_inputs("cpu", getattr(torch, dtype))):
                targets, il, tl = s.args
                as_np = lambda v: v.numpy() if torch.is_tensor(v) else np.asarray(v)
                yield {"name": f"OpInfo ctc_loss #{index} {dtype} {s.kwargs}",
                       "args": (s.input.detach().numpy().copy(), as_np(targets), as_np(il),
                                as_np(tl), s.kwargs.get("blank", 0),
                                s.kwargs.get("reduction", "mean"),
                                s.kwargs.get("zero_infinity", False), np.int64)}


def random_case(seed):
    rng = np.random.default_rng(seed)
    dtype = rng.choice(["float32", "float64"])
    C = int(rng.integers(2, 30))
    N = int(rng.integers(1, 6))
    T = int(rng.integers(1, 120))
    blank = int(rng.integers(0, C))
    S = int(rng.integers(0, 40))
    labels = [c for c in range(C) if c != blank] or [0]
    targets = rng.choice(labels, size=(N, S))
    for n in range(N):
        for i in range(1, S):
            if rng.random() < 0.2:
                targets[n, i] = targets[n, i - 1]
    tl = rng.integers(0, S + 1, size=N)
    il = rng.integers(0, T + 1, size=N)
    if rng.random() < 0.7:
        il = np.maximum(il, np.minimum(T, 2 * tl + 1))
    scores = rng.standard_normal((T, N, C)) * rng.choice([0.5, 2.0, 6.0])
    x = torch.tensor(scores).log_softmax(-1).numpy().astype(NP[dtype])
    unbatched = N == 1 and rng.random() < 0.5
    concatenated = rng.random() < 0.4
    if concatenated:
        targets = np.concatenate([targets[n, :tl[n]] for n in range(N)]).astype(np.int64)
    if unbatched:
        x = x[:, 0]
        if not concatenated:
            targets = targets[:1]
        il, tl = np.array(il[0]), np.array(tl[0])
    int_type = np.int32 if rng.random() < 0.3 else np.int64
    reduction = str(rng.choice(["none", "mean", "sum"]))
    name = f"random seed {seed} {dtype} x{x.shape} blank {blank} {reduction}"
    deviation = None
    if rng.random() < 0.15:
        # Bad input: PyTorch raises for each of these, and xent must refuse it in one line.
        il, tl = np.array(il).copy(), np.array(tl).copy()
        kind = rng.choice(["input too long", "negative input", "negative target",
                           "blank", "lengths count", "padded too short"])
        if kind == "input too long":
            il.flat[0] = x.shape[0] + 1
        elif kind == "negative input":
            il.flat[0] = -1
        elif kind == "negative target":
            tl.flat[0] = -1
        elif kind == "blank":
            blank = C if rng.random() < 0.5 else -1
        elif kind == "lengths count":
            il = np.append(il.reshape(-1), 1)
        elif kind == "padded too short" and targets.ndim == 2:
            tl.flat[0] = targets.shape[1] + 1
        name += f" bad: {kind}"
    elif rng.random() < 0.1 and targets.size > 0 and tl.sum() > 0:
        # A label outside 0..<C: PyTorch reads other memory; xent refuses (a documented
        # deviation).
        targets = targets.copy()
        targets.flat[0] = C + 3
        if targets.ndim == 2 and tl.reshape(-1)[0] == 0:
            targets.flat[0] = 0
        else:
            deviation = "labels outside 0..<C are an error in xent"
        name += " label out of range"
    return {"name": name, "deviation": deviation,
            "args": (x, targets, il, tl, blank, reduction, bool(rng.random() < 0.5), int_type)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xent", default=".build/debug/xent")
    parser.add_argument("--random", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-opinfo", action="store_true")
    args = parser.parse_args()
    cases = [] if args.no_opinfo else list(opinfo_cases())
    cases += [random_case(s) for s in range(args.seed, args.seed + args.random)]
    failures, counts = 0, {"computed": 0, "rejected": 0}
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            outcome, problems, note = run(case, args.xent, workdir)
            counts[outcome] += 1
            if problems:
                failures += 1
                print(f"FAIL {case['name']}: " + "; ".join(problems))
            elif note and case["name"].startswith("OpInfo"):
                print(f"ok   {case['name']}: {note}")
    print(f"{len(cases)} cases ({counts['computed']} computed, {counts['rejected']} rejected"
          f" by both), {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
