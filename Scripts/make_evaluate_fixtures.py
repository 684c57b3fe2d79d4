#!/usr/bin/env python3
"""Golden cases for `xent evaluate`, computed with PyTorch (Tests/xentTests/EvaluateTests.swift).

Each case is a folder under Tests/xentTests/Fixtures/evaluate/ with the input files, `args.txt`
(the command-line arguments after `xent evaluate`, one per line, file names relative to the
folder), and PyTorch's loss (`expected-loss.npy`) and gradient (`expected-grad.npy`, of the sum
of the losses for reduction none). The torch version is recorded in VERSION.txt.

Run: /tmp/torch/bin/python Scripts/make_evaluate_fixtures.py
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "xentTests", "Fixtures", "evaluate")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
rng = np.random.default_rng(20261129)


def case(name, loss, function, x, y, args=(), weight=None, pos_weight=None, **kwargs):
    folder = os.path.join(OUT, name)
    os.makedirs(folder)
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), y)
    argv = ["--loss", loss, "--input", "x.npy", "--target", "y.npy", *args]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y)
    if ty.dtype in (torch.int32, torch.uint8) and loss in ("cross-entropy", "nll"):
        ty = ty.long()  # PyTorch wants int64 (or uint8); xent also takes int32.
    if weight is not None:
        np.save(os.path.join(folder, "w.npy"), weight)
        argv += ["--weight", "w.npy"]
        kwargs["weight"] = torch.tensor(weight)
    if pos_weight is not None:
        np.save(os.path.join(folder, "pw.npy"), pos_weight)
        argv += ["--pos-weight", "pw.npy"]
        kwargs["pos_weight"] = torch.tensor(pos_weight)
    value = function(tx, ty, **kwargs)
    value.sum().backward()
    np.save(os.path.join(folder, "expected-loss.npy"), value.detach().numpy())
    np.save(os.path.join(folder, "expected-grad.npy"), tx.grad.numpy())
    with open(os.path.join(folder, "args.txt"), "w") as f:
        f.write("\n".join(argv) + "\n")


def labels(shape, classes, ignored=0.0):
    y = rng.integers(0, classes, size=shape)
    y[rng.random(shape) < ignored] = -100
    return y


case("ce-labels-f32", "cross-entropy", F.cross_entropy,
     rng.standard_normal((6, 5)).astype(np.float32), labels((6,), 5),
     ["--label-smoothing", "0.1"], label_smoothing=0.1)
case("ce-axis1-weight-ignore-smoothing-f64", "cross-entropy", F.cross_entropy,
     rng.standard_normal((3, 4, 2, 2)), labels((3, 2, 2), 4, ignored=0.3),
     ["--class-axis", "1", "--label-smoothing", "0.2", "--reduction", "mean"],
     weight=rng.random(4) + 0.5, label_smoothing=0.2)
case("ce-probabilities-none-f32", "cross-entropy", F.cross_entropy,
     rng.standard_normal((4, 3)).astype(np.float32),
     rng.dirichlet(np.ones(3), 4).astype(np.float32),
     ["--reduction", "none", "--label-smoothing", "0.05"], reduction="none", label_smoothing=0.05)
case("ce-int32-sum-ignore-f32", "cross-entropy", F.cross_entropy,
     rng.standard_normal((7, 3)).astype(np.float32), labels((7,), 3).astype(np.int32),
     ["--reduction", "sum", "--ignore-index", "1"], reduction="sum", ignore_index=1)
case("ce-uint8-f16", "cross-entropy", F.cross_entropy,
     rng.standard_normal((5, 4)).astype(np.float16), labels((5,), 4).astype(np.uint8))
case("ce-all-ignored-f32", "cross-entropy", F.cross_entropy,
     rng.standard_normal((3, 4)).astype(np.float32), np.full(3, -100))
case("nll-axis1-weight-sum-f32", "nll", F.nll_loss,
     torch.log_softmax(torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(1)), 1).numpy(),
     labels((4, 5), 3), ["--class-axis", "1", "--reduction", "sum", "--ignore-index", "2"],
     weight=np.array([0.2, 1.0, 3.0], dtype=np.float32), reduction="sum", ignore_index=2)
case("bce-weight-f64", "binary-cross-entropy", F.binary_cross_entropy,
     rng.uniform(0.01, 0.99, (3, 4)), rng.random((3, 4)), weight=rng.random(4))
case("bce-with-logits-weights-none-f32", "binary-cross-entropy-with-logits",
     F.binary_cross_entropy_with_logits,
     (rng.standard_normal((2, 3, 4)) * 3).astype(np.float32),
     (rng.random((2, 3, 4)) > 0.5).astype(np.float32), ["--reduction", "none"],
     weight=rng.random(4).astype(np.float32), pos_weight=(rng.random((3, 1)) * 3).astype(np.float32),
     reduction="none")

with open(os.path.join(OUT, "VERSION.txt"), "w") as f:
    f.write(f"torch {torch.__version__}, numpy {np.__version__}\n")
