#!/usr/bin/env python3
"""Golden values from PyTorch for per-sample weights and upstream gradients (the
vector-Jacobian product) of softmax cross-entropy (class-index labels and probability targets),
NLL, the softmax focal loss and Poly-1.

    $TORCH_PYTHON Scripts/make_row_scale_fixtures.py

Writes Tests/CrossEntropyTests/Fixtures/row_scales.json and Fixtures/PROVENANCE-row-scales, in
the format of make_loss_fixtures.py: each case holds its options, its inputs (drawn in float32,
so exact in both precisions) and PyTorch's loss and gradient computed in float64 and in float32.

PyTorch has no per-sample weight, so the reference is built from the per-row losses
(`reduction="none"`), with `s` the sample weights, `w` the class weights (1 without) and `keep`
the rows whose label is not the ignore index:

    none = l * s
    sum  = (l * s).sum()
    mean = (l * s).sum() / (s * w[y] * keep).sum()      (F.cross_entropy, F.nll_loss)
    mean = (l * s).sum() / (s * keep).sum()             (focal, Poly-1: their mean is a count)
    mean = (l * s).sum() / s.sum()                      (probability targets)

where l is F.cross_entropy(..., reduction="none") (label smoothing included), F.nll_loss(...,
reduction="none"), the softmax focal loss of fixture_common, or Poly-1 written out in torch as
optax computes it (-sum_c t_c log p_c + epsilon * sum_c t_c (1 - p_c)). Without sample weights
(s = 1) these are PyTorch's own reductions. Gradients: with an "upstreamGradient" input g, the
one of torch.autograd.grad(loss, x, grad_outputs=g), i.e. loss.backward(gradient=g): g shaped
like the per-row loss for "none" (random, with zeros and negative values) and 0-dimensional for
"mean" and "sum"; without it, the gradient of loss.sum(). Sample weights are drawn in [0.5, 2]
with one 0 and one negative weight (-0.25), class weights in [0.5, 1.5], so that the weighted
denominators stay well away from 0 (float32 PyTorch sums them in float32).
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

from fixture_common import (fixtures, json_array, sigmoid_focal_loss, softmax_focal_loss,
                            write_provenance)

OUT = fixtures("CrossEntropyTests")
SEED = 20261203
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


def sample_weights(row_shape):
    s = f32(rand(*row_shape) * 1.5 + 0.5)
    flat = s.reshape(-1)
    flat[1] = 0.0
    flat[-1] = -0.25
    return s


def upstream(reduction, row_shape):
    if reduction != "none":
        return f32(torch.tensor(-1.5, dtype=torch.float64))
    u = randn(*row_shape)
    flat = u.reshape(-1)
    flat[0] = 0.0
    flat[2] = -abs(float(flat[2])) - 0.5
    return u


def labels(row_shape, classes, ignore):
    y = torch.randint(0, classes, row_shape, generator=g)
    if ignore:
        y.reshape(-1)[::3] = IGNORE
    return y


def reduce(per_row, s, denominator_terms, reduction):
    weighted = per_row * s if s is not None else per_row
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / denominator_terms.sum()


def class_weight_of(y, w, dtype):
    """w[y] (1 without class weights), 0 on ignored rows."""
    keep = y != IGNORE
    if w is None:
        return keep.to(dtype)
    return torch.where(keep, w[torch.where(keep, y, 0)], torch.zeros((), dtype=dtype))


def loss_fn(kind, options):
    axis = options.get("classAxis", -1)
    reduction = options["reduction"]

    def fn(input, target, sampleWeights=None, weight=None):
        dtype = input.dtype
        s = sampleWeights
        row_shape = input.movedim(axis, -1).shape[:-1]
        s_or_1 = s if s is not None else torch.ones(row_shape, dtype=dtype)
        if kind in ("cross_entropy", "nll"):
            if kind == "cross_entropy":
                per = F.cross_entropy(input, target, weight=weight, ignore_index=IGNORE,
                                      label_smoothing=options.get("labelSmoothing", 0.0),
                                      reduction="none")
            else:
                per = F.nll_loss(input, target, weight=weight, ignore_index=IGNORE,
                                 reduction="none")
            den = s_or_1 * class_weight_of(target, weight, dtype)
            return reduce(per, s, den, reduction)
        if kind == "probabilities":
            per = F.cross_entropy(input, target, weight=weight,
                                  label_smoothing=options.get("labelSmoothing", 0.0),
                                  reduction="none")
            return reduce(per, s, s_or_1, reduction)
        if kind == "softmax_focal":
            per = softmax_focal_loss(input, target, weight, options["gamma"], IGNORE, "none",
                                     axis)
            den = s_or_1 * (target != IGNORE).to(dtype)
            return reduce(per, s, den, reduction)
        if kind == "poly1":
            x = input.movedim(axis, -1)
            logp = F.log_softmax(x, -1)
            keep = target != IGNORE
            onehot = F.one_hot(torch.where(keep, target, 0), x.shape[-1]).to(dtype)
            per = -(onehot * logp).sum(-1) + options["epsilon"] * (onehot * (1 - logp.exp())).sum(-1)
            per = torch.where(keep, per, torch.zeros((), dtype=dtype))
            den = s_or_1 * keep.to(dtype)
            return reduce(per, s, den, reduction)
        if kind == "poly1_probabilities":
            x = input.movedim(axis, -1)
            t = target.movedim(axis, -1)
            logp = F.log_softmax(x, -1)
            per = -(t * logp).sum(-1) + options["epsilon"] * (t * (1 - logp.exp())).sum(-1)
            return reduce(per, s, s_or_1, reduction)
        if kind == "sigmoid_focal":
            # torchvision's elementwise loss; the sample weight of leading row n multiplies
            # every element of that row, and the mean is over all elements (numel), as
            # (sigmoid_focal_loss(x, y, reduction="none") * s.view(-1, 1, ...)).mean().
            per = sigmoid_focal_loss(input, target, options["alpha"], options["gamma"], "none")
            if s is not None:
                per = per * s.reshape(tuple(s.shape) + (1,) * (input.dim() - 1))
            if reduction == "none":
                return per
            return per.sum() if reduction == "sum" else per.mean()
        raise ValueError(kind)

    return fn


def linear_loss_fn(options):
    """F.cross_entropy(F.linear(h, W, b), y, reduction="none") with the options of the
    linear cross-entropy, times the sample weights, plus the z-loss written out (s * lse^2 per
    non-ignored row, its mean over the sum of their sample weights), reduced."""
    reduction = options["reduction"]

    def fn(input, linearWeight, target, bias=None, sampleWeights=None, weight=None):
        dtype = input.dtype
        logits = F.linear(input, linearWeight, bias)
        cap = options.get("logitSoftCap")
        if cap is not None:
            logits = cap * torch.tanh(logits / cap)
        logits = logits.reshape(-1, logits.shape[-1])
        y = target.reshape(-1)
        s = sampleWeights.reshape(-1) if sampleWeights is not None else torch.ones(y.shape, dtype=dtype)
        per = F.cross_entropy(logits, y, weight=weight, ignore_index=IGNORE,
                              label_smoothing=options.get("labelSmoothing", 0.0),
                              reduction="none")
        keep = (y != IGNORE).to(dtype)
        lse = torch.logsumexp(logits, -1)
        z = options.get("zLossScale", 0.0) * lse * lse * keep
        normalizer = options.get("normalizer")
        if reduction == "none":
            return ((per + z) * s).reshape(target.shape)
        if reduction == "sum":
            return (per * s).sum() + (z * s).sum()
        ce_den = normalizer if normalizer is not None else (s * class_weight_of(y, weight, dtype)).sum()
        z_den = normalizer if normalizer is not None else (s * keep).sum()
        return (per * s).sum() / ce_den + (z * s).sum() / z_den

    return fn


def run_linear(options, inputs):
    result = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        args = {}
        for k, v in inputs.items():
            if k == "upstreamGradient":
                continue
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                v = v.to(dtype).clone().requires_grad_(k in ("input", "linearWeight", "bias"))
            args[k] = v
        loss = linear_loss_fn(options)(**args)
        up = inputs.get("upstreamGradient")
        grad_outputs = up.to(dtype) if up is not None else torch.ones_like(loss)
        wrt = [args["input"], args["linearWeight"]] + ([args["bias"]] if "bias" in args else [])
        grads = torch.autograd.grad(loss, wrt, grad_outputs=grad_outputs)
        result[name] = {"loss": json_array(loss), "gradient": json_array(grads[0]),
                        "weightGradient": json_array(grads[1])}
        if "bias" in args:
            result[name]["biasGradient"] = json_array(grads[2])
    return result


def linear_case(options, inputs):
    encoded = {k: json_array(v) if v.is_floating_point() else ints(v) for k, v in inputs.items()}
    name = "linear_cross_entropy " + " ".join(f"{k}={v}" for k, v in sorted(options.items())) + \
        " " + " ".join(sorted(k for k in inputs if k not in ("input", "target", "linearWeight")))
    c = {"name": name.strip(), "options": dict(options, loss="linear_cross_entropy"),
         "inputs": encoded}
    c.update(run_linear(options, inputs))
    return c


def linear_cases():
    """The linear cross-entropy: hidden states [4, 5, 8] (20 rows, so that the Swift tests
    can cut them into several row chunks or vocabulary blocks), a classifier of 11 classes,
    labels with ignored rows."""
    out = []
    shape, size, classes = (4, 5), 8, 11
    reductions = ("none", "mean", "sum")

    def inputs_for(weighted, with_bias, with_samples, with_upstream, reduction):
        inputs = {"input": randn(*shape, size), "linearWeight": randn(classes, size, scale=0.5),
                  "target": labels(shape, classes, True)}
        if with_bias:
            inputs["bias"] = randn(classes, scale=0.5)
        if with_samples:
            inputs["sampleWeights"] = sample_weights(shape)
        if weighted:
            inputs["weight"] = rand(classes) + 0.5
        if with_upstream:
            inputs["upstreamGradient"] = upstream(reduction, shape)
        return inputs

    for weighted in (False, True):
        for smoothing in (0.0, 0.1):
            for reduction in reductions:
                for with_upstream in (False, True):
                    options = {"reduction": reduction, "labelSmoothing": smoothing}
                    out.append(linear_case(options, inputs_for(
                        weighted, weighted, True, with_upstream, reduction)))
    # z-loss and soft cap, with every other option.
    for extra in ({"zLossScale": 0.1}, {"logitSoftCap": 3.0}):
        for reduction in reductions:
            options = dict(extra, reduction=reduction, labelSmoothing=0.1)
            out.append(linear_case(options, inputs_for(True, True, True, True, reduction)))
    # Upstream gradients alone, and a caller's normaliser with and without sample weights.
    for reduction in reductions:
        out.append(linear_case({"reduction": reduction},
                               inputs_for(True, True, False, True, reduction)))
    for with_samples in (False, True):
        options = {"reduction": "mean", "normalizer": 7.5, "zLossScale": 0.1}
        out.append(linear_case(options, inputs_for(True, True, with_samples, True, "mean")))
    return out


def sigmoid_focal_cases():
    """torchvision's sigmoid focal loss (written out in fixture_common) on [6, 4] and
    [3, 4, 2] inputs, binary and soft targets, with per-leading-row sample weights and
    elementwise upstream gradients."""
    out = []
    for shape in ((6, 4), (3, 4, 2)):
        for alpha, gamma in ((0.25, 2.0), (-1.0, 1.5)):
            for reduction in ("none", "mean", "sum"):
                for with_upstream in (False, True):
                    for with_samples in ((False, True) if with_upstream else (True,)):
                        target = (rand(*shape) > 0.6).double()
                        if gamma != 2.0:
                            target = rand(*shape)
                        inputs = {"input": randn(*shape, scale=2), "target": target}
                        if with_samples:
                            inputs["sampleWeights"] = sample_weights((shape[0],))
                        if with_upstream:
                            inputs["upstreamGradient"] = upstream(reduction, shape)
                        options = {"reduction": reduction, "alpha": alpha, "gamma": gamma}
                        out.append(case("sigmoid_focal", options, inputs))
    return out


def run(kind, options, inputs):
    result = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        args = {}
        for k, v in inputs.items():
            if k == "upstreamGradient":
                continue
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                v = v.to(dtype).clone().requires_grad_(k == "input")
            args[k] = v
        loss = loss_fn(kind, options)(**args)
        up = inputs.get("upstreamGradient")
        grad_outputs = up.to(dtype) if up is not None else torch.ones_like(loss)
        (grad,) = torch.autograd.grad(loss, [args["input"]], grad_outputs=grad_outputs)
        result[name] = {"loss": json_array(loss), "gradient": json_array(grad)}
    return result


def case(kind, options, inputs):
    encoded = {k: json_array(v) if v.is_floating_point() else ints(v) for k, v in inputs.items()}
    name = kind + " " + " ".join(f"{k}={v}" for k, v in sorted(options.items())) + " " + \
        " ".join(sorted(k for k in inputs if k not in ("input", "target")))
    c = {"name": name.strip(), "options": dict(options, loss=kind), "inputs": encoded}
    c.update(run(kind, options, inputs))
    return c


def cases():
    out = []
    reductions = ("none", "mean", "sum")
    # Softmax cross-entropy, class-index labels: classes last and on axis 1.
    for shape, axis in (((6, 5), -1), ((2, 5, 3), 1)):
        classes = shape[axis]
        row_shape = tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
        for weighted in (False, True):
            for ignore in (False, True):
                for smoothing in (0.0, 0.2):
                    for reduction in reductions:
                        for with_upstream in (False, True):
                            if with_upstream and not (weighted and ignore):
                                continue
                            options = {"reduction": reduction, "classAxis": axis,
                                       "labelSmoothing": smoothing}
                            inputs = {"input": randn(*shape, scale=2),
                                      "target": labels(row_shape, classes, ignore),
                                      "sampleWeights": sample_weights(row_shape)}
                            if weighted:
                                inputs["weight"] = rand(classes) + 0.5
                            if with_upstream:
                                inputs["upstreamGradient"] = upstream(reduction, row_shape)
                            out.append(case("cross_entropy", options, inputs))
    # Upstream gradients alone (no sample weights).
    for reduction in reductions:
        inputs = {"input": randn(6, 5, scale=2), "target": labels((6,), 5, True),
                  "weight": rand(5) + 0.5, "upstreamGradient": upstream(reduction, (6,))}
        out.append(case("cross_entropy", {"reduction": reduction, "labelSmoothing": 0.1}, inputs))
    # Probability targets.
    for shape, axis in (((6, 5), -1), ((2, 5, 3), 1)):
        row_shape = tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
        for weighted in (False, True):
            for smoothing in (0.0, 0.1):
                for reduction in reductions:
                    for with_upstream in (False, True):
                        options = {"reduction": reduction, "classAxis": axis,
                                   "labelSmoothing": smoothing}
                        t = torch.softmax(randn(*shape, scale=2), dim=axis)
                        inputs = {"input": randn(*shape, scale=2), "target": f32(t),
                                  "sampleWeights": sample_weights(row_shape)}
                        if weighted:
                            inputs["weight"] = rand(shape[axis]) + 0.5
                        if with_upstream:
                            inputs["upstreamGradient"] = upstream(reduction, row_shape)
                        out.append(case("probabilities", options, inputs))
    # NLL, the softmax focal loss and Poly-1 (labels with ignored rows; Poly-1 also on
    # probability targets).
    for kind in ("nll", "softmax_focal", "poly1", "poly1_probabilities"):
        for weighted in ((False, True) if kind in ("nll", "softmax_focal") else (False,)):
            for reduction in reductions:
                for with_upstream in (False, True):
                    for with_samples in ((False, True) if with_upstream else (True,)):
                        options = {"reduction": reduction}
                        if kind == "softmax_focal":
                            options["gamma"] = 2.0
                        if kind.startswith("poly1"):
                            options["epsilon"] = 1.0
                        x = randn(6, 5, scale=2)
                        if kind == "nll":
                            x = f32(F.log_softmax(x, -1))
                        if kind == "poly1_probabilities":
                            target = f32(torch.softmax(randn(6, 5, scale=2), -1))
                        else:
                            target = labels((6,), 5, True)
                        inputs = {"input": x, "target": target}
                        if with_samples:
                            inputs["sampleWeights"] = sample_weights((6,))
                        if weighted:
                            inputs["weight"] = rand(5) + 0.5
                        if with_upstream:
                            inputs["upstreamGradient"] = upstream(reduction, (6,))
                        out.append(case(kind, options, inputs))
    return out


if __name__ == "__main__":
    all_cases = cases() + linear_cases() + sigmoid_focal_cases()
    os.makedirs(OUT, exist_ok=True)
    doc = {"generator": "Scripts/make_row_scale_fixtures.py", "torch": torch.__version__,
           "python": sys.version.split()[0], "cases": all_cases}
    with open(os.path.join(OUT, "row_scales.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    write_provenance(OUT, "make_row_scale_fixtures.py", {"torch": torch.__version__}, seed=SEED,
                     name="PROVENANCE-row-scales", notes=[
        "device: cpu",
        "format: as PROVENANCE-loss (inputs drawn in float32, results in float64 and float32).",
        "- row_scales.json: per-sample weights and upstream gradients of F.cross_entropy",
        "  (labels and probability targets), F.nll_loss, the softmax focal loss and Poly-1",
        "  (written out in torch); the weighted mean is (l * s).sum() / (s * w[y] * keep).sum()",
        "  over the reduction='none' losses l (PyTorch has no per-sample weight); gradients by",
        "  torch.autograd.grad(loss, x, grad_outputs=g), i.e. loss.backward(gradient=g).",
        f"- {len(all_cases)} cases."])
    print("torch", torch.__version__, len(all_cases), "cases ->", os.path.normpath(OUT))
