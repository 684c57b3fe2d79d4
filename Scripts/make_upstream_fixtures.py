#!/usr/bin/env python3
"""Golden values from PyTorch for upstream gradients (the vector-Jacobian product,
`loss.backward(gradient=g)`) of binary cross-entropy (logits and probabilities), KL divergence,
MSE, the multi-margin loss, distillation, CTC, InfoNCE and CLIP.

    $TORCH_PYTHON Scripts/make_upstream_fixtures.py

Writes Tests/CrossEntropyTests/Fixtures/upstream.json and Fixtures/PROVENANCE-upstream, in the
format of make_row_scale_fixtures.py: each case holds its options (`loss` names the loss), its
inputs (drawn in float32, so exact in both precisions) and PyTorch's loss and gradients computed
in float64 and in float32 by torch.autograd.grad(loss, inputs, grad_outputs=g).

The upstream gradient g ("upstreamGradient") is shaped like the loss: like the per-element or
per-row loss for reduction "none" (random, with a 0 and a negative value; some cases put a NaN
on one element, which PyTorch turns into NaN there, or into NaN over the whole row for the
multi-margin loss, whose backward multiplies every element of the row), 0-dimensional (-1.5)
for the reduced losses. The losses are PyTorch's own functions (F.binary_cross_entropy_with_logits,
F.binary_cross_entropy, F.kl_div, F.mse_loss, F.multi_margin_loss, F.ctc_loss, of
F.log_softmax(x, -1) for the logits form) or written out in torch as make_loss_fixtures.py does
(distillation: F.kl_div(log_softmax(s / T), softmax(t / T)) * T^2 mixed with F.cross_entropy,
ignored rows masked by torch.where, so their gradient is 0 whatever their g; InfoNCE:
F.cross_entropy(S / T, arange(N)) with T a tensor; CLIP: open_clip's ClipLoss).
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from fixture_common import fixtures, json_array, write_provenance

OUT = fixtures("CrossEntropyTests")
SEED = 20261204
IGNORE = -100
g = torch.Generator().manual_seed(SEED)


def f32(t):
    """Rounds to float32 and back, so the value is exact in both precisions."""
    return t.float().double()


def randn(*shape, scale=1.0):
    return f32(torch.randn(tuple(shape), generator=g, dtype=torch.float64) * scale)


def rand(*shape):
    return f32(torch.rand(tuple(shape), generator=g, dtype=torch.float64))


def ints(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


def upstream(reduction, shape, nan_at=None):
    """g shaped like the loss: random with a 0 and a negative value for "none" (and a NaN at
    flat index `nan_at`), -1.5 for a reduced loss."""
    if reduction != "none":
        return f32(torch.tensor(-1.5, dtype=torch.float64))
    u = randn(*shape)
    flat = u.reshape(-1)
    if flat.numel() > 2:
        flat[0] = 0.0
        flat[2] = -abs(float(flat[2])) - 0.5
    if nan_at is not None:
        flat[nan_at] = float("nan")
    return u


# ---------------------------------------------------------------------------------------------
# The losses, as functions of the (float) inputs


def distillation(input, teacher, target=None, temperature=1.0, hard_weight=0.0,
                 reduction="mean", class_axis=-1):
    s = input.movedim(class_axis, -1)
    t = teacher.movedim(class_axis, -1)
    c = s.shape[-1]
    row_shape = s.shape[:-1]
    s = s.reshape(-1, c)
    t = t.reshape(-1, c)
    if target is None:
        keep = torch.ones(s.shape[0], dtype=torch.bool)
        y = torch.zeros(s.shape[0], dtype=torch.long)
    else:
        y = target.reshape(-1)
        keep = y != IGNORE
    kl = F.kl_div(F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1),
                  reduction="none").sum(-1) * temperature ** 2
    rows = (1 - hard_weight) * kl
    if hard_weight != 0:
        rows = rows + hard_weight * F.cross_entropy(s, torch.where(keep, y, 0), reduction="none")
    rows = torch.where(keep, rows, torch.zeros_like(rows))
    if reduction == "none":
        return rows.reshape(row_shape)
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / keep.sum()


def clip_loss(imageEmbeddings, textEmbeddings, logitScale, normalize=True):
    image, text = imageEmbeddings, textEmbeddings
    if normalize:
        image = F.normalize(image, dim=-1)
        text = F.normalize(text, dim=-1)
    logits = logitScale.exp() * image @ text.T
    labels = torch.arange(image.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def loss_fn(kind, o):
    r = o.get("reduction", "mean")
    if kind == "bce_logits":
        return lambda input, target, weight=None, positiveWeight=None: \
            F.binary_cross_entropy_with_logits(input, target, weight=weight,
                                               pos_weight=positiveWeight, reduction=r)
    if kind == "bce_probabilities":
        return lambda input, target, weight=None: F.binary_cross_entropy(
            input, target, weight=weight, reduction=r)
    if kind == "kl":
        return lambda input, target: F.kl_div(input, target, reduction=r,
                                              log_target=o["logTarget"])
    if kind == "mse":
        return lambda input, target: F.mse_loss(input, target, reduction=r)
    if kind == "multi_margin":
        return lambda input, target, weight=None: F.multi_margin_loss(
            input, target, p=o["p"], margin=o["margin"], weight=weight, reduction=r)
    if kind == "distillation":
        return lambda input, teacher, target=None: distillation(
            input, teacher, target, o["temperature"], o["hardLabelWeight"], r, o["classAxis"])
    if kind in ("ctc", "ctc_logits"):
        def fn(input, target, inputLengths, labelLengths):
            x = F.log_softmax(input, -1) if kind == "ctc_logits" else input
            return F.ctc_loss(x, target, inputLengths, labelLengths, blank=o["blank"],
                              reduction=r, zero_infinity=o["zeroInfinity"])
        return fn
    if kind == "infonce":
        return lambda input, temperature: F.cross_entropy(
            input / temperature, torch.arange(input.shape[0]), reduction=r)
    if kind == "clip":
        return lambda input, textEmbeddings, logitScale: clip_loss(
            input, textEmbeddings, logitScale, o["normalize"])
    raise ValueError(kind)


# The inputs each loss differentiates, and the names of their gradients in the fixture.
GRADIENTS = {"infonce": {"input": "gradient", "temperature": "temperatureGradient"},
             "clip": {"input": "gradient", "textEmbeddings": "textGradient",
                      "logitScale": "logitScaleGradient"}}


def run(kind, options, inputs):
    wrt = GRADIENTS.get(kind, {"input": "gradient"})
    result = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        args = {}
        for k, v in inputs.items():
            if k == "upstreamGradient":
                continue
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                v = v.to(dtype).clone().requires_grad_(k in wrt)
            args[k] = v
        loss = loss_fn(kind, options)(**args)
        up = inputs["upstreamGradient"].to(dtype)
        grads = torch.autograd.grad(loss, [args[k] for k in wrt], grad_outputs=up)
        result[name] = {"loss": json_array(loss)}
        for k, grad in zip(wrt, grads):
            result[name][wrt[k]] = json_array(grad)
    return result


def case(kind, options, inputs, note=""):
    encoded = {k: json_array(v) if v.is_floating_point() else ints(v) for k, v in inputs.items()}
    name = kind + " " + " ".join(f"{k}={v}" for k, v in sorted(options.items())) + " " + \
        " ".join(sorted(k for k in inputs if k not in ("input", "target"))) + note
    c = {"name": name.strip(), "options": dict(options, loss=kind), "inputs": encoded}
    c.update(run(kind, options, inputs))
    return c


# ---------------------------------------------------------------------------------------------
# The cases

REDUCTIONS = ("none", "mean", "sum")


def binary_cases():
    out = []
    shape = (3, 7)  # 21 elements: a full vector of 16 and a partial one
    for weights, reductions in (("none", REDUCTIONS), ("last", ("none",)),
                                ("rows", ("none", "mean")), ("both", REDUCTIONS)):
        for reduction in reductions:
            for nan in ((False, True) if reduction == "none" and weights == "both" else (False,)):
                inputs = {"input": randn(*shape, scale=3), "target": rand(*shape)}
                if weights in ("last", "both"):
                    inputs["weight"] = rand(7) + 0.5          # repeats: the fused kernel
                if weights == "rows":
                    inputs["weight"] = rand(3, 1) + 0.5       # per row: the reference
                if weights == "both":
                    inputs["positiveWeight"] = rand(7) * 2 + 0.5
                inputs["upstreamGradient"] = upstream(reduction, shape, 19 if nan else None)
                out.append(case("bce_logits", {"reduction": reduction, "weights": weights},
                                inputs, " nan" if nan else ""))
    shape = (3, 5)
    for weighted in (False, True):
        for reduction in REDUCTIONS:
            inputs = {"input": f32(rand(*shape) * 0.9 + 0.05), "target": rand(*shape)}
            if weighted:
                inputs["weight"] = rand(5) + 0.5
            inputs["upstreamGradient"] = upstream(reduction, shape, 4 if weighted else None)
            out.append(case("bce_probabilities", {"reduction": reduction}, inputs))
    return out


def elementwise_cases():
    out = []
    for log_target in (False, True):
        for reduction in REDUCTIONS + ("batchmean",):
            for input_shape, target_shape in (((3, 4), (3, 4)), ((1, 4), (3, 4))):
                if input_shape != target_shape and reduction not in ("none", "mean"):
                    continue
                if log_target and (input_shape != target_shape or reduction == "sum"):
                    continue
                x = f32(F.log_softmax(randn(*input_shape, scale=2), -1))
                t = f32(torch.softmax(randn(*target_shape, scale=2), -1))
                if log_target:
                    t = f32(t.log())
                else:
                    t.reshape(-1)[1] = 0.0  # xlogy(0, 0): the gradient -t is 0, times g
                loss_shape = torch.broadcast_shapes(input_shape, target_shape)
                nan = reduction == "none" and input_shape == target_shape and not log_target
                inputs = {"input": x, "target": t,
                          "upstreamGradient": upstream(reduction, loss_shape, 3 if nan else None)}
                out.append(case("kl", {"reduction": reduction, "logTarget": log_target}, inputs))
    for reduction in REDUCTIONS:
        for input_shape, target_shape in (((3, 4), (3, 4)), ((1, 4), (3, 4)), ((3, 1), (3, 4))):
            if input_shape != target_shape and reduction == "sum":
                continue
            loss_shape = torch.broadcast_shapes(input_shape, target_shape)
            nan = reduction == "none" and input_shape == target_shape
            inputs = {"input": randn(*input_shape), "target": randn(*target_shape),
                      "upstreamGradient": upstream(reduction, loss_shape, 5 if nan else None)}
            out.append(case("mse", {"reduction": reduction}, inputs))
    return out


def multi_margin_cases():
    out = []
    for p, margin, weighted in ((1, 1.0, False), (2, 0.5, True)):
        for reduction in REDUCTIONS:
            inputs = {"input": randn(5, 4), "target": torch.randint(0, 4, (5,), generator=g)}
            if weighted:
                inputs["weight"] = rand(4) + 0.5
            nan = reduction == "none" and weighted
            inputs["upstreamGradient"] = upstream(reduction, (5,), 3 if nan else None)
            out.append(case("multi_margin", {"reduction": reduction, "p": p, "margin": margin},
                            inputs))
    return out


def distillation_cases():
    out = []
    specs = [  # (shape, axis, T, w, labels)
        ((4, 19), -1, 2.0, 0.3, True),    # fused (classes last), a hard term at T = 2
        ((3, 6), -1, 0.5, 0.0, False),    # fused, no labels, T < 1
        ((2, 4, 3), 1, 3.0, 0.7, True),   # classes on axis 1: the reference
    ]
    for shape, axis, temperature, hard_weight, with_labels in specs:
        row_shape = [n for i, n in enumerate(shape) if i != axis % len(shape)]
        rows = math.prod(row_shape)
        for reduction in REDUCTIONS:
            inputs = {"input": randn(*shape, scale=2), "teacher": randn(*shape, scale=3)}
            nan_at = None
            if with_labels:
                y = torch.randint(0, shape[axis], row_shape, generator=g)
                y.reshape(-1)[1::3] = IGNORE
                inputs["target"] = y
                nan_at = 1  # an ignored row: its gradient stays 0
            inputs["upstreamGradient"] = upstream(
                reduction, row_shape, nan_at if reduction == "none" else None)
            if reduction == "none" and not with_labels:
                inputs["upstreamGradient"].reshape(-1)[rows - 1] = float("nan")
            out.append(case("distillation", {
                "reduction": reduction, "temperature": temperature,
                "hardLabelWeight": hard_weight, "classAxis": axis}, inputs))
    return out


def ctc_cases():
    out = []
    steps, batch, classes = 5, 3, 4
    for kind in ("ctc", "ctc_logits"):
        for blank, zero_infinity in ((0, False), (3, True)):
            for reduction in (REDUCTIONS if kind == "ctc" else ("none", "mean")):
                x = randn(steps, batch, classes, scale=1.5)
                if kind == "ctc":
                    x = f32(F.log_softmax(x, -1))
                labels = torch.tensor([[1, 2, 2], [3, 1, 0], [2, 2, 2]])
                if blank == 3:
                    labels = torch.where(labels == 0, torch.tensor(1), labels)
                    labels = torch.where(labels == 3, torch.tensor(2), labels)
                input_lengths = torch.tensor([5, 4, 3])
                # With zero_infinity, sample 2 (3 repeated labels in 3 steps) is impossible:
                # its loss and gradient are 0 whatever its g. Without, it has 2 labels.
                label_lengths = torch.tensor([3, 2, 3 if zero_infinity else 2])
                nan_at = 2 if zero_infinity else 1
                inputs = {"input": x, "target": labels, "inputLengths": input_lengths,
                          "labelLengths": label_lengths,
                          "upstreamGradient": upstream(
                              reduction, (batch,), nan_at if reduction == "none" else None)}
                out.append(case(kind, {"reduction": reduction, "blank": blank,
                                       "zeroInfinity": zero_infinity}, inputs))
    return out


def contrastive_cases():
    out = []
    for n, m, temperature in ((4, 6, 0.5), (3, 3, 0.07)):
        for reduction in REDUCTIONS:
            inputs = {"input": f32(torch.tanh(randn(n, m))),
                      "temperature": f32(torch.tensor(temperature, dtype=torch.float64)),
                      "upstreamGradient": upstream(
                          reduction, (n,), 1 if reduction == "none" and n == 4 else None)}
            out.append(case("infonce", {"reduction": reduction}, inputs))
    for n, d, normalize, scale, up in ((4, 3, True, math.log(1 / 0.07), -1.5),
                                       (3, 4, False, 0.5, 0.25)):
        inputs = {"input": randn(n, d), "textEmbeddings": randn(n, d),
                  "logitScale": f32(torch.tensor(scale, dtype=torch.float64)),
                  "upstreamGradient": f32(torch.tensor(up, dtype=torch.float64))}
        out.append(case("clip", {"normalize": normalize}, inputs))
    return out


def cases():
    return (binary_cases() + elementwise_cases() + multi_margin_cases() + distillation_cases()
            + ctc_cases() + contrastive_cases())


if __name__ == "__main__":
    all_cases = cases()
    os.makedirs(OUT, exist_ok=True)
    doc = {"generator": "Scripts/make_upstream_fixtures.py", "torch": torch.__version__,
           "python": sys.version.split()[0], "cases": all_cases}
    with open(os.path.join(OUT, "upstream.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    write_provenance(OUT, "make_upstream_fixtures.py", {"torch": torch.__version__}, seed=SEED,
                     name="PROVENANCE-upstream", notes=[
        "device: cpu",
        "format: as PROVENANCE-loss (inputs drawn in float32, results in float64 and float32).",
        "- upstream.json: upstream gradients (loss.backward(gradient=g)) of",
        "  F.binary_cross_entropy_with_logits, F.binary_cross_entropy, F.kl_div, F.mse_loss,",
        "  F.multi_margin_loss, F.ctc_loss (and of F.log_softmax for the logits form),",
        "  distillation, InfoNCE and open_clip's ClipLoss written out in torch; gradients by",
        "  torch.autograd.grad(loss, inputs, grad_outputs=g).",
        f"- {len(all_cases)} cases."])
    print("torch", torch.__version__, len(all_cases), "cases ->", os.path.normpath(OUT))
