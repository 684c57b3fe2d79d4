#!/usr/bin/env python3
"""Checks `xent evaluate --loss focal` against torchvision.ops.sigmoid_focal_loss on seeded
random cases, loss and gradient (autograd through torchvision's formula), float32 and float64.

  swift build -c release --product xent
  $TORCH_PYTHON -m pip install torchvision   # 0.29.2 leaves torch 2.15.0 as it is
  $TORCH_PYTHON Scripts/check_evaluate_focal.py --xent .build/release/xent \
      [--repeat 2] [--seed 0] [--verbose]

Every combination of dtype (float32, float64), reduction (none, sum, mean), alpha (0.25, -1,
0.7), gamma (0, 1, 2, 3, 1.5, 2.5) and target kind (hard 0/1, soft in [0, 1]) runs `--repeat`
times on a random 1-D to 4-D shape, with standard-normal logits times 4 of which about a quarter
are replaced by +-30 or +-100. The results must match within the tolerances of
xent_evaluate_check.py (2e-5 float32, 1e-10 float64, relative and absolute).

Then inputs torchvision refuses (a target of another shape, an unknown reduction) must be refused
by xent with a non-zero exit, one line on standard error and no output file. torchvision 0.29
also refuses an alpha outside [0, 1] other than -1. xent refuses an alpha above 1 too (checked as
refusals) but takes any negative alpha as "disabled" (as earlier torchvision did): those cases
are compared with torchvision's loss with alpha -1 and counted on a line of their own.
"""
import argparse
import itertools
import sys
import tempfile

import numpy as np
import torch
import torchvision
from torchvision.ops import sigmoid_focal_loss

from xent_evaluate_check import Tally, Xent, mismatch, refusal_problem, torch_loss_and_gradient

parser = argparse.ArgumentParser()
parser.add_argument("--xent", default=".build/release/xent")
parser.add_argument("--repeat", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--verbose", action="store_true")
args = parser.parse_args()
rng = np.random.default_rng(args.seed)
OP = "sigmoid_focal_loss"


def random_case(dtype, hard):
    shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 5))))
    x = rng.standard_normal(shape) * 4
    extreme = rng.random(shape) < 0.25
    x[extreme] = rng.choice([-100.0, -30.0, 30.0, 100.0], size=int(extreme.sum()))
    y = rng.integers(0, 2, size=shape).astype(np.float64) if hard else rng.random(shape)
    return x.astype(dtype), y.astype(dtype)


def flags(reduction, alpha, gamma):
    return ["--reduction", reduction, "--alpha", str(alpha), "--gamma", str(gamma)]


tally = Tally()
with tempfile.TemporaryDirectory() as folder:
    xent = Xent(args.xent, folder)
    grid = itertools.product((np.float32, np.float64), ("none", "sum", "mean"),
                             (0.25, -1, 0.7), (0, 1, 2, 3, 1.5, 2.5), (True, False))
    for (dtype, reduction, alpha, gamma, hard), _ in itertools.product(grid, range(args.repeat)):
        x, y = random_case(dtype, hard)
        expected = torch_loss_and_gradient(sigmoid_focal_loss, torch.from_numpy(x),
                                           torch.from_numpy(y), alpha=alpha, gamma=gamma,
                                           reduction=reduction)
        run = xent.evaluate("focal", x, y, flags(reduction, alpha, gamma))
        problem = mismatch(run, *expected)
        if problem:
            tally.add(OP, "failed", f"{problem}\n    {run.describe()}\n    x {x.ravel()[:8]}"
                      f"\n    y {y.ravel()[:8]}")
        else:
            tally.add(OP, "passed")

    x, y = random_case(np.float32, False)
    refused = [("a target of another shape", x, y.ravel()[:-1], flags("mean", 0.25, 2)),
               ("reduction batchmean", x, y, flags("batchmean", 0.25, 2)),
               ("reduction abc", x, y, flags("abc", 0.25, 2))]
    for what, xs, ys, options in refused:
        try:
            sigmoid_focal_loss(torch.from_numpy(xs), torch.from_numpy(ys),
                               reduction=options[1])
            tally.add(OP, "failed", f"{what}: torchvision accepts it; fix this script")
            continue
        except (ValueError, RuntimeError):
            pass
        run = xent.evaluate("focal", xs, ys, options)
        problem = refusal_problem(run)
        tally.add(OP, "failed" if problem else "refused",
                  f"{what}: {problem or run.stderr.strip()}", args.verbose)

    # torchvision 0.29 refuses these alphas. xent refuses an alpha above 1 too, but takes any
    # negative alpha as "disabled" (as earlier torchvision did): compare those with
    # torchvision's unweighted loss (alpha -1).
    beyond = OP + " (alpha beyond torchvision 0.29's range)"
    for alpha, dtype, reduction in itertools.product((1.5, -0.5, 2.0), (np.float32, np.float64),
                                                     ("none", "sum")):
        x, y = random_case(dtype, False)
        try:
            sigmoid_focal_loss(torch.from_numpy(x), torch.from_numpy(y), alpha=alpha)
            tally.add(beyond, "failed", f"alpha {alpha}: torchvision accepts it; fix this script")
            continue
        except ValueError:
            pass
        run = xent.evaluate("focal", x, y, flags(reduction, alpha, 2))
        if alpha > 1:
            problem = refusal_problem(run)
            tally.add(beyond, "failed" if problem else "refused",
                      f"alpha {alpha}: {problem or run.stderr.strip()}", args.verbose)
            continue

        def formula(xs, ys):
            loss = sigmoid_focal_loss(xs, ys, alpha=-1, gamma=2, reduction="none")
            return loss if reduction == "none" else loss.sum()

        expected = torch_loss_and_gradient(formula, torch.from_numpy(x), torch.from_numpy(y))
        problem = mismatch(run, *expected)
        tally.add(beyond, "failed" if problem else "passed", problem and f"alpha {alpha}: {problem}")
tally.report()
print(f"{tally.failures} failures; torch {torch.__version__}, torchvision"
      f" {torchvision.__version__}, xent {args.xent}")
sys.exit(1 if tally.failures else 0)
