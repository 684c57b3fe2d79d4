"""Shared helpers for the scripts that check `xent evaluate` against PyTorch case by case
(check_against_torch.py, check_ctc_against_torch.py, check_evaluate_opinfo.py,
check_evaluate_focal.py): run the binary on arrays, compare its loss and gradient with
PyTorch's, check that a bad input is refused cleanly, count outcomes per operation, and import
PyTorch's OpInfo database.

Not a script of its own; the scripts beside it import it (Python puts a script's folder on
sys.path). Nothing here runs in `swift test`.
"""
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
import torch

# The tolerances of the cross-entropy, NLL and BCE checks (README): relative and absolute, per
# dtype. NaN matches NaN; infinities match exactly.
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-10}


def close(actual, expected, rtol, atol=0.0, atol_scale=0.0):
    """(ok, detail): NaN matches NaN, infinities match exactly, and finite values are within
    atol + atol_scale * (largest finite |expected|) + rtol * |expected|."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return False, f"shape {actual.shape} vs PyTorch {expected.shape}"
    a = actual.astype(np.float64).reshape(-1)
    e = expected.astype(np.float64).reshape(-1)
    finite = np.isfinite(e)
    scale = np.abs(e[finite]).max() if finite.any() else 0.0
    with np.errstate(invalid="ignore"):
        ok = np.where(
            np.isnan(e), np.isnan(a),
            np.where(np.isinf(e), a == e,
                     np.abs(a - e) <= atol + atol_scale * scale + rtol * np.abs(e)))
    if ok.all():
        return True, ""
    bad = np.flatnonzero(~ok)
    shown = ", ".join(f"[{i}] {a[i]!r} vs {e[i]!r}" for i in bad[:3])
    return False, f"{bad.size} of {e.size} differ: {shown}"


def op_db():
    """PyTorch's OpInfo database (torch.testing._internal). Its module imports expecttest, a
    test-only dependency; when that is not installed, a stub stands in for it."""
    try:
        import expecttest  # noqa: F401
    except ImportError:
        import types
        import unittest
        stub = types.ModuleType("expecttest")
        stub.TestCase = unittest.TestCase
        sys.modules["expecttest"] = stub
    from torch.testing._internal.common_methods_invocations import op_db as database
    return database


class Run:
    """One `xent evaluate` run: exit status, standard error, outputs (None when not written)."""

    def __init__(self, command, process, outputs):
        self.command = command
        self.returncode = process.returncode
        self.stderr = process.stderr
        self.loss = np.load(outputs["loss"]) if os.path.exists(outputs["loss"]) else None
        self.gradient = np.load(outputs["grad"]) if os.path.exists(outputs["grad"]) else None

    def describe(self):
        """The command line without the binary and the temporary output paths."""
        return " ".join(os.path.basename(part) if os.sep in part else part
                        for part in self.command[2:])


class Xent:
    """Runs `xent evaluate` on in-memory arrays, saving them as .npy files in `folder`."""

    def __init__(self, binary, folder):
        self.binary = binary
        self.folder = folder
        self.count = 0

    def save(self, name, array):
        path = os.path.join(self.folder, f"{self.count}-{name}.npy")
        np.save(path, array)
        return path

    def evaluate(self, loss, x, target, flags=(), files=None):
        """Runs `xent evaluate --loss LOSS` on x and target (NumPy arrays); `files` maps a flag
        such as --weight to an array saved for it; `flags` are further arguments."""
        self.count += 1
        outputs = {k: os.path.join(self.folder, f"{self.count}-{k}-out.npy")
                   for k in ("loss", "grad")}
        command = [self.binary, "evaluate", "--loss", loss,
                   "--input", self.save("x", x), "--target", self.save("y", target),
                   "--output", outputs["loss"], "--gradient", outputs["grad"], *flags]
        for flag, array in (files or {}).items():
            command += [flag, self.save(flag.strip("-"), array)]
        process = subprocess.run(command, capture_output=True, text=True)
        return Run(command, process, outputs)


def torch_loss_and_gradient(function, x, *args, **kwargs):
    """PyTorch's loss and d(loss.sum())/dx (as `xent evaluate --gradient` defines it)."""
    tx = x.detach().clone().requires_grad_(True)
    value = function(tx, *args, **kwargs)
    value.sum().backward()
    grad = tx.grad if tx.grad is not None else torch.zeros_like(tx)
    return value.detach().numpy(), grad.numpy()


def mismatch(run, loss, gradient):
    """None when the run succeeded and matches PyTorch's loss and gradient within TOLERANCE,
    else a message."""
    if run.returncode != 0:
        return f"xent exit {run.returncode}: {run.stderr.strip()}"
    for name, got, expected in (("loss", run.loss, loss), ("gradient", run.gradient, gradient)):
        if got is None:
            return f"no {name} file written"
        if got.dtype != expected.dtype or got.shape != expected.shape:
            return (f"{name} is {got.dtype}{list(got.shape)}, PyTorch's is"
                    f" {expected.dtype}{list(expected.shape)}")
        tol = TOLERANCE[expected.dtype]
        ok, detail = close(got, expected, rtol=tol, atol=tol)
        if not ok:
            return f"{name} (tolerance {tol:g}): {detail}"
    return None


def refusal_problem(run):
    """None when xent refused cleanly: a non-zero exit that is not a crash (no signal, no
    trap), exactly one line on standard error, and no output file; else a message."""
    if run.returncode == 0:
        return "xent succeeded"
    if run.returncode < 0 or run.returncode >= 128:
        return f"xent crashed (exit {run.returncode}): {run.stderr.strip()[-300:]}"
    if run.stderr.count("\n") != 1 or not run.stderr.strip():
        return f"expected one line on standard error, got {run.stderr!r}"
    if run.loss is not None or run.gradient is not None:
        return "an output file was written"
    return None


class Tally:
    """Outcome counts per operation: passed, refused (as PyTorch), unsupported, failed."""

    OUTCOMES = ("passed", "refused", "unsupported", "failed")

    def __init__(self):
        self.counts = defaultdict(lambda: dict.fromkeys(self.OUTCOMES, 0))
        self.reasons = defaultdict(lambda: defaultdict(int))

    def add(self, op, outcome, detail=None, verbose=False):
        self.counts[op][outcome] += 1
        if outcome == "unsupported":
            self.reasons[op][detail] += 1
        if outcome == "failed" or (verbose and detail):
            print(f"{outcome.upper()} {op}: {detail}")

    @property
    def failures(self):
        return sum(c["failed"] for c in self.counts.values())

    def report(self):
        for op, c in self.counts.items():
            print(f"{op}: " + ", ".join(f"{c[k]} {k}" for k in self.OUTCOMES))
            for reason, n in self.reasons[op].items():
                print(f"    unsupported x{n}: {reason}")
