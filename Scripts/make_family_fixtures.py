#!/usr/bin/env python3
"""Golden values for the wider loss family, from PyTorch.

Writes Tests/CrossEntropyTests/Fixtures/family/<family>.json. Each case holds its inputs (drawn
in float32, so they are exact in both precisions), its options, and PyTorch's loss and gradient
computed once in float64 and once in float32.

    /tmp/torch/bin/python Scripts/make_family_fixtures.py

Sources of truth:
- kl_div, mse_loss, multi_margin_loss, cross_entropy: torch.nn.functional.
- sigmoid focal loss: torchvision.ops.sigmoid_focal_loss's formula, written out below in torch
  (torchvision is not installed next to this torch); it is the function's whole body.
- softmax focal loss: the common PyTorch formulation (nll_loss with weight=alpha and
  reduction="none", times (1 - p_y)^gamma, mean over non-ignored rows).
- z-loss and soft-capping: Liger-Kernel's semantics written out in torch (autograd for the
  gradient): per non-ignored row s * lse^2, mean over the non-ignored count.
- distillation: F.kl_div(log_softmax(s/T), softmax(t/T), reduction="sum") * T^2 and
  F.cross_entropy, both over non-ignored rows.
- contrastive: F.cross_entropy over similarity / temperature (InfoNCE) and open_clip's ClipLoss.
Non-finite numbers are written as the strings "nan", "inf", "-inf".
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "CrossEntropyTests", "Fixtures", "family")


def number(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def tensor(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [number(v) for v in t.reshape(-1).tolist()]}


def ints(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


def run(fn, inputs, grads):
    """Evaluates fn in float64 and float32; `grads` names the inputs to differentiate."""
    result = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        args = {}
        for k, v in inputs.items():
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                v = v.to(dtype).clone().requires_grad_(k in grads)
            args[k] = v
        loss = fn(**args)
        entry = {"loss": tensor(loss)}
        if grads:
            gs = torch.autograd.grad(loss.sum(), [args[k] for k in grads], allow_unused=True)
            for k, g in zip(grads, gs):
                entry["gradient" if k == grads[0] else k + "Gradient"] = tensor(
                    g if g is not None else torch.zeros_like(args[k]))
        result[name] = entry
    return result


def encode_inputs(inputs):
    out = {}
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor):
            out[k] = tensor(v) if v.is_floating_point() else ints(v)
        else:
            out[k] = v
    return out


def case(name, fn, inputs, grads, options):
    c = {"name": name, "options": options, "inputs": encode_inputs(inputs)}
    c.update(run(fn, inputs, grads))
    return c


g = torch.Generator().manual_seed(20261129)


def f32(t):
    """Rounds to float32 and back, so the value is exact in both precisions."""
    return t.float().double()


def randn(*shape, scale=1.0):
    return f32(torch.randn(tuple(shape), generator=g, dtype=torch.float64) * scale)


def rand(*shape):
    return f32(torch.rand(tuple(shape), generator=g, dtype=torch.float64))


def labels(n, c, ignore=None):
    y = torch.randint(0, c, (n,), generator=g)
    if ignore is not None:
        y[::3] = ignore
    return y


def write(family, cases):
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "generator": "Scripts/make_family_fixtures.py",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "cases": cases,
    }
    with open(os.path.join(OUT, family + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


# ---------------------------------------------------------------- KL divergence
def kl_cases():
    cases = []
    shapes = [(), (2,), (2, 3), (4, 5), (3, 4, 2)]
    for shape in shapes:
        for reduction in ("none", "mean", "sum", "batchmean"):
            for log_target in (False, True):
                x = f32(F.log_softmax(randn(*shape), -1)) if shape else -rand()
                if log_target:
                    t = f32(F.log_softmax(randn(*shape), -1)) if shape else -rand()
                else:
                    t = f32(F.softmax(randn(*shape), -1)) if shape else rand()
                    if len(shape) >= 2:
                        t[0, 0] = 0.0  # xlogy(0, 0) = 0
                cases.append(case(
                    f"kl shape={list(shape)} {reduction} log_target={log_target}",
                    lambda input, target, r=reduction, lt=log_target: F.kl_div(
                        input, target, reduction=r, log_target=lt),
                    {"input": x, "target": t}, ["input"],
                    {"reduction": reduction, "logTarget": log_target}))
    return cases


# ---------------------------------------------------------------- MSE
def mse_cases():
    cases = []
    for shape in [(), (5,), (5, 5), (3, 4, 2), (0,)]:
        for reduction in ("none", "mean", "sum"):
            if shape == (0,) and reduction != "mean":
                continue
            cases.append(case(
                f"mse shape={list(shape)} {reduction}",
                lambda input, target, r=reduction: F.mse_loss(input, target, reduction=r),
                {"input": randn(*shape), "target": randn(*shape)}, ["input"],
                {"reduction": reduction}))
    return cases


# ---------------------------------------------------------------- multi-margin
def multi_margin_cases():
    cases = []
    specs = [
        ((), torch.tensor(0), {}),
        ((5,), torch.tensor(3), {"p": 1}),
        ((5,), torch.tensor([2]), {"p": 2}),
        ((5, 7), labels(5, 7), {"margin": 1.0}),
        ((5, 7), labels(5, 7), {"margin": -3.14}),
        ((7, 5), labels(7, 5), {"weight": True}),
        ((7, 5), labels(7, 5), {"weight": True, "p": 2, "margin": 0.5}),
        ((7, 5), labels(7, 5), {"reduction": "none"}),
        ((7, 5), labels(7, 5), {"reduction": "sum", "p": 2}),
        ((5,), torch.tensor([4]), {"reduction": "none"}),
        ((5,), torch.tensor(1), {"reduction": "none", "p": 2}),
        ((1, 6), torch.tensor(2), {"reduction": "none"}),
    ]
    for shape, y, opts in specs:
        p = opts.get("p", 1)
        margin = opts.get("margin", 1.0)
        reduction = opts.get("reduction", "mean")
        inputs = {"input": randn(*shape), "target": y}
        if opts.get("weight"):
            inputs["weight"] = f32(rand(shape[-1]) * 20 - 10)

        def fn(input, target, weight=None, p=p, margin=margin, reduction=reduction):
            return F.multi_margin_loss(input, target, p=p, margin=margin, weight=weight,
                                       reduction=reduction)

        cases.append(case(
            f"multi-margin shape={list(shape)} {opts}", fn, inputs, ["input"],
            {"p": p, "margin": margin, "reduction": reduction}))
    return cases


# ---------------------------------------------------------------- focal
def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    # torchvision.ops.sigmoid_focal_loss, verbatim semantics.
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


def softmax_focal_loss(logits, labels, alpha=None, gamma=2.0, ignore_index=-100,
                       reduction="mean", class_axis=-1):
    x = logits.movedim(class_axis, -1)
    c = x.shape[-1]
    x = x.reshape(-1, c)
    y = labels.reshape(-1)
    keep = y != ignore_index
    logp = F.log_softmax(x, -1)
    ce = F.nll_loss(logp, y, weight=alpha, reduction="none", ignore_index=ignore_index)
    log_pt = logp.gather(1, torch.where(keep, y, 0)[:, None])[:, 0]
    pt = log_pt.exp()
    loss = torch.where(keep, (1 - pt) ** gamma * ce, torch.zeros_like(ce))
    if reduction == "none":
        return loss.reshape(labels.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum()


def focal_cases():
    cases = []
    for shape in [(), (6,), (4, 5), (2, 3, 4)]:
        for reduction in ("none", "mean", "sum"):
            for alpha, gamma in ((0.25, 2.0), (-1.0, 2.0), (0.6, 0.0), (0.25, 1.0), (0.9, 3.5),
                                 (0.25, 0.5)):
                x = randn(*shape, scale=3.0)
                y = (rand(*shape) > 0.6).double()
                if len(shape) == 2:
                    y[0, 0] = 0.3  # a soft target
                cases.append(case(
                    f"sigmoid-focal shape={list(shape)} {reduction} alpha={alpha} gamma={gamma}",
                    lambda input, target, a=alpha, gm=gamma, r=reduction:
                        torchvision_sigmoid_focal_loss(input, target, a, gm, r),
                    {"input": x, "target": y}, ["input"],
                    {"kind": "sigmoid", "alpha": alpha, "gamma": gamma, "reduction": reduction}))
    for shape, axis, ignore in (((6, 5), -1, False), ((6, 5), -1, True), ((2, 4, 3), 1, True),
                                ((5,), -1, False)):
        for reduction in ("none", "mean", "sum"):
            for gamma, with_alpha in ((2.0, False), (2.0, True), (0.0, False), (0.5, True)):
                x = randn(*shape, scale=2.0)
                c = shape[axis]
                label_shape = list(shape)
                del label_shape[axis]
                y = torch.randint(0, c, label_shape, generator=g)
                if ignore:
                    y.view(-1)[::3] = -100
                inputs = {"input": x, "target": y}
                if with_alpha:
                    inputs["alpha"] = rand(c)

                def fn(input, target, alpha=None, gm=gamma, r=reduction, ax=axis):
                    return softmax_focal_loss(input, target, alpha, gm, -100, r, ax)

                cases.append(case(
                    f"softmax-focal shape={list(shape)} axis={axis} {reduction} gamma={gamma}"
                    f" alpha={with_alpha} ignore={ignore}",
                    fn, inputs, ["input"],
                    {"kind": "softmax", "gamma": gamma, "reduction": reduction,
                     "classAxis": axis}))
    return cases


if __name__ == "__main__":
    torch.set_printoptions(precision=17)
    write("kl_div", kl_cases())
    write("mse", mse_cases())
    write("multi_margin", multi_margin_cases())
    write("focal", focal_cases())
    print("torch", torch.__version__, "->", os.path.normpath(OUT))
