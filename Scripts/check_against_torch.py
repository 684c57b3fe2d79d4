#!/usr/bin/env python3
"""Checks `xent evaluate` against PyTorch on random, unseen cases (a development tool).

Usage (from the repository root, after `swift build`):

    $TORCH_PYTHON Scripts/check_against_torch.py [--cases 400] [--seed 1]
        [--xent .build/debug/xent] [--keep failures/] [--verbose] [--mixed-dtypes]

Each case draws a loss (cross-entropy with class indices or probabilities, nll,
binary-cross-entropy, binary-cross-entropy-with-logits), a shape, a dtype (float32, float64),
options (class axis 1 in PyTorch's layout or the classes moved last, weights, ignore index, label
smoothing, reductions, weight and pos_weight broadcasting) and sometimes non-finite values or an
input PyTorch rejects (a label out of range, a weight of the wrong length, a target of another
shape, smoothing above 1, a probability outside [0, 1]). PyTorch computes the loss and input.grad (for reduction none:
loss.sum().backward()). Then `xent evaluate ... --output L.npy --gradient G.npy` must

- where PyTorch succeeds: exit 0 and write L.npy and G.npy in the input's dtype and PyTorch's
  shapes, matching within rtol (2e-5 float32, 1e-10 float64) plus a small absolute tolerance
  scaled by the largest expected magnitude (NaN matches NaN, infinities match exactly);
- where PyTorch raises: exit non-zero with exactly one line on standard error, writing no file.

Every case has its own seed (printed on failure); `--only SEED` replays one, and `--keep DIR`
saves the .npy files and the command of each failure. PyTorch's own OpInfo samples for these
losses are check_evaluate_opinfo.py's. Nothing here runs in `swift test`.
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import torch
import torch.nn.functional as F

from xent_evaluate_check import close

RTOL = {"float32": 2e-5, "float64": 1e-10}
ATOL_SCALE = {"float32": 1e-6, "float64": 1e-13}
NP = {"float32": np.float32, "float64": np.float64}
MIXED_DTYPES = False  # --mixed-dtypes: weights/targets in the other float dtype sometimes


class Case:
    """One generated problem: the loss, the arrays, the options and how to compute it in torch."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.loss = None
        self.arrays = {}  # name -> np.ndarray written as .npy (input, target, weight, pos_weight)
        self.flags = []  # extra CLI flags
        self.torch_fn = None  # () -> (loss tensor, grad ndarray in the CLI's layout)
        self.describe = ""
        self.deviation = None  # why xent rejects a case PyTorch accepts (SEMANTICS.md)


def random_shape(rng, rank, low=1, high=4):
    return tuple(int(rng.integers(low, high + 1)) for _ in range(rank))


def random_logits(rng, shape, dtype, nonfinite=0.0):
    scale = rng.choice([0.5, 3.0, 30.0])
    x = (rng.standard_normal(shape) * scale).astype(NP[dtype])
    if nonfinite and x.size and rng.uniform() < nonfinite:
        flat = x.reshape(-1)
        for _ in range(int(rng.integers(1, 3))):
            flat[rng.integers(0, flat.size)] = rng.choice([np.inf, -np.inf, np.nan, -np.inf])
    return x


def reduction_of(rng):
    return str(rng.choice(["none", "mean", "sum"]))


def run_torch(fn, x_np, reduction, layout_last=False):
    """Runs `fn(x)` with x in PyTorch layout; returns (loss ndarray, grad ndarray in CLI layout)."""
    x = torch.tensor(np.moveaxis(x_np, -1, 1) if layout_last else x_np).requires_grad_(True)
    loss = fn(x)
    (loss.sum() if reduction == "none" else loss).backward()
    grad = x.grad.detach().numpy()
    if layout_last:
        grad = np.moveaxis(grad, 1, -1)
    return loss.detach().numpy(), grad


# ---------------------------------------------------------------------------------------------


def make_cross_entropy(case, dtype):
    rng = case.rng
    rank = int(rng.integers(1, 5))
    classes = int(rng.integers(1, 8))
    shape = (classes,) if rank == 1 else (int(rng.integers(0 if rng.uniform() < 0.03 else 1, 5)),
                                          classes) + random_shape(rng, rank - 2)
    reduction = reduction_of(rng)
    probability_targets = rng.uniform() < 0.3
    smoothing = float(rng.choice([0.0, 0.0, 1.0, rng.uniform(0, 1), 0.1]))
    x = random_logits(rng, shape, dtype, nonfinite=0.08)
    label_shape = shape[1:] if rank == 1 else (shape[0],) + shape[2:]
    if rank == 1:
        label_shape = ()
    weight = rng.uniform(0.1, 2.0, classes).astype(NP[dtype]) if rng.uniform() < 0.5 else None
    if weight is not None and rng.uniform() < 0.2:
        weight[rng.uniform(size=classes) < 0.5] = 0  # zero weights (a zero denominator: NaN)
    ignore_index = -100
    layout_last = rank >= 3 and rng.uniform() < 0.3
    class_axis = -1 if layout_last else (0 if rank == 1 else int(rng.choice([1, 1, 1 - rank])))
    if rank == 2 and not layout_last and rng.uniform() < 0.3:
        class_axis = -1
    if probability_targets:
        t = rng.uniform(0, 1, shape)
        if rng.uniform() < 0.7:
            t = t / t.sum(axis=1 if rank > 1 else 0, keepdims=True)
        target = t.astype(NP[dtype])
        if rng.uniform() < 0.1:
            ignore_index = int(rng.integers(0, classes))  # PyTorch rejects this
    else:
        choice = rng.uniform()
        if choice < 0.3:
            ignore_index = int(rng.integers(0, classes))
        elif choice < 0.4:
            ignore_index = int(rng.integers(-5, 0))
        labels = rng.integers(0, classes, label_shape)
        mask = rng.uniform(size=label_shape) < 0.25
        labels = np.where(mask, ignore_index, labels)
        if rng.uniform() < 0.08:  # out of range: PyTorch raises
            flat = labels.reshape(-1)
            if flat.size:
                flat[rng.integers(0, flat.size)] = int(rng.choice([classes, classes + 3, -1, -7]))
        target_dtype = rng.choice(["int64", "int32", "uint8"], p=[0.6, 0.3, 0.1])
        if target_dtype == "uint8" and (labels.min(initial=0) < 0 or ignore_index < 0):
            target_dtype = "int64"
        target = np.asarray(labels).astype(target_dtype)
    if rng.uniform() < 0.04:
        smoothing = float(rng.choice([1.5, -0.2]))  # PyTorch raises for > 1 (and ignores < 0)
    if rng.uniform() < 0.04 and weight is not None:
        weight = np.append(weight, NP[dtype](1))  # wrong count
    if rng.uniform() < 0.04 and rank >= 2:
        target = target[:-1] if target.ndim else target  # wrong target shape

    other = "float64" if dtype == "float32" else "float32"
    if MIXED_DTYPES and rng.uniform() < 0.03 and weight is not None:
        weight = weight.astype(NP[other])  # PyTorch raises: the weight's dtype must match
    if MIXED_DTYPES and rng.uniform() < 0.05 and probability_targets:
        target = target.astype(NP[other])  # PyTorch promotes
    if rng.uniform() < 0.04 and weight is not None and classes > 1:
        weight = weight[:-1]  # one short
    x_cli = np.moveaxis(x, 1, -1) if layout_last else x
    target_cli = target
    if layout_last and probability_targets:
        target_cli = np.moveaxis(target, 1, -1)
    case.loss = "cross-entropy"
    case.arrays = {"input": x_cli, "target": target_cli}
    if weight is not None:
        case.arrays["weight"] = weight
    case.flags = ["--reduction", reduction, "--class-axis", str(class_axis)]
    if ignore_index != -100 or rng.uniform() < 0.2:
        case.flags += ["--ignore-index", str(ignore_index)]
    if smoothing != 0.0 or rng.uniform() < 0.2:
        case.flags += ["--label-smoothing", repr(smoothing)]
    if smoothing < 0:
        case.deviation = "negative label smoothing is rejected (PyTorch treats it as 0)"
    case.describe = (f"cross-entropy {dtype} shape={shape} layout={'last' if layout_last else 'axis1'}"
                     f" target={'probabilities' if probability_targets else target.dtype}"
                     f" weight={weight is not None} ignore={ignore_index} smoothing={smoothing}"
                     f" {reduction}")

    def torch_fn():
        t = torch.tensor(target) if probability_targets else torch.tensor(
            np.asarray(target).astype(np.int64))
        w = None if weight is None else torch.tensor(weight)
        return run_torch(lambda xt: F.cross_entropy(
            xt, t, weight=w, ignore_index=ignore_index, reduction=reduction,
            label_smoothing=smoothing), x_cli, reduction, layout_last)
    case.torch_fn = torch_fn


def make_nll(case, dtype):
    rng = case.rng
    rank = int(rng.integers(1, 5))
    classes = int(rng.integers(1, 7))
    shape = (classes,) if rank == 1 else (int(rng.integers(1, 5)), classes) + random_shape(
        rng, rank - 2)
    reduction = reduction_of(rng)
    x = random_logits(rng, shape, "float64", nonfinite=0.05)
    if rng.uniform() < 0.7:
        x = torch.log_softmax(torch.tensor(x), dim=0 if rank == 1 else 1).numpy()
    x = x.astype(NP[dtype])
    label_shape = () if rank == 1 else (shape[0],) + shape[2:]
    ignore_index = int(rng.integers(0, classes)) if rng.uniform() < 0.3 else -100
    labels = np.where(rng.uniform(size=label_shape) < 0.25, ignore_index,
                      rng.integers(0, classes, label_shape))
    if rng.uniform() < 0.08:
        flat = np.asarray(labels).reshape(-1)
        labels = flat.copy()
        labels[rng.integers(0, flat.size)] = classes + 1
        labels = labels.reshape(label_shape)
    target = np.asarray(labels).astype(rng.choice(["int64", "int32"]))
    if rng.uniform() < 0.04:
        target = target.astype(NP[dtype])  # a float target: PyTorch raises
    weight = rng.uniform(0.1, 2, classes).astype(NP[dtype]) if rng.uniform() < 0.5 else None
    if weight is not None and rng.uniform() < 0.2:
        weight[rng.uniform(size=classes) < 0.5] = rng.choice([0.0, -1.5])  # PyTorch allows both
    if rng.uniform() < 0.04 and weight is not None:
        weight = weight[:-1] if classes > 1 else np.append(weight, weight)  # wrong count
    case.loss = "nll"
    case.arrays = {"input": x, "target": target}
    if weight is not None:
        case.arrays["weight"] = weight
    class_axis = 0 if rank == 1 else 1
    case.flags = ["--reduction", reduction, "--class-axis", str(class_axis)]
    if ignore_index != -100:
        case.flags += ["--ignore-index", str(ignore_index)]
    case.describe = (f"nll {dtype} shape={shape} target={target.dtype} weight={weight is not None}"
                     f" ignore={ignore_index} {reduction}")

    def torch_fn():
        # The CLI takes int32 targets too; PyTorch wants int64 (a float target stays float).
        integral = np.issubdtype(target.dtype, np.integer)
        t = torch.tensor(target.astype(np.int64) if integral else target)
        w = None if weight is None else torch.tensor(weight)
        return run_torch(lambda xt: F.nll_loss(
            xt, t, weight=w, ignore_index=ignore_index, reduction=reduction), x, reduction)
    case.torch_fn = torch_fn


def broadcast_shape(rng, shape):
    """A shape that broadcasts to `shape` (right-aligned), or occasionally one that does not."""
    choice = rng.uniform()
    if choice < 0.06 and len(shape) >= 2 and shape[1] != shape[-1] and shape[1] > 1:
        return (shape[1],)  # the per-class trap: PyTorch raises (#27936)
    if choice < 0.12 and len(shape) >= 2:
        return (shape[1],) + (1,) * (len(shape) - 2)  # [C, 1, ...]
    kept = int(rng.integers(0, len(shape) + 1))
    return tuple(s if rng.uniform() < 0.5 else 1 for s in shape[len(shape) - kept:])


def make_bce(case, dtype, logits):
    rng = case.rng
    rank = int(rng.integers(0, 5))
    shape = random_shape(rng, rank, low=0 if rng.uniform() < 0.03 else 1)
    reduction = reduction_of(rng)
    if logits:
        x = random_logits(rng, shape, dtype, nonfinite=0.05)
        if rng.uniform() < 0.15 and x.size:
            x.reshape(-1)[rng.integers(0, x.size)] = NP[dtype](rng.choice([1e30, -1e30, 80, -80]))
    else:
        x = rng.uniform(0, 1, shape).astype(NP[dtype])
        if rng.uniform() < 0.3 and x.size:
            x.reshape(-1)[rng.integers(0, x.size)] = rng.choice([0.0, 1.0])
        if rng.uniform() < 0.05 and x.size:
            x.reshape(-1)[rng.integers(0, x.size)] = rng.choice([1.5, -0.1, np.nan])
    t = rng.uniform(0, 1, shape)
    if rng.uniform() < 0.5:
        t = np.round(t)
    if rng.uniform() < 0.04 and t.size:
        t.reshape(-1)[rng.integers(0, t.size)] = 1.5  # rejected on probabilities only
    t = np.asarray(t).astype(NP[dtype])
    if rng.uniform() < 0.03 and rank >= 1:
        t = t[..., :-1] if shape[-1] > 1 else np.concatenate([t, t], axis=-1)  # shape mismatch
    weight = rng.uniform(0.1, 2, broadcast_shape(rng, shape)).astype(NP[dtype]) \
        if rng.uniform() < 0.5 else None
    pos = None
    if logits and rng.uniform() < 0.5:
        pos = rng.uniform(0.0 if rng.uniform() < 0.2 else 0.1, 4,
                          broadcast_shape(rng, shape)).astype(NP[dtype])
    other = "float64" if dtype == "float32" else "float32"
    mutation = rng.uniform() if MIXED_DTYPES else 1.0
    if mutation < 0.03:
        t = t.astype(NP[other])  # BCE raises, BCE with logits promotes
    elif mutation < 0.05:
        t = t.astype(np.int64)  # PyTorch raises
    elif mutation < 0.08 and weight is not None:
        weight = weight.astype(NP[other])
    elif mutation < 0.10 and pos is not None:
        pos = pos.astype(NP[other])
    if rng.uniform() < 0.03 and rank >= 2:
        t = t[0]  # a target without the leading axis (it would broadcast; PyTorch raises)
    if rng.uniform() < 0.03 and weight is not None:
        # A weight with an extra leading axis: PyTorch broadcasts the loss to its shape.
        weight = rng.uniform(0.1, 2, (7,) + weight.shape).astype(weight.dtype)
    case.loss = "binary-cross-entropy-with-logits" if logits else "binary-cross-entropy"
    case.arrays = {"input": x, "target": t}
    if weight is not None:
        case.arrays["weight"] = weight
    if pos is not None:
        case.arrays["pos_weight"] = pos
    case.flags = ["--reduction", reduction]
    case.describe = (f"{case.loss} {dtype} shape={shape} target={t.shape}"
                     f" weight={None if weight is None else weight.shape}"
                     f" pos_weight={None if pos is None else pos.shape} {reduction}")

    def torch_fn():
        w = None if weight is None else torch.tensor(weight)
        if logits:
            p = None if pos is None else torch.tensor(pos)
            return run_torch(lambda xt: F.binary_cross_entropy_with_logits(
                xt, torch.tensor(t), weight=w, pos_weight=p, reduction=reduction), x, reduction)
        return run_torch(lambda xt: F.binary_cross_entropy(
            xt, torch.tensor(t), weight=w, reduction=reduction), x, reduction)
    case.torch_fn = torch_fn


def make_case(seed):
    case = Case(seed)
    rng = case.rng
    dtype = str(rng.choice(["float32", "float64"]))
    kind = rng.choice(["ce", "ce", "ce", "nll", "bce", "bcel", "bcel"])
    if kind == "ce":
        make_cross_entropy(case, dtype)
    elif kind == "nll":
        make_nll(case, dtype)
    else:
        make_bce(case, dtype, logits=(kind == "bcel"))
    case.dtype = dtype
    return case


# ---------------------------------------------------------------------------------------------


def run_case(case, xent, workdir, keep):
    paths = {}
    for name, array in case.arrays.items():
        path = os.path.join(workdir, f"{name}.npy")
        np.save(path, array)
        paths[name] = path
    out, grad = os.path.join(workdir, "L.npy"), os.path.join(workdir, "G.npy")
    for p in (out, grad):
        if os.path.exists(p):
            os.remove(p)
    command = [xent, "evaluate", "--loss", case.loss, "--input", paths["input"],
               "--target", paths["target"]]
    if "weight" in paths:
        command += ["--weight", paths["weight"]]
    if "pos_weight" in paths:
        command += ["--pos-weight", paths["pos_weight"]]
    command += case.flags + ["--output", out, "--gradient", grad]

    try:
        with np.errstate(all="ignore"):
            expected_loss, expected_grad = case.torch_fn()
        torch_error = None
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        torch_error = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    if torch_error is None and case.deviation:
        # A documented deviation (SEMANTICS.md): xent rejects what PyTorch silently accepts.
        torch_error = f"(not PyTorch) {case.deviation}"

    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    stderr_lines = [line for line in result.stderr.splitlines() if line.strip()]
    problems = []
    if torch_error is not None:
        if result.returncode == 0:
            problems.append(f"PyTorch raises ({torch_error}) but xent exits 0")
        if len(stderr_lines) != 1:
            problems.append(f"xent wrote {len(stderr_lines)} stderr lines: {result.stderr!r}")
        for p in (out, grad):
            if os.path.exists(p):
                problems.append(f"xent wrote {os.path.basename(p)} despite the error")
        outcome = "rejected"
    else:
        if result.returncode != 0:
            problems.append(f"xent exits {result.returncode} where PyTorch succeeds:"
                            f" {result.stderr.strip()}")
        else:
            for label, path, expected in (("loss", out, expected_loss),
                                          ("gradient", grad, expected_grad)):
                if not os.path.exists(path):
                    problems.append(f"no {label} file")
                    continue
                actual = np.load(path)
                if actual.dtype != np.dtype(case.dtype):
                    problems.append(f"{label} dtype {actual.dtype}, expected {case.dtype}")
                ok, detail = close(actual, expected, RTOL[case.dtype],
                                   atol_scale=ATOL_SCALE[case.dtype])
                if not ok:
                    problems.append(f"{label}: {detail}")
        outcome = "computed"
    if problems and keep:
        directory = os.path.join(keep, f"seed-{case.seed}")
        os.makedirs(directory, exist_ok=True)
        for name, array in case.arrays.items():
            np.save(os.path.join(directory, f"{name}.npy"), array)
        with open(os.path.join(directory, "command.sh"), "w") as f:
            f.write(" ".join(shlex.quote(c.replace(workdir, directory)) for c in command) + "\n")
    return outcome, problems, command, torch_error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1, help="first case seed")
    parser.add_argument("--only", type=int, help="replay this one case seed")
    parser.add_argument("--xent", default=os.path.join(".build", "debug", "xent"))
    parser.add_argument("--keep", help="save each failing case's .npy files and command here")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--mixed-dtypes", action="store_true",
                        help="also give weights and targets the other float dtype sometimes")
    args = parser.parse_args()
    global MIXED_DTYPES
    MIXED_DTYPES = args.mixed_dtypes
    torch.set_num_threads(1)
    seeds = [args.only] if args.only is not None else range(args.seed, args.seed + args.cases)
    cases = (make_case(s) for s in seeds)
    counts = {"computed": [0, 0], "rejected": [0, 0]}
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            seed = case.seed
            try:
                outcome, problems, command, torch_error = run_case(
                    case, args.xent, workdir, args.keep)
            except Exception:  # a bug in this script: report it as a failure of the case
                outcome, problems, command, torch_error = (
                    "computed", [traceback.format_exc()], [], None)
            counts[outcome][0] += 1
            if problems:
                counts[outcome][1] += 1
                failures.append((case, problems))
                print(f"FAIL seed {seed}: {case.describe}")
                for p in problems:
                    print(f"    {p}")
                if torch_error:
                    print(f"    (PyTorch: {torch_error})")
            elif args.verbose:
                print(f"ok   seed {seed}: {case.describe} [{outcome}]")
    total = sum(c[0] for c in counts.values())
    failed = sum(c[1] for c in counts.values())
    print(f"\n{total - failed}/{total} cases pass"
          f" ({counts['computed'][0] - counts['computed'][1]}/{counts['computed'][0]} computed,"
          f" {counts['rejected'][0] - counts['rejected'][1]}/{counts['rejected'][0]} rejected"
          f" by PyTorch); rtol float32 {RTOL['float32']}, float64 {RTOL['float64']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
