#!/usr/bin/env python3
"""Golden values from PyTorch for KL divergence, MSE, multi-margin, focal, z-loss, distillation
and the contrastive losses.

Writes Tests/CrossEntropyTests/Fixtures/<loss>.json and Fixtures/PROVENANCE-loss. Each case
holds its inputs (drawn in float32, so they are exact in both precisions; the case has no
"dtype"), its options, and PyTorch's loss and gradient computed once in float64 and once in
float32, under the keys "float64" and "float32". Every array is {"shape", "data"}.

    $TORCH_PYTHON Scripts/make_loss_fixtures.py

Sources of truth:
- kl_div, mse_loss, multi_margin_loss, cross_entropy: torch.nn.functional.
- sigmoid focal loss: torchvision.ops.sigmoid_focal_loss's formula, written out in torch
  (fixture_common.sigmoid_focal_loss; torchvision need not be installed).
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

from fixture_common import fixtures, json_array, sigmoid_focal_loss, softmax_focal_loss
from fixture_common import write_provenance

OUT = fixtures("CrossEntropyTests")
SEED = 20261129


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
        entry = {"loss": json_array(loss)}
        if grads:
            gs = torch.autograd.grad(loss.sum(), [args[k] for k in grads], allow_unused=True)
            for k, g in zip(grads, gs):
                entry["gradient" if k == grads[0] else k + "Gradient"] = json_array(
                    g if g is not None else torch.zeros_like(args[k]))
        result[name] = entry
    return result


def encode_inputs(inputs):
    out = {}
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor):
            out[k] = json_array(v) if v.is_floating_point() else ints(v)
        else:
            out[k] = v
    return out


def case(name, fn, inputs, grads, options):
    c = {"name": name, "options": options, "inputs": encode_inputs(inputs)}
    c.update(run(fn, inputs, grads))
    return c


g = torch.Generator().manual_seed(SEED)


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


def write(name, cases):
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "generator": "Scripts/make_loss_fixtures.py",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "cases": cases,
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
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
                        sigmoid_focal_loss(input, target, a, gm, r),
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


# ---------------------------------------------------------------- z-loss and soft-capping
def cross_entropy_z(input, target, weight=None, smoothing=0.0, scale=0.0, cap=None,
                    reduction="mean", ignore_index=-100, probabilities=False):
    """F.cross_entropy on soft-capped logits plus Liger-Kernel's z-loss (class axis 1)."""
    x = cap * torch.tanh(input / cap) if cap is not None else input
    ce = F.cross_entropy(x, target, weight=weight, ignore_index=ignore_index,
                         reduction=reduction, label_smoothing=smoothing)
    lse = torch.logsumexp(x, 1)
    keep = torch.ones_like(lse, dtype=torch.bool) if probabilities else target != ignore_index
    z = torch.where(keep, scale * lse * lse, torch.zeros_like(lse))
    if reduction == "none":
        return ce + z
    if reduction == "sum":
        return ce + z.sum()
    return ce + z.sum() / keep.sum()


def zloss_cases():
    cases = []
    specs = [
        # (shape, scale, cap, smoothing, weight, ignore, probabilities)
        ((6, 5), 1e-4, None, 0.0, False, False, False),
        ((6, 5), 0.1, None, 0.0, False, True, False),
        ((6, 5), 0.1, None, 0.1, True, True, False),
        ((6, 5), 0.0, 3.0, 0.0, False, False, False),
        ((6, 5), 0.0, 1.5, 0.2, True, True, False),
        ((6, 5), 0.05, 2.0, 0.0, True, True, False),
        ((2, 4, 3), 0.05, 2.5, 0.1, False, True, False),
        ((6, 5), 0.05, 2.0, 0.1, False, False, True),
    ]
    for shape, scale, cap, smoothing, with_weight, ignore, probabilities in specs:
        for reduction in ("none", "mean", "sum"):
            x = randn(*shape, scale=3.0)
            c = shape[1]
            if probabilities:
                y = f32(F.softmax(randn(*shape), 1))
            else:
                label_shape = [shape[0]] + list(shape[2:])
                y = torch.randint(0, c, label_shape, generator=g)
                if ignore:
                    y.view(-1)[1::3] = -100
            inputs = {"input": x, "target": y}
            if with_weight:
                inputs["weight"] = rand(c) + 0.5

            def fn(input, target, weight=None, sm=smoothing, sc=scale, cp=cap, r=reduction,
                   pr=probabilities):
                return cross_entropy_z(input, target, weight, sm, sc, cp, r, -100, pr)

            options = {"reduction": reduction, "zLossScale": scale, "labelSmoothing": smoothing,
                       "classAxis": 1, "probabilities": probabilities}
            if cap is not None:
                options["logitSoftCap"] = cap
            c_ = case(f"z-loss shape={list(shape)} {options} weight={with_weight}", fn, inputs,
                      ["input"], options)
            # The z-loss on its own (weights and smoothing do not enter it).
            zonly = run(lambda input, target, sc=scale, cp=cap, r=reduction, pr=probabilities:
                        cross_entropy_z(input, target, None, 0.0, sc, cp, r, -100, pr)
                        - cross_entropy_z(input, target, None, 0.0, 0.0, cp, r, -100, pr),
                        {"input": x, "target": y}, [])
            for precision in ("float64", "float32"):
                c_[precision]["zLoss"] = zonly[precision]["loss"]
            cases.append(c_)
    return cases


# ---------------------------------------------------------------- distillation
def distillation(student, teacher, target=None, temperature=1.0, hard_weight=0.0,
                 reduction="mean", ignore_index=-100, class_axis=-1):
    s = student.movedim(class_axis, -1)
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
        keep = y != ignore_index
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


def distillation_cases():
    cases = []
    specs = [
        # (shape, axis, T, w, labels, ignore)
        ((4, 6), -1, 1.0, 0.0, False, False),
        ((4, 6), -1, 2.0, 0.0, False, False),
        ((4, 6), -1, 4.0, 0.5, True, False),
        ((6, 5), -1, 2.0, 0.3, True, True),
        ((6, 5), -1, 0.5, 0.0, True, True),
        ((2, 5, 3), 1, 3.0, 0.7, True, True),
        ((3, 4), -1, 1.0, 1.0, True, False),
    ]
    for shape, axis, temperature, hard_weight, with_labels, ignore in specs:
        for reduction in ("none", "mean", "sum"):
            student = randn(*shape, scale=2.0)
            teacher = randn(*shape, scale=4.0)
            inputs = {"input": student, "teacher": teacher}
            if with_labels:
                label_shape = list(shape)
                del label_shape[axis]
                y = torch.randint(0, shape[axis], label_shape, generator=g)
                if ignore:
                    y.view(-1)[::3] = -100
                inputs["target"] = y

            def fn(input, teacher, target=None, T=temperature, w=hard_weight, r=reduction,
                   ax=axis):
                return distillation(input, teacher, target, T, w, r, -100, ax)

            cases.append(case(
                f"distillation shape={list(shape)} axis={axis} T={temperature} w={hard_weight}"
                f" labels={with_labels} ignore={ignore} {reduction}",
                fn, inputs, ["input"],
                {"temperature": temperature, "hardLabelWeight": hard_weight,
                 "reduction": reduction, "classAxis": axis}))
    # Hinton's usual spelling, to pin the equivalence with batchmean.
    student, teacher = randn(5, 7), randn(5, 7, scale=3.0)
    cases.append(case(
        "distillation as F.kl_div batchmean * T^2",
        lambda input, teacher: F.kl_div(F.log_softmax(input / 2.5, -1),
                                        F.softmax(teacher / 2.5, -1),
                                        reduction="batchmean") * 2.5 ** 2,
        {"input": student, "teacher": teacher}, ["input"],
        {"temperature": 2.5, "hardLabelWeight": 0.0, "reduction": "mean", "classAxis": -1}))
    return cases


# ---------------------------------------------------------------- contrastive
def clip_loss(imageEmbeddings, textEmbeddings, logitScale, normalize=True):
    image, text = imageEmbeddings, textEmbeddings
    if normalize:
        image = F.normalize(image, dim=-1)
        text = F.normalize(text, dim=-1)
    logits = logitScale.exp() * image @ text.T
    labels = torch.arange(image.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def contrastive_cases():
    cases = []
    for n, m, temperature in ((4, 4, 0.07), (3, 5, 0.5), (6, 6, 1.0), (1, 3, 0.2)):
        for reduction in ("none", "mean", "sum"):
            sim = f32(torch.tanh(randn(n, m)))
            cases.append(case(
                f"infonce {n}x{m} T={temperature} {reduction}",
                lambda similarities, temperature, r=reduction: F.cross_entropy(
                    similarities / temperature, torch.arange(similarities.shape[0]),
                    reduction=r),
                {"similarities": sim, "temperature": f32(torch.tensor(temperature))},
                ["similarities", "temperature"],
                {"kind": "infonce", "reduction": reduction}))
    for n, d, normalize, scale in ((4, 3, True, math.log(1 / 0.07)), (5, 8, True, 1.0),
                                   (3, 4, False, 0.5), (1, 2, True, 2.0)):
        cases.append(case(
            f"clip {n}x{d} normalize={normalize} logit_scale={scale:.4f}",
            lambda imageEmbeddings, textEmbeddings, logitScale, nz=normalize: clip_loss(
                imageEmbeddings, textEmbeddings, logitScale, nz),
            {"imageEmbeddings": randn(n, d), "textEmbeddings": randn(n, d),
             "logitScale": f32(torch.tensor(scale))},
            ["imageEmbeddings", "textEmbeddings", "logitScale"],
            {"kind": "clip", "normalize": normalize}))
    return cases


# ---------------------------------------------------------------- broadcasting (kl_div, mse)
def broadcast_cases():
    """Input and target of different shapes, broadcast as torch.broadcast_tensors."""
    kl, mse = [], []
    pairs = [((3, 4), (4,)), ((2, 1, 3), (4, 3)), ((4,), (2, 4)), ((5, 1), (1, 3)), ((), (3,))]
    for input_shape, target_shape in pairs:
        for reduction in ("none", "mean", "sum", "batchmean"):
            for log_target in (False, True):
                x = -rand(*input_shape) * 3
                t = -rand(*target_shape) * 3 if log_target else rand(*target_shape)
                kl.append(case(
                    f"kl broadcast {list(input_shape)} with {list(target_shape)} {reduction}"
                    f" log_target={log_target}",
                    lambda input, target, r=reduction, lt=log_target: F.kl_div(
                        input, target, reduction=r, log_target=lt),
                    {"input": x, "target": t}, ["input"],
                    {"reduction": reduction, "logTarget": log_target}))
            if reduction == "batchmean":
                continue
            mse.append(case(
                f"mse broadcast {list(input_shape)} with {list(target_shape)} {reduction}",
                lambda input, target, r=reduction: F.mse_loss(input, target, reduction=r),
                {"input": randn(*input_shape), "target": randn(*target_shape)}, ["input"],
                {"reduction": reduction}))
    return kl, mse


if __name__ == "__main__":
    import warnings
    warnings.filterwarnings("ignore")  # kl_div's "mean" and mse_loss's broadcasting warnings
    torch.set_printoptions(precision=17)
    files = [("kl_div", kl_cases()), ("mse", mse_cases()),
             ("multi_margin", multi_margin_cases()), ("focal", focal_cases()),
             ("zloss", zloss_cases()), ("distillation", distillation_cases()),
             ("contrastive", contrastive_cases())]
    kl_broadcast, mse_broadcast = broadcast_cases()
    files[0][1].extend(kl_broadcast)
    files[1][1].extend(mse_broadcast)
    for name, cases in files:
        write(name, cases)
    write_provenance(OUT, "make_loss_fixtures.py", {"torch": torch.__version__}, seed=SEED,
                     name="PROVENANCE-loss", notes=[
        "device: cpu",
        "format: JSON {\"generator\", \"torch\", \"python\", \"cases\": [...]}; each case",
        "holds its name, options, inputs (drawn in float32, so exact in both precisions; no",
        "dtype), and the reference results computed in float64 and in float32 under those keys;",
        "arrays are {\"shape\", \"data\"}. Non-finite numbers are the strings \"nan\", \"inf\",",
        "\"-inf\".",
        "- kl_div.json: F.kl_div, reductions none/mean/sum/batchmean, log_target both ways.",
        "- mse.json: F.mse_loss.",
        "- multi_margin.json: F.multi_margin_loss (p, margin, weight, reductions; OpInfo-like",
        "  shapes).",
        "- zloss.json: F.cross_entropy on soft-capped logits plus the z-loss (Liger-Kernel",
        "  semantics), with the z-loss alone.",
        "- distillation.json: F.kl_div(log_softmax(s / T), softmax(t / T)) * T^2 mixed with",
        "  F.cross_entropy, over non-ignored rows.",
        "- contrastive.json: InfoNCE as F.cross_entropy(S / T, arange(N)) and open_clip's",
        "  ClipLoss.",
        "- focal.json: torchvision's sigmoid_focal_loss formula (written out in torch) and a",
        "  softmax focal loss built from F.nll_loss(weight=alpha, reduction=\"none\").",
        "- poly1.json: written by Scripts/make_poly_fixtures.py from",
        "  optax.losses.poly_loss_cross_entropy (JAX, float64 and float32); the optax, JAX and",
        "  Python versions are in its header."])
    print("torch", torch.__version__, "->", os.path.normpath(OUT))
