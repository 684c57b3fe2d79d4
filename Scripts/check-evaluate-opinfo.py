#!/usr/bin/env python3
"""Runs PyTorch's own OpInfo sample inputs (and error inputs) for the losses through
`xent evaluate`, and compares loss and gradient with PyTorch (float32 and float64).

  swift build && PYTHONPATH=<dir with expecttest> python Scripts/check-evaluate-opinfo.py \
      [--xent .build/debug/xent]

torch.testing._internal imports `expecttest`; a stub module with `class TestCase(
unittest.TestCase): pass` is enough if the package is not installed.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch.testing._internal.common_methods_invocations import op_db

parser = argparse.ArgumentParser()
parser.add_argument("--xent", default=".build/debug/xent")
args = parser.parse_args()
LOSSES = {
    "nn.functional.cross_entropy": "cross-entropy",
    "nn.functional.nll_loss": "nll",
    "nn.functional.binary_cross_entropy": "binary-cross-entropy",
    "nn.functional.binary_cross_entropy_with_logits": "binary-cross-entropy-with-logits",
}
FLAGS = {"reduction": "--reduction", "ignore_index": "--ignore-index",
         "label_smoothing": "--label-smoothing"}
TENSORS = {"weight": "--weight", "pos_weight": "--pos-weight"}


def run_case(folder, index, op, loss, sample, expect_error):
    x = sample.input.detach()
    target = sample.args[0] if sample.args else sample.kwargs["target"]
    kwargs = {k: v for k, v in sample.kwargs.items() if k != "target"}
    paths = {"x": os.path.join(folder, f"{index}-x.npy"), "y": os.path.join(folder, f"{index}-y.npy")}
    np.save(paths["x"], x.numpy())
    np.save(paths["y"], target.detach().numpy() if isinstance(target, torch.Tensor) else np.array(target))
    out = {k: os.path.join(folder, f"{index}-{k}-out.npy") for k in ("loss", "grad")}
    command = [args.xent, "evaluate", "--loss", loss, "--input", paths["x"], "--target", paths["y"],
               "--output", out["loss"], "--gradient", out["grad"]]
    if loss in ("cross-entropy", "nll"):
        command += ["--class-axis", "1" if x.dim() >= 2 else "0"]
    for key, value in kwargs.items():
        if key in TENSORS:
            path = os.path.join(folder, f"{index}-{key}.npy")
            np.save(path, value.detach().numpy())
            command += [TENSORS[key], path]
        elif key in FLAGS:
            command += [FLAGS[key], str(value)]
        else:
            return f"skipped: unknown kwarg {key}"
    run = subprocess.run(command, capture_output=True, text=True)
    where = " ".join(command[2:])
    if expect_error is not None:
        ok = run.returncode != 0 and run.stderr.count("\n") == 1 and not any(
            os.path.exists(p) for p in out.values())
        return None if ok else f"FAIL (PyTorch raises {expect_error}) {where}: rc {run.returncode}"
    tx = x.clone().requires_grad_(True)
    value = op.op(tx, *sample.args, **sample.kwargs)
    value.sum().backward()
    if run.returncode != 0:
        return f"FAIL {where}: {run.stderr.strip()}"
    rtol = 2e-5 if x.dtype == torch.float32 else 1e-10
    for name, expected in (("loss", value.detach().numpy()), ("grad", tx.grad.numpy())):
        got = np.load(out[name])
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=rtol,
                                                           equal_nan=True):
            return f"FAIL {where}: {name} {got.ravel()[:4]} vs {expected.ravel()[:4]}"
    return None


failures = checked = 0
with tempfile.TemporaryDirectory() as folder:
    index = 0
    for op in op_db:
        if op.name not in LOSSES:
            continue
        for dtype in (torch.float32, torch.float64):
            for sample in op.sample_inputs("cpu", dtype, requires_grad=False):
                index += 1
                message = run_case(folder, index, op, LOSSES[op.name], sample, None)
                checked += 1
                if message:
                    failures += message.startswith("FAIL")
                    print(message)
        if op.error_inputs_func is not None:
            for error in op.error_inputs("cpu"):
                index += 1
                message = run_case(folder, index, op, LOSSES[op.name], error.sample_input,
                                   error.error_regex)
                checked += 1
                if message:
                    failures += message.startswith("FAIL")
                    print(message)
print(f"{checked} OpInfo samples, {failures} failures, torch {torch.__version__}")
sys.exit(1 if failures else 0)
