#!/usr/bin/env python3
"""Golden values from PyTorch for the language-model head, LinearCrossEntropy:
F.cross_entropy(F.linear(hidden, weight, bias), labels, ...) and its gradients with respect to
hidden, weight and bias.

Writes Tests/CrossEntropyTests/Fixtures/linear_cross_entropy.json and
Fixtures/PROVENANCE-linear, and the `xent evaluate --loss linear-cross-entropy` cases in
Tests/xentTests/Fixtures/evaluate-linear/ (inputs, args.txt, PyTorch's loss and gradients as
expected-*.npy) with their PROVENANCE. Each case holds its inputs (drawn in float32, so they are exact in
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

from fixture_common import fixtures, json_array, write_case_folder, write_provenance

OUT = fixtures("CrossEntropyTests")
EVALUATE = fixtures("xentTests", "evaluate-linear")
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


def evaluate_cases():
    """`xent evaluate` case folders: every option, float32 and float64, with and without bias."""
    import numpy as np

    specs = [
        # (name, dtype, rows, size, classes, bias, weight, reduction, smoothing, z, cap, ignore)
        ("mean-f32", "float32", 5, 4, 7, False, False, "mean", 0.0, 0.0, None, ()),
        ("bias-weight-ignore-sum-f64", "float64", 6, 3, 5, True, True, "sum", 0.0, 0.0, None,
         (1, 4)),
        ("every-option-f64", "float64", 5, 4, 6, True, True, "mean", 0.1, 1e-3, 2.5, (2,)),
        ("smoothing-zloss-cap-none-f32", "float32", 4, 3, 9, True, False, "none", 0.2, 1e-2,
         3.0, (0,)),
    ]
    for name, dtype, rows, size, classes, bias, weighted, reduction, smoothing, z, cap, \
            ignore in specs:
        torch_dtype = torch.float32 if dtype == "float32" else torch.float64
        hidden = randn(rows, size, scale=2.0).to(torch_dtype).requires_grad_(True)
        weight = randn(classes, size, scale=size ** -0.5).to(torch_dtype).requires_grad_(True)
        b = randn(classes, scale=0.5).to(torch_dtype).requires_grad_(True) if bias else None
        labels = torch.randint(0, classes, (rows,), generator=g)
        for r in ignore:
            labels[r] = -100
        cw = (torch.rand(classes, generator=g, dtype=torch.float64) + 0.5).to(torch_dtype) \
            if weighted else None
        loss, _ = head_loss(hidden, weight, b, labels, cw, reduction, -100, smoothing, z, cap,
                            None)
        wrt = [hidden, weight] + ([b] if b is not None else [])
        grads = torch.autograd.grad(loss.sum(), wrt)
        arrays = {"h.npy": hidden.detach().numpy(), "w.npy": weight.detach().numpy(),
                  "y.npy": labels.numpy().astype(np.int64),
                  "expected-loss.npy": loss.detach().numpy(),
                  "expected-grad.npy": grads[0].numpy(),
                  "expected-classifier-grad.npy": grads[1].numpy()}
        argv = ["--loss", "linear-cross-entropy", "--input", "h.npy", "--classifier", "w.npy",
                "--target", "y.npy", "--reduction", reduction]
        if b is not None:
            arrays["b.npy"] = b.detach().numpy()
            arrays["expected-bias-grad.npy"] = grads[2].numpy()
            argv += ["--bias", "b.npy"]
        if cw is not None:
            arrays["cw.npy"] = cw.numpy()
            argv += ["--weight", "cw.npy"]
        if smoothing:
            argv += ["--label-smoothing", str(smoothing)]
        if z:
            argv += ["--z-loss-scale", str(z)]
        if cap is not None:
            argv += ["--logit-soft-cap", str(cap)]
        write_case_folder(os.path.join(EVALUATE, name), argv, arrays)
    write_provenance(EVALUATE, "make_linear_cross_entropy_fixtures.py",
                     {"torch": torch.__version__, "numpy": np.__version__}, seed=SEED, notes=[
        "device: cpu (one thread)",
        "Each folder: the inputs (h.npy hidden states, w.npy classifier, b.npy bias, y.npy",
        "labels, cw.npy class weights), args.txt (the arguments of xent evaluate, one per",
        "line), and PyTorch's results: expected-loss.npy, expected-grad.npy (hidden),",
        "expected-classifier-grad.npy and expected-bias-grad.npy, from",
        "F.cross_entropy(F.linear(h, w, b), y, ...) with the z-loss and soft cap written out."])


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
    evaluate_cases()
    print("torch", torch.__version__, "->", os.path.normpath(OUT), os.path.normpath(EVALUATE))


if __name__ == "__main__":
    main()
