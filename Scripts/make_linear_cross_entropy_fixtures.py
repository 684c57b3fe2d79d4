#!/usr/bin/env python3
"""Golden values from PyTorch for the language-model head, LinearCrossEntropy:
F.cross_entropy(F.linear(hidden, weight, bias), labels, ...) and its gradients with respect to
hidden, weight and bias.

Writes Tests/CrossEntropyTests/Fixtures/linear_cross_entropy.json and
Fixtures/PROVENANCE-linear. Each case holds its inputs (drawn in float32, so they are exact in
both precisions; the case has no "dtype"), its options, and PyTorch's loss, gradients and
per-row log-sum-exp computed once in float64 and once in float32, under the keys "float64" and
"float32". The float32 results are PyTorch's own fp32 arithmetic on the same inputs: the tests
measure its error against float64 and hold ours to a bound stated relative to it.

    $TORCH_PYTHON Scripts/make_linear_cross_entropy_fixtures.py

Semantics written out in torch (autograd gives the gradients):
- logits = F.linear(hidden, weight, bias), then c * tanh(logits / c) with a soft cap c;
- F.cross_entropy(logits, labels, weight=classWeights, ignore_index, label_smoothing,
  reduction); with a normaliser, the "sum" reduction divided by it;
- the z-loss (Liger-Kernel's lse_square_scale): s * logsumexp(logits)^2 per non-ignored row,
  its mean over the non-ignored count (or the normaliser);
- "none": one loss per row, the gradients those of their sum.
Non-finite numbers are written as the strings "nan", "inf", "-inf".
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

from fixture_common import fixtures, json_array, write_provenance

OUT = fixtures("CrossEntropyTests")
SEED = 20261203
g = torch.Generator().manual_seed(SEED)


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).float().double()


def ints(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


def head_loss(hidden, weight, bias, labels, class_weights, reduction, ignore_index, smoothing,
              z_scale, cap, normalizer):
    logits = F.linear(hidden, weight, bias)
    if cap is not None:
        logits = cap * torch.tanh(logits / cap)
    c = logits.shape[-1]
    flat = logits.reshape(-1, c)
    y = labels.reshape(-1)
    keep = y != ignore_index
    ce_reduction = "sum" if (reduction == "mean" and normalizer is not None) else reduction
    ce = F.cross_entropy(flat, y, weight=class_weights, ignore_index=ignore_index,
                         label_smoothing=smoothing, reduction=ce_reduction)
    if reduction == "mean" and normalizer is not None:
        ce = ce / normalizer
    lse = torch.logsumexp(flat, -1)
    z = torch.where(keep, z_scale * lse * lse, torch.zeros_like(lse))
    if reduction == "none":
        loss = (ce + z).reshape(labels.shape)
    elif reduction == "sum":
        loss = ce + z.sum()
    else:
        loss = ce + z.sum() / (normalizer if normalizer is not None else keep.sum())
    return loss, torch.where(keep, lse, torch.zeros_like(lse))


def case(name, rows, size, classes, bias=False, class_weights=False, ignore=(), reduction="mean",
         ignore_index=-100, smoothing=0.0, z_scale=0.0, cap=None, normalizer=None,
         hidden_shape=None, scale=1.0, poison=None):
    hidden = randn(rows, size, scale=scale)
    if poison is not None:
        hidden.view(-1)[poison[0]] = poison[1]
    weight = randn(classes, size, scale=size ** -0.5)
    b = randn(classes, scale=0.5) if bias else None
    labels = torch.randint(0, classes, (rows,), generator=g)
    for r in ignore:
        labels[r] = ignore_index
    cw = (torch.rand(classes, generator=g, dtype=torch.float64) * 1.5 + 0.5).float().double() \
        if class_weights else None
    shape = hidden_shape or [rows, size]
    inputs = {"hidden": json_array(hidden.reshape(shape)), "weight": json_array(weight),
              "labels": ints(labels.reshape(shape[:-1]))}
    if b is not None:
        inputs["bias"] = json_array(b)
    if cw is not None:
        inputs["classWeights"] = json_array(cw)
    options = {"reduction": reduction, "ignoreIndex": ignore_index, "labelSmoothing": smoothing,
               "zLossScale": z_scale}
    if cap is not None:
        options["logitSoftCap"] = cap
    if normalizer is not None:
        options["normalizer"] = normalizer
    result = {"name": name, "options": options, "inputs": inputs}
    for key, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        h = hidden.reshape(shape).to(dtype).clone().requires_grad_(True)
        w = weight.to(dtype).clone().requires_grad_(True)
        bb = b.to(dtype).clone().requires_grad_(True) if b is not None else None
        loss, lse = head_loss(h, w, bb, labels.reshape(shape[:-1]),
                              cw.to(dtype) if cw is not None else None, reduction, ignore_index,
                              smoothing, z_scale, cap, normalizer)
        wrt = [h, w] + ([bb] if bb is not None else [])
        grads = torch.autograd.grad(loss.sum(), wrt)
        entry = {"loss": json_array(loss), "hiddenGradient": json_array(grads[0]),
                 "weightGradient": json_array(grads[1]), "logSumExp": json_array(lse)}
        if bb is not None:
            entry["biasGradient"] = json_array(grads[2])
        result[key] = entry
    return result


def cases():
    out = []
    for reduction in ("mean", "sum", "none"):
        out.append(case(f"plain {reduction}", 4, 3, 5, reduction=reduction))
        out.append(case(f"bias, class weights, ignored rows {reduction}", 5, 3, 6, bias=True,
                        class_weights=True, ignore=(1, 3), reduction=reduction))
        out.append(case(f"every option {reduction}", 5, 4, 7, bias=True, class_weights=True,
                        ignore=(2,), reduction=reduction, smoothing=0.1, z_scale=1e-3, cap=2.5,
                        scale=2.0))
    out.append(case("label smoothing", 4, 3, 6, smoothing=0.2, ignore=(0,)))
    out.append(case("weighted label smoothing", 4, 3, 6, class_weights=True, smoothing=0.15))
    out.append(case("z-loss", 4, 3, 5, z_scale=0.01, ignore=(3,), scale=3.0))
    out.append(case("soft cap", 4, 3, 5, bias=True, cap=1.5, scale=3.0))
    out.append(case("ignore index inside the classes", 5, 2, 4, ignore=(1,), ignore_index=2))
    out.append(case("normalizer", 4, 3, 5, bias=True, class_weights=True, smoothing=0.1,
                    z_scale=1e-2, ignore=(2,), normalizer=7.0))
    out.append(case("rank-3 hidden", 6, 3, 5, bias=True, hidden_shape=[2, 3, 3]))
    out.append(case("one row, one feature", 1, 1, 3, bias=True))
    out.append(case("one class", 3, 2, 1, smoothing=0.1))
    out.append(case("all rows ignored", 3, 2, 4, ignore=(0, 1, 2)))
    out.append(case("NaN hidden state", 3, 2, 4, reduction="none", poison=(2, float("nan"))))
    out.append(case("infinite hidden state", 3, 2, 4, reduction="none",
                    poison=(0, float("inf"))))
    return out


def main():
    torch.set_num_threads(1)
    doc = {"generator": "Scripts/make_linear_cross_entropy_fixtures.py",
           "torch": torch.__version__, "python": sys.version.split()[0], "cases": cases()}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "linear_cross_entropy.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    write_provenance(OUT, "make_linear_cross_entropy_fixtures.py", {"torch": torch.__version__},
                     seed=SEED, name="PROVENANCE-linear", notes=[
        "device: cpu (one thread)",
        "format: JSON {\"generator\", \"torch\", \"python\", \"cases\": [...]}; each case",
        "holds its name, options, inputs (drawn in float32, so exact in both precisions; no",
        "dtype), and PyTorch's loss, hiddenGradient, weightGradient, biasGradient (with a",
        "bias) and logSumExp (0 for ignored rows), computed in float64 and in float32 under",
        "those keys; arrays are {\"shape\", \"data\"}. Non-finite numbers are the strings",
        "\"nan\", \"inf\", \"-inf\".",
        "- linear_cross_entropy.json: F.cross_entropy(F.linear(hidden, weight, bias), labels)",
        "  with class weights, ignore index, label smoothing, the soft cap c * tanh(x / c), the",
        "  z-loss (Liger-Kernel's semantics) and a normaliser (the sum over it), and backward."])
    print("torch", torch.__version__, "->", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
