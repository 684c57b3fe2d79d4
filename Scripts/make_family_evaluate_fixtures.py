#!/usr/bin/env python3
"""Golden cases for `xent evaluate` with the wider family (kl-div, mse, multi-margin, focal).

Same layout as Scripts/make_evaluate_fixtures.py (a folder per case with the .npy inputs,
`args.txt`, `expected-loss.npy`, `expected-grad.npy`), written to
Tests/xentTests/Fixtures/evaluate-family/ and checked by Tests/xentTests/FamilyEvaluateTests.swift.
The shapes follow PyTorch's OpInfo samples for kl_div, mse_loss and multi_margin_loss (S = 5,
M = 10); focal uses torchvision's sigmoid_focal_loss formula written out in torch.

Run: /tmp/torch/bin/python Scripts/make_family_evaluate_fixtures.py
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "xentTests", "Fixtures",
                   "evaluate-family")
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
rng = np.random.default_rng(5)
S, M = 5, 10


def case(name, loss, function, x, y, args=(), weight=None, **kwargs):
    folder = os.path.join(OUT, name)
    os.makedirs(folder)
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), y)
    argv = ["--loss", loss, "--input", "x.npy", "--target", "y.npy", *args]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y)
    if weight is not None:
        np.save(os.path.join(folder, "w.npy"), weight)
        argv += ["--weight", "w.npy"]
        kwargs["weight"] = torch.tensor(weight)
    value = function(tx, ty, **kwargs)
    value.sum().backward()
    np.save(os.path.join(folder, "expected-loss.npy"), value.detach().numpy())
    np.save(os.path.join(folder, "expected-grad.npy"), tx.grad.numpy())
    with open(os.path.join(folder, "args.txt"), "w") as f:
        f.write("\n".join(argv) + "\n")


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    # torchvision.ops.sigmoid_focal_loss
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def log_softmax(shape, dtype):
    return torch.log_softmax(torch.tensor(rng.random(shape) * 9), -1).numpy().astype(dtype)


def softmax(shape, dtype):
    return torch.softmax(torch.tensor(rng.random(shape) * 9), -1).numpy().astype(dtype)


# kl_div: OpInfo shapes (2,), (2, 3) with every reduction and log_target; plus 3-d.
for shape in ((2,), (2, 3), (3, 4, 5)):
    for reduction in ("none", "mean", "batchmean", "sum"):
        for log_target in (False, True):
            dtype = np.float64 if len(shape) == 2 else np.float32
            x = log_softmax(shape, dtype)
            y = log_softmax(shape, dtype) if log_target else softmax(shape, dtype)
            args = ["--reduction", reduction] + (["--log-target"] if log_target else [])
            tag = "f64" if dtype == np.float64 else "f32"
            case(f"kl-div-{len(shape)}d-{reduction}{'-log' if log_target else ''}-{tag}",
                 "kl-div", F.kl_div, x, y, args, reduction=reduction, log_target=log_target)

# mse_loss: OpInfo sample_inputs_loss.
for shape, reduction in (((), "mean"), ((S,), "mean"), ((S,), "sum"), ((S,), "none"),
                         ((S, S), "mean"), ((S, 1), "mean"), ((S, S, S), "mean")):
    for dtype, tag in ((np.float32, "f32"), (np.float64, "f64")):
        case(f"mse-{'x'.join(map(str, shape)) or 'scalar'}-{reduction}-{tag}", "mse", F.mse_loss,
             rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype),
             ["--reduction", reduction], reduction=reduction)

# Broadcast shapes (PyTorch warns, then broadcasts).
case("mse-broadcast-f64", "mse", F.mse_loss, rng.standard_normal((S, 1)),
     rng.standard_normal((2, 1, 3)), ["--reduction", "none"], reduction="none")
case("kl-div-broadcast-batchmean-f32", "kl-div", F.kl_div, log_softmax((4, 3), np.float32),
     softmax((3,), np.float32), ["--reduction", "batchmean"], reduction="batchmean")

# multi_margin_loss: OpInfo sample_inputs_multi_margin_loss.
specs = [
    ("scalar", (), np.array(0), {}),
    ("vector-p1", (S,), np.array(rng.integers(0, S)), {"p": 1}),
    ("vector1-p2", (S,), rng.integers(0, S, (1,)), {"p": 2}),
    ("margin1", (S, M), rng.integers(0, M, (S,)), {"margin": 1.0}),
    ("margin-neg", (S, M), rng.integers(0, M, (S,)), {"margin": -3.14}),
    ("weight", (M, S), rng.integers(0, S, (M,)), {"weight": True}),
    ("none", (M, S), rng.integers(0, S, (M,)), {"reduction": "none"}),
    ("mean", (M, S), rng.integers(0, S, (M,)), {"reduction": "mean"}),
    ("sum-p2-weight", (M, S), rng.integers(0, S, (M,)), {"reduction": "sum", "p": 2,
                                                         "weight": True}),
]
for name, shape, y, opts in specs:
    for dtype, tag in ((np.float32, "f32"), (np.float64, "f64")):
        args, kwargs = [], {}
        for key in ("p", "margin", "reduction"):
            if key in opts:
                args += [f"--{key}", str(opts[key])]
                kwargs[key] = opts[key]
        weight = (rng.uniform(-10, 10, shape[-1]).astype(dtype) if opts.get("weight") else None)
        case(f"multi-margin-{name}-{tag}", "multi-margin", F.multi_margin_loss,
             rng.standard_normal(shape).astype(dtype), y.astype(np.int64), args, weight=weight,
             **kwargs)

# sigmoid focal: torchvision's formula, its defaults and others.
for shape, alpha, gamma, reduction in (((4, 6), None, None, "mean"), ((8,), 0.5, 1.0, "sum"),
                                       ((2, 3, 4), -1.0, 2.0, "none"),
                                       ((5, 5), 0.9, 0.0, "mean"), ((3, 7), 0.25, 3.5, "none")):
    for dtype, tag in ((np.float32, "f32"), (np.float64, "f64")):
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        y = (rng.random(shape) > 0.7).astype(dtype)
        args = ["--reduction", reduction]
        kwargs = {"reduction": reduction}
        if alpha is not None:
            args += ["--alpha", str(alpha)]
            kwargs["alpha"] = alpha
        if gamma is not None:
            args += ["--gamma", str(gamma)]
            kwargs["gamma"] = gamma
        case(f"focal-{len(shape)}d-{reduction}-a{alpha}-g{gamma}-{tag}", "focal",
             sigmoid_focal_loss, x, y, args, **kwargs)



def softmax_focal_loss(logits, labels, weight=None, gamma=2.0, ignore_index=-100,
                       reduction="mean", class_axis=-1):
    # -alpha[y] (1 - p_y)^gamma log p_y; mean over non-ignored rows (as make_loss_fixtures.py).
    x = logits.movedim(class_axis, -1)
    c = x.shape[-1]
    x = x.reshape(-1, c)
    y = labels.reshape(-1).long()
    keep = y != ignore_index
    logp = F.log_softmax(x, -1)
    ce = F.nll_loss(logp, y, weight=weight, reduction="none", ignore_index=ignore_index)
    pt = logp.gather(1, torch.where(keep, y, 0)[:, None])[:, 0].exp()
    loss = torch.where(keep, (1 - pt) ** gamma * ce, torch.zeros_like(ce))
    if reduction == "none":
        return loss.reshape(labels.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum()


for name, shape, axis, gamma, reduction, with_weight in (
        ("defaults", (6, 4), -1, None, "mean", False),
        ("axis1-alpha-ignore", (3, 4, 5), 1, 1.5, "mean", True),
        ("none-g0", (5, 3), -1, 0.0, "none", False),
        ("sum-alpha", (7, 6), -1, 3.0, "sum", True)):
    for dtype, tag in ((np.float32, "f32"), (np.float64, "f64")):
        x = (rng.standard_normal(shape) * 2).astype(dtype)
        label_shape = list(shape)
        del label_shape[axis]
        y = rng.integers(0, shape[axis], label_shape)
        y.reshape(-1)[::4] = -100
        args = ["--reduction", reduction, "--class-axis", str(axis)]
        kwargs = {"reduction": reduction, "class_axis": axis}
        if gamma is not None:
            args += ["--gamma", str(gamma)]
            kwargs["gamma"] = gamma
        weight = rng.random(shape[axis]).astype(dtype) + 0.1 if with_weight else None
        case(f"softmax-focal-{name}-{tag}", "softmax-focal", softmax_focal_loss, x, y, args,
             weight=weight, **kwargs)

with open(os.path.join(OUT, "VERSION.txt"), "w") as f:
    f.write(f"torch {torch.__version__}, numpy {np.__version__}\n")
