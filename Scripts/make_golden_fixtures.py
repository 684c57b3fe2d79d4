#!/usr/bin/env python3
"""Generates the golden fixtures of Tests/CrossEntropyTests/Fixtures/ with PyTorch.

Usage (from the repository root):

    $TORCH_PYTHON Scripts/make_golden_fixtures.py

Every fixture file is a JSON object {"generator", "torch", "python", "cases": [...]}, in the
format of make_loss_fixtures.py. A case holds its name, its dtype, its options, its inputs and,
under the key of its dtype ("float32" or "float64"), PyTorch's outputs: the loss and
d(loss)/d(input) (for reduction "none": of loss.sum()). Every array is {"shape", "data"}.

Floats are stored as strings: the shortest decimal that round-trips in the case's dtype
(float32 or float64), or "inf", "-inf", "nan". Swift parses them exactly with `Float(_:)` and
`Double(_:)`. Shapes are row-major (C order). Class indices are integers.

The script is deterministic (fixed seed); Fixtures/PROVENANCE-golden records the versions that
produced the files.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from fixture_common import fixtures, shortest, write_provenance

OUT = fixtures("CrossEntropyTests")
SEED = 20260515
DTYPES = {"float32": torch.float32, "float64": torch.float64}
NP_DTYPES = {"float32": np.float32, "float64": np.float64}
rng = np.random.default_rng(SEED)


def tensor(values, dtype, grad=False):
    t = torch.tensor(np.asarray(values, dtype=NP_DTYPES[dtype]), dtype=DTYPES[dtype])
    return t.requires_grad_(grad)


def backward(loss, x, reduction):
    (loss.sum() if reduction == "none" else loss).backward()
    return x.grad


def array(values, dtype):
    """{"shape": [...], "data": [...]} of a tensor or an array, its elements as `shortest`
    strings of `dtype`."""
    return {"shape": list(values.shape), "data": shortest(values, dtype)}


def integer_array(values):
    """{"shape": [...], "data": [...]} of integers (class indices)."""
    return {"shape": list(np.shape(values)), "data": [int(v) for v in np.ravel(values)]}


def golden_case(name, dtype, options, inputs, results):
    """A case of `dtype`: its inputs are in that dtype, and PyTorch's results are under its key."""
    return {"name": name, "dtype": dtype, "options": options, "inputs": inputs, dtype: results}


def logits_array(shape, dtype, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(NP_DTYPES[dtype])


def move_class_axis_last(arr):
    """(N, C, d1, ...) -> (N, d1, ..., C) for rank >= 3; identity otherwise."""
    return np.moveaxis(arr, 1, -1) if arr.ndim >= 3 else arr


# ---------------------------------------------------------------------------------------------
# Softmax cross-entropy with class-index labels


def ce_labels_case(
    name, x, labels, dtype, reduction, weight=None, ignore_index=-100, smoothing=0.0,
    layout="axis1", class_axis=None,
):
    """x is in PyTorch layout (C) or (N, C, d1, ...); layout "last" stores it class-last."""
    xt = tensor(x, dtype, grad=True)
    yt = torch.tensor(np.asarray(labels, dtype=np.int64))
    wt = None if weight is None else tensor(weight, dtype)
    loss = F.cross_entropy(
        xt, yt, weight=wt, ignore_index=ignore_index, reduction=reduction,
        label_smoothing=smoothing)
    grad = backward(loss, xt, reduction)
    x_np = np.asarray(x)
    g_np = grad.detach().numpy()
    if layout == "last":
        x_np, g_np = move_class_axis_last(x_np), move_class_axis_last(g_np)
        axis = -1 if class_axis is None else class_axis
    else:
        axis = (1 if x_np.ndim >= 2 else 0) if class_axis is None else class_axis
    options = {"reduction": reduction, "classAxis": axis, "ignoreIndex": ignore_index,
               "labelSmoothing": float(smoothing)}
    inputs = {"input": array(x_np, dtype), "labels": integer_array(labels)}
    if weight is not None:
        inputs["weight"] = array(np.asarray(weight), dtype)
    results = {"loss": array(loss, dtype), "gradient": array(g_np, dtype)}
    return golden_case(name, dtype, options, inputs, results)


def random_labels(shape, classes, ignore, ignore_index):
    labels = rng.integers(0, classes, size=shape)
    if ignore == "none":
        labels[labels == ignore_index] = (ignore_index + 1) % classes if ignore_index >= 0 else 0
        return labels
    flat = labels.reshape(-1)
    if flat.size > 1:
        count = max(1, flat.size // 3)
        positions = rng.choice(flat.size, size=count, replace=False)
        flat[positions] = ignore_index
        if np.all(flat == ignore_index):
            flat[0] = (ignore_index + 1) % classes
    else:
        flat[0] = ignore_index  # a single ignored label: the mean is NaN
    return flat.reshape(shape)


def softmax_cross_entropy_labels():
    cases = []
    classes = 5
    shapes = [(classes,), (4, classes), (3, classes, 2), (2, classes, 2, 2)]
    for dtype in DTYPES:
        for shape in shapes:
            label_shape = tuple(s for i, s in enumerate(shape) if i != (1 if len(shape) > 1 else 0))
            layouts = ["axis1", "last"] if len(shape) >= 3 else ["axis1"]
            for weighted in (False, True):
                for ignore in ("none", "default", "valid"):
                    ignore_index = 2 if ignore == "valid" else -100
                    for smoothing in (0.0, 0.25):
                        for reduction in ("none", "mean", "sum"):
                            for layout in layouts:
                                x = logits_array(shape, dtype)
                                labels = random_labels(label_shape, classes, ignore, ignore_index)
                                weight = (
                                    rng.uniform(0.1, 2.0, classes) if weighted else None)
                                name = (
                                    f"rank{len(shape)} {layout} weighted={weighted} "
                                    f"ignore={ignore} smoothing={smoothing} {reduction} {dtype}")
                                # Exercise negative class axes too: -(rank - 1) is axis 1.
                                class_axis = None
                                if layout == "axis1" and len(shape) >= 3 and reduction == "sum":
                                    class_axis = 1 - len(shape)
                                cases.append(ce_labels_case(
                                    name, x, labels, dtype, reduction, weight, ignore_index,
                                    smoothing, layout, class_axis))
        cases += softmax_cross_entropy_label_edges(dtype)
    return cases


def softmax_cross_entropy_label_edges(dtype):
    cases = []
    inf, nan = np.inf, np.nan
    # Every label ignored: mean is 0/0 = NaN with a zero gradient; sum and none are 0.
    for smoothing in (0.0, 0.1):
        for weighted in (False, True):
            for reduction in ("none", "mean", "sum"):
                x = logits_array((3, 4), dtype)
                w = rng.uniform(0.5, 1.5, 4) if weighted else None
                cases.append(ce_labels_case(
                    f"all ignored weighted={weighted} smoothing={smoothing} {reduction} {dtype}",
                    x, np.full(3, -100), dtype, reduction, w, -100, smoothing))
                cases.append(ce_labels_case(
                    f"all ignored (valid class 1) weighted={weighted} smoothing={smoothing} "
                    f"{reduction} {dtype}",
                    x, np.full(3, 1), dtype, reduction, w, 1, smoothing))
    # Non-finite logits: one special row among finite ones (row 1, label 2).
    specials = {
        "-inf on a non-target class": (0, -inf),
        "-inf on the target class": (2, -inf),
        "+inf on a non-target class": (4, inf),
        "+inf on the target class": (2, inf),
        "NaN on a non-target class": (0, nan),
        "all -inf row": (None, -inf),
    }
    for what, (column, value) in specials.items():
        for smoothing in (0.0, 0.2):
            for reduction in ("none", "mean", "sum"):
                for weighted in (False, True):
                    x = logits_array((3, 5), dtype)
                    if column is None:
                        x[1, :] = value
                    else:
                        x[1, column] = value
                    w = rng.uniform(0.5, 1.5, 5) if weighted else None
                    cases.append(ce_labels_case(
                        f"{what} weighted={weighted} smoothing={smoothing} {reduction} {dtype}",
                        x, np.array([0, 2, 4]), dtype, reduction, w, -100, smoothing))
    # Non-finite logits in an ignored row.
    for value in (-inf, inf, nan):
        for smoothing in (0.0, 0.2):
            for reduction in ("none", "mean", "sum"):
                x = logits_array((3, 5), dtype)
                x[1, 3] = value
                cases.append(ce_labels_case(
                    f"{value} in an ignored row smoothing={smoothing} {reduction} {dtype}",
                    x, np.array([0, -100, 4]), dtype, reduction, None, -100, smoothing))
    # Large logits: the log-sum-exp must shift by the maximum.
    for scale in (1e4, 1e30 if dtype == "float32" else 1e300):
        for reduction in ("none", "mean"):
            for smoothing in (0.0, 0.1):
                x = (rng.standard_normal((3, 4)) * scale).astype(NP_DTYPES[dtype])
                cases.append(ce_labels_case(
                    f"large logits {scale:g} smoothing={smoothing} {reduction} {dtype}",
                    x, np.array([0, 1, 3]), dtype, reduction, None, -100, smoothing))
    # One class; a zero class weight; smoothing 1; a single row with the class axis last.
    for reduction in ("none", "mean", "sum"):
        cases.append(ce_labels_case(
            f"one class {reduction} {dtype}", logits_array((3, 1), dtype), np.array([0, 0, 0]),
            dtype, reduction, None, -100, 0.3))
        cases.append(ce_labels_case(
            f"zero class weight smoothing {reduction} {dtype}", logits_array((4, 3), dtype),
            np.array([0, 1, 2, 1]), dtype, reduction, np.array([1.5, 0.0, 0.7]), -100, 0.2))
        cases.append(ce_labels_case(
            f"smoothing 1 weighted {reduction} {dtype}", logits_array((3, 4), dtype),
            np.array([0, 3, -100]), dtype, reduction, np.array([0.5, 1, 2, 3]), -100, 1.0))
        cases.append(ce_labels_case(
            f"empty batch {reduction} {dtype}", logits_array((0, 4), dtype),
            np.zeros(0, dtype=np.int64), dtype, reduction, None, -100, 0.0))
    # Large logits with small losses: log-probabilities must be (x - max) - log(sum), as
    # PyTorch computes them; x - (max + log(sum)) loses the loss's low bits.
    x = np.array([[70.62393917, 29.39492988, -41.51067696, 59.21260307, -28.61632739],
                  [1e4, 1e4 - 12, 1e4 - 20, 1e4 - 30, 1e4 - 13],
                  [-300, -311, -320, -305, -400],
                  [1e8, 1e8 - 16, 1e8 - 24, 1e8 - 8, 1e8 - 40]], dtype=NP_DTYPES[dtype])
    for reduction in ("none", "sum"):
        for layout in ("axis1", "last"):
            cases.append(ce_labels_case(
                f"large logits, small losses {layout} {reduction} {dtype}", x[:, :, None],
                np.zeros((4, 1), dtype=np.int64), dtype, reduction, None, -100, 0.0, layout))
        cases.append(ce_labels_case(
            f"large logits, small losses rank2 {reduction} {dtype}", x, np.zeros(4, np.int64),
            dtype, reduction, None, -100, 0.0))
    return cases


# ---------------------------------------------------------------------------------------------
# Softmax cross-entropy with probability targets


def ce_probabilities_case(name, x, t, dtype, reduction, weight=None, smoothing=0.0,
                          layout="axis1"):
    xt = tensor(x, dtype, grad=True)
    tt = tensor(t, dtype)
    wt = None if weight is None else tensor(weight, dtype)
    loss = F.cross_entropy(xt, tt, weight=wt, reduction=reduction, label_smoothing=smoothing)
    grad = backward(loss, xt, reduction).detach().numpy()
    x_np, t_np = np.asarray(x), np.asarray(t)
    if layout == "last":
        x_np, t_np, grad = map(move_class_axis_last, (x_np, t_np, grad))
        axis = -1
    else:
        axis = 1 if x_np.ndim >= 2 else 0
    options = {"reduction": reduction, "classAxis": axis, "ignoreIndex": -100,
               "labelSmoothing": float(smoothing)}
    inputs = {"input": array(x_np, dtype), "target": array(t_np, dtype)}
    if weight is not None:
        inputs["weight"] = array(np.asarray(weight), dtype)
    results = {"loss": array(loss, dtype), "gradient": array(grad, dtype)}
    return golden_case(name, dtype, options, inputs, results)


def random_distribution(shape, dtype):
    axis = 1 if len(shape) > 1 else 0
    z = rng.standard_normal(shape)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(NP_DTYPES[dtype])


def softmax_cross_entropy_probabilities():
    cases = []
    classes = 4
    shapes = [(classes,), (3, classes), (2, classes, 3), (2, classes, 2, 2)]
    for dtype in DTYPES:
        for shape in shapes:
            layouts = ["axis1", "last"] if len(shape) >= 3 else ["axis1"]
            for weighted in (False, True):
                for smoothing in (0.0, 0.3):
                    for reduction in ("none", "mean", "sum"):
                        for layout in layouts:
                            x = logits_array(shape, dtype)
                            t = random_distribution(shape, dtype)
                            w = rng.uniform(0.1, 2.0, classes) if weighted else None
                            cases.append(ce_probabilities_case(
                                f"rank{len(shape)} {layout} weighted={weighted} "
                                f"smoothing={smoothing} {reduction} {dtype}",
                                x, t, dtype, reduction, w, smoothing, layout))
        for reduction in ("none", "mean", "sum"):
            # Targets that do not sum to 1, and a -inf logit under a zero and a nonzero target.
            x = logits_array((3, 4), dtype)
            t = rng.uniform(0, 2, (3, 4)).astype(NP_DTYPES[dtype])
            cases.append(ce_probabilities_case(
                f"unnormalised targets {reduction} {dtype}", x, t, dtype, reduction))
            x = logits_array((3, 4), dtype)
            x[0, 1] = -np.inf
            x[2, 0] = -np.inf
            t = random_distribution((3, 4), dtype)
            t[0, 1] = 0
            for smoothing in (0.0, 0.1):
                cases.append(ce_probabilities_case(
                    f"-inf logits smoothing={smoothing} {reduction} {dtype}", x, t, dtype,
                    reduction, None, smoothing))
    return cases


# ---------------------------------------------------------------------------------------------
# Negative log-likelihood


def nll_case(name, x, labels, dtype, reduction, weight=None, ignore_index=-100, layout="axis1"):
    xt = tensor(x, dtype, grad=True)
    yt = torch.tensor(np.asarray(labels, dtype=np.int64))
    wt = None if weight is None else tensor(weight, dtype)
    loss = F.nll_loss(xt, yt, weight=wt, ignore_index=ignore_index, reduction=reduction)
    grad = backward(loss, xt, reduction).detach().numpy()
    x_np = np.asarray(x)
    if layout == "last":
        x_np, grad = move_class_axis_last(x_np), move_class_axis_last(grad)
        axis = -1
    else:
        axis = 1 if x_np.ndim >= 2 else 0
    options = {"reduction": reduction, "classAxis": axis, "ignoreIndex": ignore_index,
               "labelSmoothing": 0.0}
    inputs = {"input": array(x_np, dtype), "labels": integer_array(labels)}
    if weight is not None:
        inputs["weight"] = array(np.asarray(weight), dtype)
    results = {"loss": array(loss, dtype), "gradient": array(grad, dtype)}
    return golden_case(name, dtype, options, inputs, results)


def negative_log_likelihood():
    cases = []
    classes = 5
    shapes = [(classes,), (4, classes), (3, classes, 2), (2, classes, 2, 2)]
    for dtype in DTYPES:
        for shape in shapes:
            label_shape = tuple(s for i, s in enumerate(shape) if i != (1 if len(shape) > 1 else 0))
            layouts = ["axis1", "last"] if len(shape) >= 3 else ["axis1"]
            for weighted in (False, True):
                for ignore in ("none", "default", "valid"):
                    ignore_index = 3 if ignore == "valid" else -100
                    for reduction in ("none", "mean", "sum"):
                        for layout in layouts:
                            x = torch.log_softmax(
                                torch.tensor(logits_array(shape, "float64")),
                                dim=1 if len(shape) > 1 else 0).numpy().astype(NP_DTYPES[dtype])
                            labels = random_labels(label_shape, classes, ignore, ignore_index)
                            w = rng.uniform(0.1, 2.0, classes) if weighted else None
                            cases.append(nll_case(
                                f"rank{len(shape)} {layout} weighted={weighted} ignore={ignore} "
                                f"{reduction} {dtype}",
                                x, labels, dtype, reduction, w, ignore_index, layout))
        for reduction in ("none", "mean", "sum"):
            x = logits_array((3, 4), dtype)  # any values, not necessarily log-probabilities
            x[1, 2] = -np.inf
            x[2, 0] = np.nan
            cases.append(nll_case(
                f"arbitrary and non-finite inputs {reduction} {dtype}", x, np.array([0, 2, 1]),
                dtype, reduction))
            cases.append(nll_case(
                f"all ignored {reduction} {dtype}", logits_array((3, 4), dtype),
                np.array([-100, -100, -100]), dtype, reduction, rng.uniform(0.5, 1, 4)))
    return cases


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy with logits, and on probabilities


def bce_logits_case(name, x, t, dtype, reduction, weight=None, pos_weight=None):
    xt = tensor(x, dtype, grad=True)
    tt = tensor(t, dtype)
    wt = None if weight is None else tensor(weight, dtype)
    pt = None if pos_weight is None else tensor(pos_weight, dtype)
    loss = F.binary_cross_entropy_with_logits(
        xt, tt, weight=wt, pos_weight=pt, reduction=reduction)
    grad = backward(loss, xt, reduction)
    inputs = {"input": array(np.asarray(x), dtype), "target": array(np.asarray(t), dtype)}
    if weight is not None:
        inputs["weight"] = array(np.asarray(weight), dtype)
    if pos_weight is not None:
        inputs["posWeight"] = array(np.asarray(pos_weight), dtype)
    results = {"loss": array(loss, dtype), "gradient": array(grad, dtype)}
    return golden_case(name, dtype, {"reduction": reduction}, inputs, results)


def binary_cross_entropy_with_logits():
    cases = []
    for dtype in DTYPES:
        npd = NP_DTYPES[dtype]
        big = 1e30
        # Broadcasting of weight and pos_weight against a [B, C, H, W] target.
        b, c, h, w = 2, 3, 2, 4
        weight_shapes = [None, (b, c, h, w), (c, 1, 1), (w,), (1, c, 1, 1), (), (h, 1)]
        pos_shapes = [None, (c, 1, 1), (w,), (b, c, h, w), (1,)]
        for ws in weight_shapes:
            for ps in pos_shapes:
                for reduction in ("none", "mean", "sum"):
                    x = logits_array((b, c, h, w), dtype)
                    t = rng.uniform(0, 1, (b, c, h, w)).astype(npd)
                    t[0, 0] = np.round(t[0, 0])  # some hard targets
                    weight = None if ws is None else rng.uniform(0.1, 2, ws).astype(npd)
                    pos = None if ps is None else rng.uniform(0.1, 3, ps).astype(npd)
                    cases.append(bce_logits_case(
                        f"[B,C,H,W] weight={ws} pos_weight={ps} {reduction} {dtype}",
                        x, t, dtype, reduction, weight, pos))
        # (N, C) with length-C vectors, and rank 1 and 0.
        for reduction in ("none", "mean", "sum"):
            x = logits_array((5, 3), dtype)
            t = (rng.uniform(0, 1, (5, 3)) > 0.5).astype(npd)
            cases.append(bce_logits_case(
                f"[N,C] weight=[C] pos_weight=[C] {reduction} {dtype}", x, t, dtype, reduction,
                rng.uniform(0.1, 2, 3).astype(npd), rng.uniform(0.1, 3, 3).astype(npd)))
            cases.append(bce_logits_case(
                f"rank1 {reduction} {dtype}", logits_array((6,), dtype),
                rng.uniform(0, 1, 6).astype(npd), dtype, reduction))
            cases.append(bce_logits_case(
                f"rank0 pos_weight=() {reduction} {dtype}", logits_array((), dtype),
                np.asarray(rng.uniform(0, 1), dtype=npd), dtype, reduction, None,
                np.asarray(2.5, dtype=npd)))
            cases.append(bce_logits_case(
                f"empty {reduction} {dtype}", logits_array((0, 3), dtype),
                np.zeros((0, 3), dtype=npd), dtype, reduction))
        # Extreme logits: |x| up to 1e30 and infinities, hard and soft targets.
        xs = [big, -big, np.inf, -np.inf, 0.0, 50.0, -50.0, 1e-30, 100.0, -100.0, 20.0, -20.0]
        for targets in ((0.0,), (1.0,), (0.25,)):
            for reduction in ("none", "mean", "sum"):
                for with_pos in (False, True):
                    x = np.array(xs, dtype=npd)
                    t = np.full(len(xs), targets[0], dtype=npd)
                    pos = np.asarray([3.0], dtype=npd) if with_pos else None
                    cases.append(bce_logits_case(
                        f"extreme logits target={targets[0]} pos_weight={with_pos} {reduction} "
                        f"{dtype}", x, t, dtype, reduction, None, pos))
        # Soft targets where the two terms cancel, and saturated sigmoids: PyTorch evaluates
        # each step in the input's precision.
        x = np.array([-6.0, -9.5, 7.0, -12.0, 17.0, 20.0, -1e30, 1e30], dtype=npd)
        t = np.array([0.0004, 0.0001, 0.9995, 0.00002, 1.0, 1.0, 0.0003, 0.9999], dtype=npd)
        for with_pos in (False, True):
            pos = np.asarray([1.7], dtype=npd) if with_pos else None
            cases.append(bce_logits_case(
                f"cancelling soft targets pos_weight={with_pos} none {dtype}", x, t, dtype,
                "none", None, pos))
        # NaN input.
        x = np.array([np.nan, 1.0], dtype=npd)
        cases.append(bce_logits_case(
            f"NaN logit none {dtype}", x, np.array([1.0, 0.0], dtype=npd), dtype, "none"))
    return cases


def bce_case(name, p, t, dtype, reduction, weight=None):
    pt = tensor(p, dtype, grad=True)
    tt = tensor(t, dtype)
    wt = None if weight is None else tensor(weight, dtype)
    loss = F.binary_cross_entropy(pt, tt, weight=wt, reduction=reduction)
    grad = backward(loss, pt, reduction)
    inputs = {"input": array(np.asarray(p), dtype), "target": array(np.asarray(t), dtype)}
    if weight is not None:
        inputs["weight"] = array(np.asarray(weight), dtype)
    results = {"loss": array(loss, dtype), "gradient": array(grad, dtype)}
    return golden_case(name, dtype, {"reduction": reduction}, inputs, results)


def binary_cross_entropy():
    cases = []
    for dtype in DTYPES:
        npd = NP_DTYPES[dtype]
        for ws in (None, (2, 3, 4), (3, 1), (4,), ()):
            for reduction in ("none", "mean", "sum"):
                p = rng.uniform(0, 1, (2, 3, 4)).astype(npd)
                t = rng.uniform(0, 1, (2, 3, 4)).astype(npd)
                t[0] = np.round(t[0])
                weight = None if ws is None else rng.uniform(0.1, 2, ws).astype(npd)
                cases.append(bce_case(
                    f"weight={ws} {reduction} {dtype}", p, t, dtype, reduction, weight))
        # The -100 log clamp and the 1e-12 gradient epsilon: p at and near 0 and 1.
        tiny = np.finfo(npd).tiny
        ps = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-30, 1 - np.finfo(npd).eps / 2, 1e-45, tiny, 0.5,
              1e-7]
        ts = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 1.0, 0.3, 0.5, 1.0]
        for reduction in ("none", "mean", "sum"):
            cases.append(bce_case(
                f"clamp and epsilon {reduction} {dtype}", np.array(ps, dtype=npd),
                np.array(ts, dtype=npd), dtype, reduction))
        cases.append(bce_case(
            f"rank0 {dtype}", np.asarray(0.3, dtype=npd), np.asarray(1.0, dtype=npd), dtype,
            "mean"))
        cases.append(bce_case(
            f"empty mean {dtype}", np.zeros((0,), dtype=npd), np.zeros((0,), dtype=npd), dtype,
            "mean"))
    return cases


# ---------------------------------------------------------------------------------------------
# logSumExp, logSoftmax, softmax along an axis (values only)


def softmax_functions():
    cases = []
    for dtype in DTYPES:
        for shape, axes in (((5,), (0, -1)), ((3, 4), (0, 1, -1)), ((2, 3, 4), (0, 1, 2, -2))):
            for axis in axes:
                x = logits_array(shape, dtype, scale=3.0)
                cases.append(softmax_functions_case(f"{shape} axis {axis} {dtype}", x, axis, dtype))
        x = logits_array((6, 4), dtype)
        x[0, 1] = -np.inf
        x[1, :] = -np.inf
        x[2, 2] = np.inf
        x[3, 0] = np.nan
        x[4, :] = (1e30 if dtype == "float32" else 1e300) * np.array([1, -1, 0.5, 0.25])
        x[5, :] = [np.inf, np.inf, 1, -np.inf]
        cases.append(softmax_functions_case(f"non-finite rows {dtype}", x, 1, dtype))
        x = np.array([[1e4, 1e4 - 12, 1e4 - 20], [1e8, 1e8 - 16, 1e8 - 8], [-300, -311, -320]],
                     dtype=NP_DTYPES[dtype])
        cases.append(softmax_functions_case(f"large logits, tiny log-probabilities {dtype}", x, 1,
                                         dtype))
    return cases


def softmax_functions_case(name, x, axis, dtype):
    xt = tensor(x, dtype)
    results = {"logSumExp": array(torch.logsumexp(xt, dim=axis), dtype),
               "logSoftmax": array(torch.log_softmax(xt, dim=axis), dtype),
               "softmax": array(torch.softmax(xt, dim=axis), dtype)}
    return golden_case(name, dtype, {"axis": axis}, {"input": array(np.asarray(x), dtype)}, results)


# ---------------------------------------------------------------------------------------------


def write(name, cases):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        doc = {"generator": "Scripts/make_golden_fixtures.py", "torch": torch.__version__,
               "python": sys.version.split()[0], "cases": cases}
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(cases)} cases, {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    write("softmax_cross_entropy_labels.json", softmax_cross_entropy_labels())
    write("softmax_cross_entropy_probabilities.json", softmax_cross_entropy_probabilities())
    write("negative_log_likelihood.json", negative_log_likelihood())
    write("binary_cross_entropy_with_logits.json", binary_cross_entropy_with_logits())
    write("binary_cross_entropy.json", binary_cross_entropy())
    write("softmax.json", softmax_functions())
    write_provenance(
        OUT, "make_golden_fixtures.py", {"torch": torch.__version__, "numpy": np.__version__},
        seed=SEED, name="PROVENANCE-golden", notes=[
            "device: cpu",
            "format: JSON {\"generator\", \"torch\", \"python\", \"cases\": [...]}; each case holds",
            "its name, dtype, options, inputs, and PyTorch's results under the key of its dtype;",
            "arrays are {\"shape\", \"data\"}, floats as shortest round-trip strings of the case's",
            "dtype, or \"inf\", \"-inf\", \"nan\"; gradients are input.grad after loss.backward()",
            "(loss.sum().backward() for reduction none)."])


if __name__ == "__main__":
    main()
