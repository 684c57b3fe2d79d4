#!/usr/bin/env python3
"""Generates Tests/CrossEntropyTests/Fixtures/ctc.json with PyTorch's F.ctc_loss.

Usage (from the repository root):

    $TORCH_PYTHON Scripts/make_ctc_fixtures.py

ctc.json is {"generator", "torch", "python", "cases": [...]}, in the format of
make_loss_fixtures.py. A case holds its name, its dtype, its options, its inputs (log-probabilities,
or logits for the "logits" form, which PyTorch evaluates as ctc_loss(log_softmax(x, -1))), and,
under the key of its dtype, PyTorch's outputs: the loss and d(loss)/d(input) (for reduction
"none": of loss.sum()). float32 cases also hold, under "float64", PyTorch in float64 on the same
inputs. Every array is {"shape", "data"}.

Floats are stored as strings: the shortest decimal that round-trips in the case's dtype
(float32 or float64), or "inf", "-inf", "nan". Inputs are (T, N, C) or unbatched (T, C); targets
are padded (N, S) or concatenated (1-D).

Long cases (T = 1000, S = 200) would be megabytes, so their inputs are not stored: the input
array holds the "formula" "hashed" instead of "data", an integer formula that Swift evaluates
bit for bit (see `long_case`), and only the loss and a gradient summary (sum, sum of
magnitudes, and every 97th element) are stored.

The script is deterministic (fixed seed); Fixtures/PROVENANCE-ctc records the versions that
produced the files.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from fixture_common import fixtures, shortest, write_case_folder, write_provenance

OUT = fixtures("CrossEntropyTests")
SEED = 20261129
DTYPES = {"float32": torch.float32, "float64": torch.float64}
NP_DTYPES = {"float32": np.float32, "float64": np.float64}
rng = np.random.default_rng(SEED)
LONG_STRIDE = 97


def array(values, dtype):
    """{"shape": [...], "data": [...]} of a tensor or an array, its elements as `shortest`
    strings of `dtype`."""
    return {"shape": list(values.shape), "data": shortest(values, dtype)}


def ctc_inputs(x, targets, input_lengths, target_lengths):
    """A case's inputs: `x` (an array), the targets and the lengths as integer arrays."""
    return {"input": x,
            "targets": {"shape": list(targets.shape), "data": [int(v) for v in targets.ravel()]},
            "inputLengths": {"shape": [len(input_lengths)],
                             "data": [int(v) for v in input_lengths]},
            "targetLengths": {"shape": [len(target_lengths)],
                              "data": [int(v) for v in target_lengths]}}


def run_ctc(x, targets, input_lengths, target_lengths, blank, reduction, zero_infinity, form):
    """PyTorch's loss and gradient for input tensor x (a leaf that requires grad)."""
    lp = x.log_softmax(-1) if form == "logits" else x
    loss = F.ctc_loss(
        lp, torch.tensor(np.asarray(targets, dtype=np.int64)),
        torch.tensor(input_lengths, dtype=torch.long), torch.tensor(target_lengths, dtype=torch.long),
        blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    (loss.sum() if reduction == "none" else loss).backward()
    return loss, x.grad


def case(name, x, targets, input_lengths, target_lengths, dtype, blank=0, reduction="mean",
         zero_infinity=False, form="logProbabilities"):
    x = np.asarray(x, dtype=NP_DTYPES[dtype])
    xt = torch.tensor(x, dtype=DTYPES[dtype], requires_grad=True)
    targets = np.asarray(targets, dtype=np.int64)
    loss, grad = run_ctc(
        xt, targets, input_lengths, target_lengths, blank, reduction, zero_infinity, form)
    out = {"name": name, "dtype": dtype,
           "options": {"form": form, "blank": blank, "reduction": reduction,
                       "zeroInfinity": zero_infinity},
           "inputs": ctc_inputs(array(x, dtype), targets, input_lengths, target_lengths)}
    if dtype == "float32":
        # PyTorch in float64 on the same (float32) inputs: the exact answer to compare a
        # float32 implementation with, besides PyTorch's own float32 result.
        x64 = torch.tensor(x.astype(np.float64), requires_grad=True)
        loss64, grad64 = run_ctc(
            x64, targets, input_lengths, target_lengths, blank, reduction, zero_infinity, form)
        out["float64"] = {"loss": array(loss64, "float64"), "gradient": array(grad64, "float64")}
    out[dtype] = {"loss": array(loss, dtype), "gradient": array(grad, dtype)}
    return out


def log_probs(shape, dtype, scale=1.5):
    x = torch.tensor(rng.standard_normal(shape) * scale, dtype=torch.float64)
    return x.to(DTYPES[dtype]).log_softmax(-1).detach().numpy()


def logits(shape, dtype, scale=1.5):
    return (rng.standard_normal(shape) * scale).astype(NP_DTYPES[dtype])


def long_case(dtype, form):
    """T = 1000, S = 200, N = 2, C = 20. The scores are
    ((t * 7919 + n * 104729 + c * 15485863) mod 10007) / 10007 * 8 - 4: integer arithmetic, then
    one division, one multiplication and one subtraction in float64, each exactly rounded, so
    Swift reproduces them bit for bit (then rounds to the case's dtype).
    """
    T, N, C, S = 1000, 2, 20, 200
    grid = np.fromfunction(
        lambda t, n, c: ((t * 7919 + n * 104729 + c * 15485863) % 10007), (T, N, C), dtype=np.int64)
    x = (grid / 10007.0 * 8.0 - 4.0).astype(NP_DTYPES[dtype])
    # Targets: 1 + ((n * 31 + i * 17) mod (C - 1)), so repeats never meet and blank 0 is unused.
    targets = np.array([[1 + (n * 31 + i * 17) % (C - 1) for i in range(S)] for n in range(N)])
    input_lengths = [T, T - 123]
    target_lengths = [S, S - 37]
    xt = torch.tensor(x, dtype=DTYPES[dtype], requires_grad=True)
    loss, grad = run_ctc(xt, targets, input_lengths, target_lengths, 0, "none", False, form)
    g = grad.detach().to(torch.float64).numpy().ravel()
    picks = list(range(0, g.size, LONG_STRIDE))
    out = {"name": f"long T=1000 S=200 ({form})", "dtype": dtype,
           "options": {"form": form, "blank": 0, "reduction": "none", "zeroInfinity": False,
                       "gradientStride": LONG_STRIDE},
           "inputs": ctc_inputs({"shape": [T, N, C], "formula": "hashed"}, targets,
                                input_lengths, target_lengths)}
    if dtype == "float32":
        x64 = torch.tensor(x.astype(np.float64), requires_grad=True)
        loss64, grad64 = run_ctc(x64, targets, input_lengths, target_lengths, 0, "none", False, form)
        out["float64"] = {"loss": array(loss64, "float64"),
                          **gradient_summary(grad64.detach().numpy().ravel(), picks, "float64")}
    out[dtype] = {"loss": array(loss, dtype), **gradient_summary(g, picks, dtype)}
    return out


def gradient_summary(g, picks, dtype):
    """The sum and the sum of magnitudes of the (float64) gradient elements `g`, in float64, and
    the elements at `picks` in `dtype`."""
    return {"gradientSum": {"shape": [], "data": shortest(np.array([g.sum()]), "float64")},
            "gradientAbsoluteSum": {"shape": [],
                                    "data": shortest(np.array([np.abs(g).sum()]), "float64")},
            "gradientSample": array(g[picks], dtype)}


def cases_for(dtype):
    out = []
    T, N, C = 12, 4, 6
    x = log_probs((T, N, C), dtype)
    padded = [[1, 2, 2, 3, 0], [4, 4, 4, 1, 0], [5, 1, 2, 3, 4], [2, 0, 0, 0, 0]]
    il = [12, 10, 12, 7]
    tl = [4, 3, 5, 1]
    for reduction in ["none", "mean", "sum"]:
        out.append(case(f"padded {reduction}", x, padded, il, tl, dtype, reduction=reduction))
    concatenated = [v for row, n in zip(padded, tl) for v in row[:n]]
    out.append(case("concatenated mean", x, concatenated, il, tl, dtype))
    out.append(case("concatenated none", x, concatenated, il, tl, dtype, reduction="none"))

    # Repeated labels; input length equal to the minimum the repeats allow, and T == L.
    x2 = log_probs((7, 3, 5), dtype)
    out.append(case(
        "repeats at their minimum input length", x2,
        [[1, 1, 2, 2, 2], [3, 3, 0, 0, 0], [1, 2, 3, 4, 1]], [7, 3, 5], [3, 2, 5], dtype,
        reduction="none"))
    out.append(case(
        "input length equals target length", x2, [[1, 2, 3, 4, 1], [2, 3, 2, 3, 2], [4, 0, 0, 0, 0]],
        [5, 5, 1], [5, 5, 1], dtype, reduction="sum"))

    # Empty targets, zero input lengths.
    x3 = log_probs((6, 4, 5), dtype)
    out.append(case(
        "empty targets", x3, [[0, 0], [1, 2], [0, 0], [3, 0]], [6, 6, 3, 4], [0, 2, 0, 1], dtype,
        reduction="none"))
    out.append(case(
        "empty targets mean", x3, [[0, 0], [1, 2], [0, 0], [3, 0]], [6, 6, 3, 4], [0, 2, 0, 1],
        dtype))
    out.append(case(
        "zero input lengths", x3, [[0, 0], [1, 2], [0, 0], [3, 0]], [0, 0, 6, 4], [0, 2, 0, 1],
        dtype, reduction="none"))

    # Impossible alignments: +inf (NaN gradient), or 0 with zero_infinity.
    impossible = ([[1, 1, 0], [1, 2, 3], [2, 3, 0], [1, 2, 3]], [2, 2, 6, 6], [2, 3, 2, 3])
    x4 = log_probs((6, 4, 5), dtype)
    out.append(case("impossible none", x4, *impossible, dtype, reduction="none"))
    out.append(case("impossible sum", x4, *impossible, dtype, reduction="sum"))
    for reduction in ["none", "mean", "sum"]:
        out.append(case(
            f"impossible zero_infinity {reduction}", x4, *impossible, dtype, reduction=reduction,
            zero_infinity=True))
    out.append(case(
        "zero input length, non-empty target, zero_infinity", x3, [[0, 0], [1, 2], [0, 0], [3, 0]],
        [0, 0, 6, 4], [0, 2, 0, 1], dtype, reduction="mean", zero_infinity=True))

    # Blank other than 0; a target equal to the blank (PyTorch computes a value).
    x5 = log_probs((9, 3, 6), dtype)
    out.append(case(
        "blank 5", x5, [[0, 1, 1, 2], [4, 3, 2, 0], [0, 0, 0, 0]], [9, 8, 9], [4, 3, 2], dtype,
        blank=5, reduction="none"))
    out.append(case(
        "blank 2 mean", x5, [[0, 1, 1, 3], [4, 3, 5, 0], [1, 1, 1, 1]], [9, 8, 9], [4, 3, 3], dtype,
        blank=2))
    out.append(case(
        "target equal to blank", x5, [[1, 0, 2, 0], [0, 0, 3, 1], [1, 1, 1, 1]], [9, 8, 9],
        [4, 4, 2], dtype, reduction="none"))

    # Unbatched (T, C).
    x6 = log_probs((8, 5), dtype)
    out.append(case("unbatched none", x6, [1, 3, 3], [8], [3], dtype, reduction="none"))
    out.append(case("unbatched mean", x6, [1, 3, 3], [7], [3], dtype))
    out.append(case("unbatched padded", x6, [[2, 4, 0, 0]], [8], [2], dtype, reduction="sum"))

    # A -inf log-probability (a masked class): NaN gradient where it lies, as PyTorch.
    x7 = log_probs((6, 2, 5), dtype)
    x7[2, 0, 4] = -np.inf
    x7[3, 1, 1] = -np.inf
    out.append(case(
        "negative infinity log-probability", x7, [[1, 2], [1, 3]], [6, 6], [2, 2], dtype,
        reduction="sum"))

    # Raw logits with the log-softmax fused in.
    x8 = logits((10, 3, 7), dtype)
    out.append(case(
        "logits mean", x8, [[1, 2, 2, 6], [3, 3, 0, 0], [6, 5, 4, 3]], [10, 9, 10], [4, 2, 4],
        dtype, form="logits"))
    out.append(case(
        "logits none blank 6", x8, [[1, 2, 2, 0], [3, 3, 0, 0], [0, 5, 4, 3]], [10, 6, 10],
        [4, 2, 4], dtype, blank=6, reduction="none", form="logits"))
    out.append(case(
        "logits impossible zero_infinity", x8, [[1, 1, 1, 1], [3, 3, 0, 0], [6, 5, 4, 3]],
        [6, 9, 10], [4, 2, 4], dtype, reduction="sum", zero_infinity=True, form="logits"))
    out.append(case("logits unbatched", logits((8, 4), dtype), [1, 2, 3], [8], [3], dtype,
                    form="logits"))

    # Wider problems than a vector (2L + 1 > 16) with varied lengths.
    T, N, C = 40, 3, 8
    x9 = log_probs((T, N, C), dtype)
    t9 = rng.integers(1, C, size=(N, 18))
    out.append(case("wide", x9, t9, [40, 37, 30], [18, 15, 9], dtype, reduction="none"))
    out.append(case("wide logits", logits((T, N, C), dtype), t9, [40, 37, 30], [18, 15, 9],
                    dtype, reduction="mean", form="logits"))

    out.append(long_case(dtype, "logits"))
    out.append(long_case(dtype, "logProbabilities"))
    return out


EVALUATE_OUT = fixtures("xentTests", "evaluate-ctc")


def evaluate_cases():
    """Folders for `xent evaluate --loss ctc`: .npy inputs, args.txt, PyTorch's outputs."""
    cases = []
    x = log_probs((10, 3, 6), "float32")
    padded = np.array([[1, 2, 2, 5], [3, 3, 1, 0], [4, 0, 0, 0]])
    cases.append(("padded-mean-float32", x, padded, [10, 9, 6], [4, 3, 1], {}, np.int64))
    concatenated = np.array([1, 2, 2, 5, 3, 3, 1, 4])
    x64 = log_probs((10, 3, 6), "float64")
    cases.append(("concatenated-none-float64", x64, concatenated, [10, 9, 6], [4, 3, 1],
                  {"reduction": "none"}, np.int64))
    cases.append(("blank-3-zero-infinity-int32", x, np.array([[1, 1, 1, 2], [0, 1, 2, 4],
                                                               [5, 5, 0, 0]]),
                  [5, 10, 3], [4, 4, 2], {"blank": 3, "zero_infinity": True, "reduction": "sum"},
                  np.int32))
    cases.append(("unbatched-sum-float64", log_probs((7, 4), "float64"), np.array([1, 3, 3]),
                  np.array(7), np.array(3), {"reduction": "sum"}, np.int64))
    cases.append(("empty-targets-none-float32", x, np.array([[0, 0], [1, 2], [0, 0]]), [10, 4, 0],
                  [0, 2, 0], {"reduction": "none"}, np.int64))
    for name, x, targets, il, tl, opts, int_type in cases:
        xt = torch.tensor(x, requires_grad=True)
        reduction = opts.get("reduction", "mean")
        loss = F.ctc_loss(xt, torch.tensor(targets), torch.tensor(il), torch.tensor(tl),
                          blank=opts.get("blank", 0), reduction=reduction,
                          zero_infinity=opts.get("zero_infinity", False))
        (loss.sum() if reduction == "none" else loss).backward()
        args = ["--loss", "ctc", "--input", "x.npy", "--target", "y.npy", "--input-lengths",
                "il.npy", "--target-lengths", "tl.npy", "--reduction", reduction]
        if "blank" in opts:
            args += ["--blank", str(opts["blank"])]
        if opts.get("zero_infinity"):
            args += ["--zero-infinity"]
        write_case_folder(os.path.join(EVALUATE_OUT, name), args, {
            "x.npy": x, "y.npy": np.asarray(targets, dtype=int_type),
            "il.npy": np.asarray(il, dtype=int_type), "tl.npy": np.asarray(tl, dtype=int_type),
            "expected-loss.npy": loss.detach().numpy(), "expected-grad.npy": xt.grad.numpy()})
    write_provenance(
        EVALUATE_OUT, "make_ctc_fixtures.py", {"torch": torch.__version__, "numpy": np.__version__},
        seed=SEED, notes=[
            "device: cpu",
            "Each folder: args.txt (xent evaluate arguments), inputs, and PyTorch's",
            "expected-loss.npy and expected-grad.npy (of loss.sum() for reduction none)."])


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    cases = cases_for("float32") + cases_for("float64")
    with open(os.path.join(OUT, "ctc.json"), "w") as f:
        doc = {"generator": "Scripts/make_ctc_fixtures.py", "torch": torch.__version__,
               "python": sys.version.split()[0], "cases": cases}
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    write_provenance(
        OUT, "make_ctc_fixtures.py", {"torch": torch.__version__, "numpy": np.__version__},
        seed=SEED, name="PROVENANCE-ctc", notes=[
            "device: cpu",
            "function: torch.nn.functional.ctc_loss (logits form: of log_softmax(x, -1))",
            "format: JSON {\"generator\", \"torch\", \"python\", \"cases\": [...]}; each case holds",
            "its name, dtype, options, inputs, and PyTorch's results under the key of its dtype;",
            "arrays are {\"shape\", \"data\"}, floats as shortest round-trip strings of the case's",
            "dtype, or \"inf\", \"-inf\", \"nan\"; gradients are input.grad after loss.backward()",
            "(loss.sum().backward() for reduction none). float32 cases also hold \"float64\" results:",
            "PyTorch in float64 on the same float32 inputs. Long cases store no input data (its",
            "\"formula\" names the script's long_case formula) and a gradient summary instead of",
            "the gradient."])
    evaluate_cases()
    print(f"{len(cases)} cases -> {OUT}; xent evaluate cases -> {EVALUATE_OUT}")


if __name__ == "__main__":
    main()
