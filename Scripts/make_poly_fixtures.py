#!/usr/bin/env python3
"""Golden values for Poly-1 cross-entropy from optax (JAX, float64 and float32).

    $TORCH_PYTHON -m pip install jax optax      # PyTorch itself is not needed here
    $TORCH_PYTHON Scripts/make_poly_fixtures.py

Writes Tests/CrossEntropyTests/Fixtures/poly1.json in the format of make_loss_fixtures.py; the
optax, JAX and Python versions go into its header (Fixtures/PROVENANCE-loss, written by
make_loss_fixtures.py, points there). optax.losses.poly_loss_cross_entropy returns per-example
losses; the mean and sum cases reduce them (the mean over non-ignored rows for class-index
labels, which become one-hot targets; ignored rows are left out). Gradients come from jax.grad of
the sum of the returned loss.
"""

import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from fixture_common import fixtures, json_array  # noqa: E402

OUT = fixtures("CrossEntropyTests")
rng = np.random.default_rng(20261129)


def poly(logits, targets, keep, epsilon, reduction, axis):
    per_row = optax.losses.poly_loss_cross_entropy(logits, targets, epsilon=epsilon, axis=axis)
    per_row = jnp.where(keep, per_row, 0.0)
    if reduction == "none":
        return per_row
    if reduction == "sum":
        return per_row.sum()
    return per_row.sum() / keep.sum()


def cases():
    out = []
    specs = [
        # (shape, axis, epsilon, kind)
        ((5, 4), -1, 2.0, "labels"),
        ((5, 4), -1, 1.0, "labels-ignore"),
        ((5, 4), -1, -1.0, "labels"),
        ((5, 4), -1, 0.0, "labels"),
        ((6, 3), -1, 2.0, "probabilities"),
        ((6, 3), -1, 0.5, "unnormalized"),
        ((2, 4, 3), 1, 2.0, "labels-ignore"),
        ((2, 4, 3), 1, 1.5, "probabilities"),
    ]
    for shape, axis, epsilon, kind in specs:
        for reduction in ("none", "mean", "sum"):
            logits = rng.normal(size=shape).astype(np.float32) * 2
            c = shape[axis]
            case = {"name": f"poly1 shape={list(shape)} axis={axis} epsilon={epsilon} {kind}"
                            f" {reduction}",
                    "options": {"epsilon": epsilon, "reduction": reduction, "classAxis": axis,
                                "kind": "labels" if kind.startswith("labels") else "probabilities"},
                    "inputs": {"input": json_array(logits)}}
            if kind.startswith("labels"):
                label_shape = list(shape)
                del label_shape[axis]
                labels = rng.integers(0, c, size=label_shape)
                if kind == "labels-ignore":
                    labels.reshape(-1)[::3] = -100
                keep = labels != -100
                targets = np.moveaxis(np.eye(c)[np.where(keep, labels, 0)], -1, axis)
                case["inputs"]["target"] = json_array(labels)
            else:
                t = rng.random(size=shape).astype(np.float32)
                if kind == "probabilities":
                    t = (t / t.sum(axis=axis, keepdims=True)).astype(np.float32)
                targets = t
                keep = np.ones([s for i, s in enumerate(shape) if i != axis % len(shape)], bool)
                case["inputs"]["target"] = json_array(t)
            for name, dtype in (("float64", jnp.float64), ("float32", jnp.float32)):
                x = jnp.asarray(logits, dtype)
                y = jnp.asarray(targets, dtype)
                fn = lambda x: poly(x, y, jnp.asarray(keep), epsilon, reduction, axis)  # noqa
                loss = fn(x)
                grad = jax.grad(lambda x: fn(x).sum())(x)
                case[name] = {"loss": json_array(loss), "gradient": json_array(grad)}
            out.append(case)
    return out


if __name__ == "__main__":
    doc = {"generator": "Scripts/make_poly_fixtures.py", "optax": optax.__version__,
           "jax": jax.__version__, "python": sys.version.split()[0], "cases": cases()}
    with open(os.path.join(OUT, "poly1.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("optax", optax.__version__, "jax", jax.__version__)
