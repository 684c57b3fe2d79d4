#!/usr/bin/env python3
"""Golden cases for `xent evaluate`, computed with PyTorch.

Each case is a folder with the input files, `args.txt` (the command-line arguments after
`xent evaluate`, one per line, file names relative to the folder), and PyTorch's loss
(`expected-loss.npy`) and gradient (`expected-grad.npy`, of the sum of the losses for reduction
none). Two fixture folders, each rewritten whole with its PROVENANCE:

- Tests/xentTests/Fixtures/evaluate/ (EvaluateTests.swift): cross-entropy, nll,
  binary-cross-entropy and binary-cross-entropy-with-logits, and the cases with sample weights
  and upstream gradients (linear-cross-entropy ones also hold expected-classifier-grad.npy and
  expected-bias-grad.npy);
- Tests/xentTests/Fixtures/evaluate-kl-mse-margin-focal/ (KLMSEMarginFocalEvaluateTests.swift):
  kl-div, mse, multi-margin, focal and softmax-focal. The shapes follow PyTorch's OpInfo samples for kl_div,
  mse_loss and multi_margin_loss (S = 5, M = 10); focal uses torchvision's sigmoid_focal_loss
  formula written out in torch.
- Tests/xentTests/Fixtures/evaluate-upstream/ (UpstreamEvaluateTests.swift): --upstream-gradient
  of binary-cross-entropy(-with-logits), kl-div, mse, multi-margin, distillation and ctc, and
  info-nce and clip (their gradients with respect to the temperature, the text embeddings and
  the logit scale too: expected-temperature-grad.npy, expected-text-grad.npy,
  expected-logit-scale-grad.npy); the gradients are torch.autograd.grad(loss, x,
  grad_outputs=G), i.e. loss.backward(gradient=G), or of loss.sum() without G.

Run: $TORCH_PYTHON Scripts/make_evaluate_fixtures.py
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

from fixture_common import fixtures, sigmoid_focal_loss, softmax_focal_loss, write_case_folder
from fixture_common import write_provenance

CROSS_ENTROPY_OUT = fixtures("xentTests", "evaluate")
UPSTREAM_OUT = fixtures("xentTests", "evaluate-upstream")
UPSTREAM_SEED = 20261204
OTHER_LOSSES_OUT = fixtures("xentTests", "evaluate-kl-mse-margin-focal")
CROSS_ENTROPY_SEED = 20261129
OTHER_LOSSES_SEED = 5
S, M = 5, 10


def case(out, name, loss, function, x, y, args=(), weight=None, pos_weight=None, **kwargs):
    """Writes folder out/name: x and y (and the weights), PyTorch's loss and gradient of
    `function(x, y, **kwargs)`, and args.txt."""
    arrays = {"x.npy": x, "y.npy": y}
    argv = ["--loss", loss, "--input", "x.npy", "--target", "y.npy", *args]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y)
    if ty.dtype in (torch.int32, torch.uint8) and loss in ("cross-entropy", "nll"):
        ty = ty.long()  # PyTorch wants int64 (or uint8); xent also takes int32.
    if weight is not None:
        arrays["w.npy"] = weight
        argv += ["--weight", "w.npy"]
        kwargs["weight"] = torch.tensor(weight)
    if pos_weight is not None:
        arrays["pw.npy"] = pos_weight
        argv += ["--pos-weight", "pw.npy"]
        kwargs["pos_weight"] = torch.tensor(pos_weight)
    value = function(tx, ty, **kwargs)
    value.sum().backward()
    arrays["expected-loss.npy"] = value.detach().numpy()
    arrays["expected-grad.npy"] = tx.grad.numpy()
    write_case_folder(os.path.join(out, name), argv, arrays)


def fresh(out, seed):
    """Empties `out` and writes its PROVENANCE."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    write_provenance(
        out, "make_evaluate_fixtures.py", {"torch": torch.__version__, "numpy": np.__version__},
        seed=seed, notes=[
            "device: cpu",
            "Each folder: args.txt (xent evaluate arguments), inputs, and PyTorch's",
            "expected-loss.npy and expected-grad.npy (of loss.sum() for reduction none)."])


def cross_entropy_cases():
    """cross-entropy, nll, binary-cross-entropy(-with-logits) in evaluate/."""
    out = CROSS_ENTROPY_OUT
    fresh(out, CROSS_ENTROPY_SEED)
    rng = np.random.default_rng(CROSS_ENTROPY_SEED)

    def labels(shape, classes, ignored=0.0):
        y = rng.integers(0, classes, size=shape)
        y[rng.random(shape) < ignored] = -100
        return y

    case(out, "ce-labels-f32", "cross-entropy", F.cross_entropy,
         rng.standard_normal((6, 5)).astype(np.float32), labels((6,), 5),
         ["--label-smoothing", "0.1"], label_smoothing=0.1)
    case(out, "ce-axis1-weight-ignore-smoothing-f64", "cross-entropy", F.cross_entropy,
         rng.standard_normal((3, 4, 2, 2)), labels((3, 2, 2), 4, ignored=0.3),
         ["--class-axis", "1", "--label-smoothing", "0.2", "--reduction", "mean"],
         weight=rng.random(4) + 0.5, label_smoothing=0.2)
    case(out, "ce-probabilities-none-f32", "cross-entropy", F.cross_entropy,
         rng.standard_normal((4, 3)).astype(np.float32),
         rng.dirichlet(np.ones(3), 4).astype(np.float32),
         ["--reduction", "none", "--label-smoothing", "0.05"], reduction="none",
         label_smoothing=0.05)
    case(out, "ce-int32-sum-ignore-f32", "cross-entropy", F.cross_entropy,
         rng.standard_normal((7, 3)).astype(np.float32), labels((7,), 3).astype(np.int32),
         ["--reduction", "sum", "--ignore-index", "1"], reduction="sum", ignore_index=1)
    case(out, "ce-uint8-f16", "cross-entropy", F.cross_entropy,
         rng.standard_normal((5, 4)).astype(np.float16), labels((5,), 4).astype(np.uint8))
    case(out, "ce-all-ignored-f32", "cross-entropy", F.cross_entropy,
         rng.standard_normal((3, 4)).astype(np.float32), np.full(3, -100))
    case(out, "nll-axis1-weight-sum-f32", "nll", F.nll_loss,
         torch.log_softmax(
             torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(1)), 1).numpy(),
         labels((4, 5), 3), ["--class-axis", "1", "--reduction", "sum", "--ignore-index", "2"],
         weight=np.array([0.2, 1.0, 3.0], dtype=np.float32), reduction="sum", ignore_index=2)
    case(out, "bce-weight-f64", "binary-cross-entropy", F.binary_cross_entropy,
         rng.uniform(0.01, 0.99, (3, 4)), rng.random((3, 4)), weight=rng.random(4))
    case(out, "bce-with-logits-weights-none-f32", "binary-cross-entropy-with-logits",
         F.binary_cross_entropy_with_logits,
         (rng.standard_normal((2, 3, 4)) * 3).astype(np.float32),
         (rng.random((2, 3, 4)) > 0.5).astype(np.float32), ["--reduction", "none"],
         weight=rng.random(4).astype(np.float32),
         pos_weight=(rng.random((3, 1)) * 3).astype(np.float32), reduction="none")


def row_scale_case(out, name, x, y, args, reduction="mean", weight=None, sample_weight=None,
                   upstream=None, normalizer=None, soft_cap=None, loss="cross-entropy"):
    """A cross-entropy case with the training-loop options: per-row sample weights (the mean
    divides by the sum of sample weight times class weight over non-ignored rows; PyTorch has
    no such option, so the reference is built from reduction='none'), an upstream gradient
    (loss.backward(gradient=g)), a normaliser (the mean divides by it) and a logit soft cap
    (c * tanh(x / c) before the loss). `loss` may also be nll (x holds log-probabilities) or
    softmax-focal (gamma 2, --weight = alpha; its mean divides by the sum of the non-ignored
    rows' sample weights, without alpha)."""
    arrays = {"x.npy": x, "y.npy": y}
    argv = ["--loss", loss, "--input", "x.npy", "--target", "y.npy", *args,
            "--reduction", reduction]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y).long()
    w = None
    if weight is not None:
        arrays["w.npy"] = weight
        argv += ["--weight", "w.npy"]
        w = torch.tensor(weight)
    logits = tx if soft_cap is None else soft_cap * torch.tanh(tx / soft_cap)
    if soft_cap is not None:
        argv += ["--logit-soft-cap", repr(soft_cap)]
    if loss == "nll":
        rows = F.nll_loss(logits, ty, weight=w, reduction="none")
    elif loss == "softmax-focal":
        rows = softmax_focal_loss(logits, ty, weight=w, reduction="none")
    else:
        rows = F.cross_entropy(logits, ty, weight=w, reduction="none")
    kept = (ty != -100).to(rows.dtype)
    s = torch.ones_like(rows)
    if sample_weight is not None:
        arrays["s.npy"] = sample_weight
        argv += ["--sample-weight", "s.npy"]
        s = torch.tensor(sample_weight)
    rows = rows * s
    if reduction == "none":
        value = rows
    elif reduction == "sum":
        value = rows.sum()
    else:
        unweighted = w is None or loss == "softmax-focal"
        class_weight = torch.ones_like(rows) if unweighted else w[ty.clamp(min=0)]
        denominator = (s * class_weight * kept).sum() if normalizer is None else normalizer
        value = rows.sum() / denominator
    if normalizer is not None:
        argv += ["--normalizer", repr(normalizer)]
    g = torch.ones_like(value)
    if upstream is not None:
        arrays["g.npy"] = upstream
        argv += ["--upstream-gradient", "g.npy"]
        g = torch.tensor(upstream)
    value.backward(gradient=g)
    arrays["expected-loss.npy"] = value.detach().numpy()
    arrays["expected-grad.npy"] = tx.grad.numpy()
    write_case_folder(os.path.join(out, name), argv, arrays)


def row_scale_cases():
    """cross-entropy, nll, softmax-focal, linear-cross-entropy and focal with sample weights,
    upstream gradients, a normaliser and a soft cap, in evaluate/ (after the other cases, so
    that theirs are unchanged)."""
    out = CROSS_ENTROPY_OUT
    rng = np.random.default_rng(CROSS_ENTROPY_SEED + 1)
    y = rng.integers(0, 5, size=8)
    y[[1, 6]] = -100
    row_scale_case(out, "ce-sample-weight-class-weight-ignore-mean-f64",
                   rng.standard_normal((8, 5)), y, [], weight=rng.random(5) + 0.5,
                   sample_weight=rng.uniform(0.5, 2, 8))
    upstream = rng.standard_normal(7).astype(np.float32)
    upstream[2] = 0
    row_scale_case(out, "ce-sample-weight-upstream-none-f32",
                   rng.standard_normal((7, 4)).astype(np.float32), rng.integers(0, 4, size=7),
                   [], reduction="none", sample_weight=rng.uniform(0.5, 2, 7).astype(np.float32),
                   upstream=upstream)
    row_scale_case(out, "ce-normalizer-soft-cap-upstream-mean-f32",
                   (rng.standard_normal((6, 9)) * 8).astype(np.float32),
                   rng.integers(0, 9, size=6), [], normalizer=10.0, soft_cap=5.0,
                   upstream=np.array(-2.5, dtype=np.float32))
    y = rng.integers(0, 4, size=6)
    y[3] = -100
    row_scale_case(out, "nll-sample-weight-weight-ignore-mean-f64",
                   torch.log_softmax(torch.tensor(rng.standard_normal((6, 4))), 1).numpy(), y, [],
                   weight=rng.random(4) + 0.5, sample_weight=rng.uniform(0.5, 2, 6), loss="nll")
    row_scale_case(out, "softmax-focal-sample-weight-upstream-none-f32",
                   rng.standard_normal((5, 3)).astype(np.float32), rng.integers(0, 3, size=5), [],
                   reduction="none", weight=(rng.random(3) + 0.5).astype(np.float32),
                   sample_weight=rng.uniform(0.5, 2, 5).astype(np.float32),
                   upstream=rng.standard_normal(5).astype(np.float32), loss="softmax-focal")
    y = rng.integers(0, 3, size=6)
    y[0] = -100
    row_scale_case(out, "softmax-focal-sample-weight-ignore-mean-f64",
                   rng.standard_normal((6, 3)), y, [], sample_weight=rng.uniform(0.5, 2, 6),
                   loss="softmax-focal")
    # linear-cross-entropy (the hidden, classifier and bias gradients) and focal.
    y = rng.integers(0, 6, size=7)
    y[[2, 5]] = -100
    linear_row_scale_case(out, "linear-sample-weight-upstream-smoothing-none-f32",
                          rng.standard_normal((7, 4)).astype(np.float32),
                          (rng.standard_normal((6, 4)) * 0.5).astype(np.float32),
                          (rng.standard_normal(6) * 0.5).astype(np.float32), y, "none",
                          weight=(rng.random(6) + 0.5).astype(np.float32),
                          sample_weight=rng.uniform(0.5, 2, 7).astype(np.float32),
                          upstream=rng.standard_normal(7).astype(np.float32), smoothing=0.1)
    y = rng.integers(0, 5, size=(2, 3))
    y[1, 0] = -100
    linear_row_scale_case(out, "linear-sample-weight-class-weight-ignore-mean-f64",
                          rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)) * 0.5,
                          None, y, "mean", weight=rng.random(5) + 0.5,
                          sample_weight=rng.uniform(0.5, 2, (2, 3)),
                          upstream=np.array(1.5))
    linear_row_scale_case(out, "linear-normalizer-upstream-mean-f32",
                          rng.standard_normal((5, 3)).astype(np.float32),
                          rng.standard_normal((4, 3)).astype(np.float32),
                          rng.standard_normal(4).astype(np.float32), rng.integers(0, 4, size=5),
                          "mean", normalizer=12.0, upstream=np.array(-2.0, dtype=np.float32))
    upstream = rng.standard_normal((4, 3)).astype(np.float32)
    upstream[0, 1] = 0
    focal_row_scale_case(out, "focal-sample-weight-upstream-none-f32",
                         (rng.standard_normal((4, 3)) * 2).astype(np.float32),
                         (rng.random((4, 3)) > 0.6).astype(np.float32), "none",
                         sample_weight=rng.uniform(0.5, 2, 4).astype(np.float32),
                         upstream=upstream)
    focal_row_scale_case(out, "focal-sample-weight-mean-f64", rng.standard_normal((3, 2, 4)) * 2,
                         rng.random((3, 2, 4)), "mean", sample_weight=rng.uniform(0.5, 2, 3),
                         alpha=-1.0, gamma=1.5)


def linear_row_scale_case(out, name, h, w, b, y, reduction, weight=None, sample_weight=None,
                          upstream=None, normalizer=None, smoothing=0.0):
    """A linear-cross-entropy case: F.cross_entropy(F.linear(h, w, b), y, reduction="none")
    times the sample weights, reduced (the mean over the sum of sample weight times class weight
    of the non-ignored rows, or the normaliser), and its gradients with respect to h, w and b by
    loss.backward(gradient=g)."""
    arrays = {"h.npy": h, "w.npy": w, "y.npy": y}
    argv = ["--loss", "linear-cross-entropy", "--input", "h.npy", "--classifier", "w.npy",
            "--target", "y.npy", "--reduction", reduction]
    th = torch.tensor(h, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = None
    if b is not None:
        arrays["b.npy"] = b
        argv += ["--bias", "b.npy"]
        tb = torch.tensor(b, requires_grad=True)
    ty = torch.tensor(y).long().reshape(-1)
    cw = None
    if weight is not None:
        arrays["cw.npy"] = weight
        argv += ["--weight", "cw.npy"]
        cw = torch.tensor(weight)
    if smoothing:
        argv += ["--label-smoothing", repr(smoothing)]
    logits = F.linear(th, tw, tb).reshape(-1, w.shape[0])
    rows = F.cross_entropy(logits, ty, weight=cw, label_smoothing=smoothing, reduction="none")
    s = torch.ones_like(rows)
    if sample_weight is not None:
        arrays["s.npy"] = sample_weight
        argv += ["--sample-weight", "s.npy"]
        s = torch.tensor(sample_weight).reshape(-1)
    rows = rows * s
    if reduction == "none":
        value = rows.reshape(y.shape)
    elif reduction == "sum":
        value = rows.sum()
    else:
        kept = (ty != -100).to(rows.dtype)
        class_weight = torch.ones_like(rows) if cw is None else cw[ty.clamp(min=0)]
        denominator = (s * class_weight * kept).sum() if normalizer is None else normalizer
        value = rows.sum() / denominator
    if normalizer is not None:
        argv += ["--normalizer", repr(normalizer)]
    g = torch.ones_like(value)
    if upstream is not None:
        arrays["g.npy"] = upstream
        argv += ["--upstream-gradient", "g.npy"]
        g = torch.tensor(upstream)
    value.backward(gradient=g)
    arrays["expected-loss.npy"] = value.detach().numpy()
    arrays["expected-grad.npy"] = th.grad.numpy()
    arrays["expected-classifier-grad.npy"] = tw.grad.numpy()
    if tb is not None:
        arrays["expected-bias-grad.npy"] = tb.grad.numpy()
    write_case_folder(os.path.join(out, name), argv, arrays)


def focal_row_scale_case(out, name, x, y, reduction, sample_weight=None, upstream=None,
                         alpha=0.25, gamma=2.0):
    """A focal case: torchvision's sigmoid_focal_loss(x, y, reduction="none") times the sample
    weight of each leading row, reduced as torchvision reduces (the mean over all elements), and
    its gradient by loss.backward(gradient=g)."""
    arrays = {"x.npy": x, "y.npy": y}
    argv = ["--loss", "focal", "--input", "x.npy", "--target", "y.npy", "--reduction", reduction,
            "--alpha", repr(alpha), "--gamma", repr(gamma)]
    tx = torch.tensor(x, requires_grad=True)
    elements = sigmoid_focal_loss(tx, torch.tensor(y), alpha, gamma, "none")
    if sample_weight is not None:
        arrays["s.npy"] = sample_weight
        argv += ["--sample-weight", "s.npy"]
        s = torch.tensor(sample_weight)
        elements = elements * s.reshape(tuple(s.shape) + (1,) * (x.ndim - 1))
    value = {"none": elements, "sum": elements.sum(), "mean": elements.mean()}[reduction]
    g = torch.ones_like(value)
    if upstream is not None:
        arrays["g.npy"] = upstream
        argv += ["--upstream-gradient", "g.npy"]
        g = torch.tensor(upstream)
    value.backward(gradient=g)
    arrays["expected-loss.npy"] = value.detach().numpy()
    arrays["expected-grad.npy"] = tx.grad.numpy()
    write_case_folder(os.path.join(out, name), argv, arrays)


def generic_case(out, name, loss, x, y, args, rows_of, reduction, extra_arrays=None):
    """A case whose reference is built from per-row losses `rows_of(tx, ty)` (zero on ignored
    rows) and the count of non-ignored rows, for losses PyTorch has no function for."""
    arrays = {"x.npy": x, "y.npy": y, **(extra_arrays or {})}
    argv = ["--loss", loss, "--input", "x.npy", "--target", "y.npy", *args,
            "--reduction", reduction]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y)
    rows, kept = rows_of(tx, ty)
    value = {"none": rows, "sum": rows.sum(), "mean": rows.sum() / kept}[reduction]
    value.sum().backward()
    arrays["expected-loss.npy"] = value.detach().numpy()
    arrays["expected-grad.npy"] = tx.grad.numpy()
    write_case_folder(os.path.join(out, name), argv, arrays)


def poly_rows(epsilon):
    """Poly-1 as optax.poly_loss_cross_entropy: -sum t log p + epsilon sum t (1 - p) per row;
    class indices become one-hot rows, and rows labelled -100 are 0."""
    def rows_of(tx, ty):
        logp = F.log_softmax(tx, -1)
        if ty.dtype.is_floating_point:
            t, kept = ty, torch.ones(tx.shape[0], dtype=tx.dtype)
        else:
            kept = (ty != -100).to(tx.dtype)
            t = F.one_hot(ty.clamp(min=0).long(), tx.shape[-1]).to(tx.dtype) * kept[:, None]
        rows = -(t * logp).sum(-1) + epsilon * (t * (1 - logp.exp())).sum(-1)
        return rows, kept.sum()
    return rows_of


def distillation_rows(teacher, temperature, hard_weight):
    """(1 - w) T^2 KL(softmax(t / T) || softmax(s / T)) + w CE(s, y) per row, 0 where y is -100;
    the mean divides by the non-ignored rows ("batchmean")."""
    def rows_of(tx, ty):
        t = torch.tensor(teacher)
        kl = F.kl_div(F.log_softmax(tx / temperature, -1), F.softmax(t / temperature, -1),
                      reduction="none").sum(-1) * temperature ** 2
        ce = F.cross_entropy(tx, ty.long(), reduction="none")
        kept = (ty != -100).to(tx.dtype)
        return ((1 - hard_weight) * kl + hard_weight * ce) * kept, kept.sum()
    return rows_of


def more_loss_cases():
    """poly and distillation in evaluate/ (after the other cases, so theirs are unchanged)."""
    out = CROSS_ENTROPY_OUT
    rng = np.random.default_rng(CROSS_ENTROPY_SEED + 2)
    y = rng.integers(0, 5, size=6)
    y[2] = -100
    generic_case(out, "poly-labels-ignore-mean-f32", "poly",
                 rng.standard_normal((6, 5)).astype(np.float32), y, ["--epsilon", "1.0"],
                 poly_rows(1.0), "mean")
    generic_case(out, "poly-probabilities-none-f64", "poly", rng.standard_normal((4, 3)),
                 rng.dirichlet(np.ones(3), 4), [], poly_rows(2.0), "none")
    teacher = (rng.standard_normal((5, 4)) * 2).astype(np.float32)
    y = rng.integers(0, 4, size=5)
    y[4] = -100
    generic_case(out, "distillation-hard-weight-ignore-mean-f32", "distillation",
                 (rng.standard_normal((5, 4)) * 2).astype(np.float32), y,
                 ["--teacher", "t.npy", "--temperature", "2.0", "--hard-label-weight", "0.3"],
                 distillation_rows(teacher, 2.0, 0.3), "mean", {"t.npy": teacher})
    teacher = rng.standard_normal((3, 6))
    generic_case(out, "distillation-sum-f64", "distillation", rng.standard_normal((3, 6)),
                 rng.integers(0, 6, size=3), ["--teacher", "t.npy", "--temperature", "0.5"],
                 distillation_rows(teacher, 0.5, 0.0), "sum", {"t.npy": teacher})


def other_loss_cases():
    """kl-div, mse, multi-margin, focal and softmax-focal in evaluate-kl-mse-margin-focal/."""
    out = OTHER_LOSSES_OUT
    fresh(out, OTHER_LOSSES_SEED)
    rng = np.random.default_rng(OTHER_LOSSES_SEED)

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
                case(out, f"kl-div-{len(shape)}d-{reduction}{'-log' if log_target else ''}-{tag}",
                     "kl-div", F.kl_div, x, y, args, reduction=reduction, log_target=log_target)

    # mse_loss: OpInfo sample_inputs_loss.
    for shape, reduction in (((), "mean"), ((S,), "mean"), ((S,), "sum"), ((S,), "none"),
                             ((S, S), "mean"), ((S, 1), "mean"), ((S, S, S), "mean")):
        for dtype, tag in ((np.float32, "f32"), (np.float64, "f64")):
            case(out, f"mse-{'x'.join(map(str, shape)) or 'scalar'}-{reduction}-{tag}", "mse",
                 F.mse_loss, rng.standard_normal(shape).astype(dtype),
                 rng.standard_normal(shape).astype(dtype), ["--reduction", reduction],
                 reduction=reduction)

    # Broadcast shapes (PyTorch warns, then broadcasts).
    case(out, "mse-broadcast-f64", "mse", F.mse_loss, rng.standard_normal((S, 1)),
         rng.standard_normal((2, 1, 3)), ["--reduction", "none"], reduction="none")
    case(out, "kl-div-broadcast-batchmean-f32", "kl-div", F.kl_div,
         log_softmax((4, 3), np.float32), softmax((3,), np.float32),
         ["--reduction", "batchmean"], reduction="batchmean")

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
            weight = (rng.uniform(-10, 10, shape[-1]).astype(dtype) if opts.get("weight")
                      else None)
            case(out, f"multi-margin-{name}-{tag}", "multi-margin", F.multi_margin_loss,
                 rng.standard_normal(shape).astype(dtype), y.astype(np.int64), args,
                 weight=weight, **kwargs)

    # sigmoid focal: torchvision's formula, its defaults and others.
    for shape, alpha, gamma, reduction in (((4, 6), None, None, "mean"), ((8,), 0.5, 1.0, "sum"),
                                           ((2, 3, 4), -1.0, 2.0, "none"),
                                           ((5, 5), 0.9, 0.0, "mean"),
                                           ((3, 7), 0.25, 3.5, "none")):
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
            case(out, f"focal-{len(shape)}d-{reduction}-a{alpha}-g{gamma}-{tag}", "focal",
                 sigmoid_focal_loss, x, y, args, **kwargs)

    # softmax focal: -alpha[y] (1 - p_y)^gamma log p_y, as make_loss_fixtures.py.
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
            case(out, f"softmax-focal-{name}-{tag}", "softmax-focal", softmax_focal_loss, x, y,
                 args, weight=weight, **kwargs)


def upstream_case(out, name, argv, arrays, function, tensors, upstream=None, extra=()):
    """Writes folder out/name: `arrays` (file -> array, "x.npy" the input), args.txt
    (`argv`), PyTorch's loss `function(**tensors)` and its gradients with respect to
    tensors["x"] and the tensors named in `extra` (name -> expected file), by
    torch.autograd.grad with grad_outputs = `upstream` (written as g.npy and passed with
    --upstream-gradient), or of loss.sum() without it."""
    loss = function(**tensors)
    if upstream is not None:
        arrays["g.npy"] = upstream
        argv = argv + ["--upstream-gradient", "g.npy"]
        grad_outputs = torch.tensor(upstream)
    else:
        loss = loss.sum()
        grad_outputs = torch.ones_like(loss)
    names = ["x"] + [k for k, _ in extra]
    grads = torch.autograd.grad(loss, [tensors[k] for k in names], grad_outputs=grad_outputs)
    arrays["expected-loss.npy"] = function(**tensors).detach().numpy()
    arrays["expected-grad.npy"] = grads[0].numpy()
    for (_, file), grad in zip(extra, grads[1:]):
        arrays[file] = grad.numpy()
    write_case_folder(os.path.join(out, name), argv, arrays)


def upstream_cases():
    """--upstream-gradient of the losses besides the softmax ones, and info-nce and clip, in
    evaluate-upstream/."""
    out = UPSTREAM_OUT
    fresh(out, UPSTREAM_SEED)
    with open(os.path.join(out, "PROVENANCE"), "a") as f:
        f.write("With g.npy (--upstream-gradient): the gradients are torch.autograd.grad(loss, x,\n"
                "grad_outputs=G), i.e. loss.backward(gradient=G). info-nce and clip also hold\n"
                "expected-temperature-grad.npy, expected-text-grad.npy and\n"
                "expected-logit-scale-grad.npy.\n")
    rng = np.random.default_rng(UPSTREAM_SEED)

    def t(a, grad=False):
        return torch.tensor(a, requires_grad=grad)

    def g(shape, dtype, nan_at=None):
        u = rng.standard_normal(shape).astype(dtype)
        if nan_at is not None:
            u.reshape(-1)[nan_at] = np.nan
        return u

    def scalar(value, dtype):
        return np.array(value, dtype=dtype)

    # Binary cross-entropy from logits: per-element G with a NaN, weight and pos_weight; mean.
    x = (rng.standard_normal((3, 7)) * 3).astype(np.float32)
    y = rng.random((3, 7)).astype(np.float32)
    w = (rng.random(7) + 0.5).astype(np.float32)
    pw = (rng.random(7) * 2 + 0.5).astype(np.float32)
    upstream_case(out, "bce-with-logits-none-weights-f32",
                  ["--loss", "binary-cross-entropy-with-logits", "--input", "x.npy", "--target",
                   "y.npy", "--weight", "w.npy", "--pos-weight", "pw.npy", "--reduction", "none"],
                  {"x.npy": x, "y.npy": y, "w.npy": w, "pw.npy": pw},
                  lambda x, y, w, pw: F.binary_cross_entropy_with_logits(
                      x, y, weight=w, pos_weight=pw, reduction="none"),
                  {"x": t(x, True), "y": t(y), "w": t(w), "pw": t(pw)}, g((3, 7), np.float32, 5))
    x, y = rng.standard_normal((4, 5)), rng.random((4, 5))
    upstream_case(out, "bce-with-logits-mean-f64",
                  ["--loss", "binary-cross-entropy-with-logits", "--input", "x.npy", "--target",
                   "y.npy"], {"x.npy": x, "y.npy": y},
                  lambda x, y: F.binary_cross_entropy_with_logits(x, y),
                  {"x": t(x, True), "y": t(y)}, scalar(-1.5, np.float64))
    x, y, w = rng.random((3, 4)) * 0.9 + 0.05, rng.random((3, 4)), rng.random((3, 1)) + 0.5
    upstream_case(out, "bce-none-weight-f64",
                  ["--loss", "binary-cross-entropy", "--input", "x.npy", "--target", "y.npy",
                   "--weight", "w.npy", "--reduction", "none"], {"x.npy": x, "y.npy": y, "w.npy": w},
                  lambda x, y, w: F.binary_cross_entropy(x, y, weight=w, reduction="none"),
                  {"x": t(x, True), "y": t(y), "w": t(w)}, g((3, 4), np.float64))
    # KL divergence and MSE (broadcast: G has the broadcast shape).
    x = torch.log_softmax(torch.tensor(rng.standard_normal((3, 4))), -1).numpy().astype(np.float32)
    y = torch.softmax(torch.tensor(rng.standard_normal((3, 4))), -1).numpy().astype(np.float32)
    upstream_case(out, "kl-div-none-f32",
                  ["--loss", "kl-div", "--input", "x.npy", "--target", "y.npy", "--reduction",
                   "none"], {"x.npy": x, "y.npy": y},
                  lambda x, y: F.kl_div(x, y, reduction="none"), {"x": t(x, True), "y": t(y)},
                  g((3, 4), np.float32, 2))
    x = torch.log_softmax(torch.tensor(rng.standard_normal((3, 4))), -1).numpy()
    y = torch.log_softmax(torch.tensor(rng.standard_normal((3, 4))), -1).numpy()
    upstream_case(out, "kl-div-batchmean-log-target-f64",
                  ["--loss", "kl-div", "--input", "x.npy", "--target", "y.npy", "--reduction",
                   "batchmean", "--log-target"], {"x.npy": x, "y.npy": y},
                  lambda x, y: F.kl_div(x, y, reduction="batchmean", log_target=True),
                  {"x": t(x, True), "y": t(y)}, scalar(0.75, np.float64))
    x, y = rng.standard_normal((1, 4)), rng.standard_normal((3, 4))
    upstream_case(out, "mse-broadcast-none-f64",
                  ["--loss", "mse", "--input", "x.npy", "--target", "y.npy", "--reduction",
                   "none"], {"x.npy": x, "y.npy": y},
                  lambda x, y: F.mse_loss(x, y, reduction="none"), {"x": t(x, True), "y": t(y)},
                  g((3, 4), np.float64))
    # Multi-margin: a NaN in G makes its whole row NaN.
    x, y, w = rng.standard_normal((5, 4)), rng.integers(0, 4, 5), rng.random(4) + 0.5
    upstream_case(out, "multi-margin-none-p2-weight-f64",
                  ["--loss", "multi-margin", "--input", "x.npy", "--target", "y.npy", "--weight",
                   "w.npy", "--p", "2", "--margin", "0.5", "--reduction", "none"],
                  {"x.npy": x, "y.npy": y, "w.npy": w},
                  lambda x, y, w: F.multi_margin_loss(x, y, p=2, margin=0.5, weight=w,
                                                      reduction="none"),
                  {"x": t(x, True), "y": t(y), "w": t(w)}, g((5,), np.float64, 3))
    # Distillation: an ignored row (its gradient 0) and a NaN in G on a kept row.
    x = (rng.standard_normal((5, 6)) * 2).astype(np.float32)
    teacher = (rng.standard_normal((5, 6)) * 3).astype(np.float32)
    y = rng.integers(0, 6, 5)
    y[1] = -100
    rows = distillation_rows(teacher, 2.0, 0.3)
    upstream_case(out, "distillation-none-ignore-f32",
                  ["--loss", "distillation", "--input", "x.npy", "--target", "y.npy", "--teacher",
                   "t.npy", "--temperature", "2.0", "--hard-label-weight", "0.3", "--reduction",
                   "none"], {"x.npy": x, "y.npy": y, "t.npy": teacher},
                  lambda x, y: rows(x, y)[0], {"x": t(x, True), "y": t(y)},
                  g((5,), np.float32, 3))
    # CTC on log-probabilities, per sample and the mean.
    for reduction, dtype, tag in (("none", np.float32, "f32"), ("mean", np.float64, "f64")):
        lp = torch.log_softmax(torch.tensor(rng.standard_normal((6, 3, 5))), -1).numpy()
        lp = lp.astype(dtype)
        labels = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 0]], dtype=np.int64)
        il, tl = np.array([6, 5, 4], dtype=np.int64), np.array([3, 2, 2], dtype=np.int64)
        upstream_case(out, f"ctc-{reduction}-{tag}",
                      ["--loss", "ctc", "--input", "x.npy", "--target", "y.npy", "--input-lengths",
                       "il.npy", "--target-lengths", "tl.npy", "--reduction", reduction],
                      {"x.npy": lp, "y.npy": labels, "il.npy": il, "tl.npy": tl},
                      lambda x: F.ctc_loss(x, torch.tensor(labels), torch.tensor(il),
                                           torch.tensor(tl), reduction=reduction),
                      {"x": t(lp, True)},
                      g((3,), dtype) if reduction == "none" else scalar(2.0, dtype))
    # InfoNCE: F.cross_entropy(S / T, arange(N)), T a tensor for its gradient.
    for reduction, dtype, tag, up in (("none", np.float32, "f32", True),
                                      ("mean", np.float64, "f64", False)):
        sim = np.tanh(rng.standard_normal((4, 6))).astype(dtype)
        temperature = 0.5
        upstream_case(out, f"info-nce-{reduction}-{tag}",
                      ["--loss", "info-nce", "--input", "x.npy", "--temperature", str(temperature),
                       "--reduction", reduction], {"x.npy": sim},
                      lambda x, T: F.cross_entropy(x / T, torch.arange(x.shape[0]),
                                                   reduction=reduction),
                      {"x": t(sim, True), "T": t(np.array(temperature, dtype=dtype), True)},
                      g((4,), dtype) if up else None,
                      extra=[("T", "expected-temperature-grad.npy")])
    # CLIP: open_clip's ClipLoss, gradients to both embeddings and the logit scale.
    for normalize, dtype, tag, up in ((True, np.float32, "f32", -1.5),
                                      (False, np.float64, "unnormalized-f64", None)):
        image = rng.standard_normal((4, 3)).astype(dtype)
        text = rng.standard_normal((4, 3)).astype(dtype)
        scale = 2.0

        def clip(x, text, s, nz=normalize):
            a, b = (F.normalize(x, dim=-1), F.normalize(text, dim=-1)) if nz else (x, text)
            logits = s.exp() * a @ b.T
            labels = torch.arange(a.shape[0])
            return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2

        argv = ["--loss", "clip", "--input", "x.npy", "--text", "text.npy", "--logit-scale",
                str(scale)] + ([] if normalize else ["--no-normalize"])
        upstream_case(out, f"clip-{tag}", argv, {"x.npy": image, "text.npy": text}, clip,
                      {"x": t(image, True), "text": t(text, True),
                       "s": t(np.array(scale, dtype=dtype), True)},
                      None if up is None else scalar(up, dtype),
                      extra=[("text", "expected-text-grad.npy"),
                             ("s", "expected-logit-scale-grad.npy")])


if __name__ == "__main__":
    cross_entropy_cases()
    row_scale_cases()
    more_loss_cases()
    other_loss_cases()
    upstream_cases()
