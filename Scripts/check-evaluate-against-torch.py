#!/usr/bin/env python3
"""Checks `xent evaluate` against PyTorch on random cases, as an outside tool would.

For each seeded random case (loss, dtype, rank, class axis, options, and sometimes a defect
that PyTorch rejects) it runs PyTorch and the xent binary and checks: the same loss and gradient
(rtol 2e-5 for float32, 1e-10 for float64) where PyTorch succeeds; a non-zero exit with one line
on standard error and no output file where PyTorch raises.

  swift build && python Scripts/check-evaluate-against-torch.py [--xent .build/debug/xent]
      [--cases 300] [--seed 0]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--xent", default=".build/debug/xent")
parser.add_argument("--cases", type=int, default=300)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
rng = np.random.default_rng(args.seed)
LOSSES = ["cross-entropy", "nll", "binary-cross-entropy", "binary-cross-entropy-with-logits"]


def make_case():
    loss = LOSSES[rng.integers(len(LOSSES))]
    dtype = [np.float32, np.float64][rng.integers(2)]
    rank = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 5, size=rank))
    files, flags, kwargs = {}, [], {}
    reduction = ["none", "mean", "sum"][rng.integers(3)]
    flags += ["--reduction", reduction]
    kwargs["reduction"] = reduction
    defect = rng.random() < 0.2
    if loss in ("cross-entropy", "nll"):
        axis = 1 if rank >= 2 else 0
        flags += ["--class-axis", str(axis)]
        classes = shape[axis]
        label_shape = shape[:axis] + shape[axis + 1:]
        x = rng.standard_normal(shape).astype(dtype) * 3
        if loss == "nll":
            x = torch.log_softmax(torch.tensor(x), axis).numpy()
        probabilities = loss == "cross-entropy" and rng.random() < 0.3
        if probabilities:
            y = rng.random(shape).astype(dtype)
        else:
            y = rng.integers(0, classes, size=label_shape).astype(np.int64)
            if rng.random() < 0.5:
                ignore = int(rng.choice([-100, 0, -1]))
                y[rng.random(label_shape) < 0.3] = ignore
                flags += ["--ignore-index", str(ignore)]
                kwargs["ignore_index"] = ignore
        if rng.random() < 0.5:
            w = (rng.random(classes) + 0.1).astype(dtype)
            if defect and rng.random() < 0.5:
                w = w[:-1] if classes > 1 else np.concatenate([w, w])
            files["w"] = w
            kwargs["weight"] = torch.tensor(w)
        if loss == "cross-entropy" and rng.random() < 0.5:
            e = float(rng.choice([0.0, 0.1, 0.3, 1.0, 1.5] if defect else [0.0, 0.1, 0.3, 1.0]))
            flags += ["--label-smoothing", str(e)]
            kwargs["label_smoothing"] = e
        if defect and not probabilities and y.size > 0 and rng.random() < 0.5:
            y.flat[0] = classes + int(rng.integers(0, 3))
        function = F.cross_entropy if loss == "cross-entropy" else F.nll_loss
    else:
        logits = loss.endswith("logits")
        x = rng.standard_normal(shape).astype(dtype) * 4
        if not logits:
            x = (1 / (1 + np.exp(-x))).astype(dtype)
            if defect and rng.random() < 0.5:
                x.flat[0] = 1.5
        y = rng.random(shape).astype(dtype)
        if rng.random() < 0.5:
            y = (y > 0.5).astype(dtype)
        if defect and rng.random() < 0.5 and rank > 1:
            y = y[0]
        if rng.random() < 0.5:
            wshape = shape[-int(rng.integers(1, rank + 1)):]
            if defect and rng.random() < 0.5:
                wshape = (7,) + wshape
            files["w"] = (rng.random(wshape) + 0.1).astype(dtype)
            kwargs["weight"] = torch.tensor(files["w"])
        if logits and rng.random() < 0.5:
            pshape = shape[-int(rng.integers(1, rank + 1)):]
            files["pw"] = (rng.random(pshape) * 3).astype(dtype)
            kwargs["pos_weight"] = torch.tensor(files["pw"])
        function = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
    return loss, x, y, files, flags, kwargs, function


failures = 0
rejected = 0
with tempfile.TemporaryDirectory() as folder:
    for case in range(args.cases):
        loss, x, y, files, flags, kwargs, function = make_case()
        paths = {}
        for name, array in [("x", x), ("y", y), *files.items()]:
            paths[name] = os.path.join(folder, f"{case}-{name}.npy")
            np.save(paths[name], array)
        out = {k: os.path.join(folder, f"{case}-{k}-out.npy") for k in ("loss", "grad")}
        command = [args.xent, "evaluate", "--loss", loss, "--input", paths["x"], "--target",
                   paths["y"], *flags, "--output", out["loss"], "--gradient", out["grad"]]
        if "w" in paths:
            command += ["--weight", paths["w"]]
        if "pw" in paths:
            command += ["--pos-weight", paths["pw"]]
        tx = torch.tensor(x, requires_grad=True)
        try:
            value = function(tx, torch.tensor(y), **kwargs)
            value.sum().backward()
            torch_error = None
        except Exception as error:  # PyTorch rejects the input.
            torch_error = str(error).splitlines()[0]
        run = subprocess.run(command, capture_output=True, text=True)
        where = f"case {case} (seed {args.seed}): {' '.join(command[1:])}"
        if torch_error is not None:
            rejected += 1
            ok = (run.returncode != 0 and run.stderr.count("\n") == 1
                  and not os.path.exists(out["loss"]) and not os.path.exists(out["grad"]))
            if not ok:
                failures += 1
                print(f"FAIL {where}\n  torch raised: {torch_error}\n  xent: rc {run.returncode}"
                      f" {run.stdout.strip()} {run.stderr.strip()}")
            continue
        if run.returncode != 0:
            failures += 1
            print(f"FAIL {where}\n  torch ok, xent: {run.stderr.strip()}")
            continue
        rtol = 2e-5 if x.dtype == np.float32 else 1e-10
        for name, expected in (("loss", value.detach().numpy()), ("grad", tx.grad.numpy())):
            got = np.load(out[name])
            if got.shape != expected.shape or got.dtype != expected.dtype or not np.allclose(
                    got, expected, rtol=rtol, atol=rtol, equal_nan=True):
                failures += 1
                print(f"FAIL {where}\n  {name}: xent {got.ravel()[:6]} torch {expected.ravel()[:6]}")
print(f"{args.cases} cases ({rejected} rejected by PyTorch), {failures} failures,"
      f" torch {torch.__version__}")
sys.exit(1 if failures else 0)
