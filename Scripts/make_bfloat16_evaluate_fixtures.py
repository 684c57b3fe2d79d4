#!/usr/bin/env python3
"""Golden cases for `xent evaluate --bfloat16` (Tests/xentTests/BFloat16EvaluateTests.swift).

Each case is a folder under Tests/xentTests/Fixtures/evaluate-bfloat16/ with the torch.bfloat16
logits as their raw bits (`x.npy`, uint16, from `x.view(torch.uint16)`), the labels (`y.npy`),
optional bfloat16 weights (`w.npy`, uint16 bits), `args.txt` (the arguments after
`xent evaluate`, one per line), and two references:

- `expected-loss.npy`, `expected-grad.npy` (float32): F.cross_entropy on the same values upcast to
  float32 (`x.float()`), which is what xent computes (it widens bfloat16 exactly and works in
  fp32). The test compares tightly: loss within 1e-5 relative, gradient (xent writes bfloat16)
  within 2^-8 relative of each element, that is one bfloat16 rounding.
- `torch-bf16-loss.npy` (float32 holding PyTorch's bfloat16 loss) and `torch-bf16-grad.npy`
  (uint16 bits): PyTorch's own bfloat16 computation. PyTorch 2.15 on CPU does not run bfloat16
  cross-entropy in fp32 end to end: log_softmax accumulates in fp32 but rounds the
  log-probabilities to bfloat16, the loss is bfloat16, and the backward pass starts from the
  rounded log-probabilities, so its gradient is off the exact one by up to a few percent of an
  element. The test compares loosely (tolerances below, printed by this script as measured).

PROVENANCE records the versions.

Run: $TORCH_PYTHON Scripts/make_bfloat16_evaluate_fixtures.py
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

from fixture_common import fixtures, write_case_folder, write_provenance

OUT = fixtures("xentTests", "evaluate-bfloat16")
SEED = 20261129
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
generator = torch.Generator().manual_seed(SEED)


def bits(t):
    return t.detach().contiguous().view(torch.uint16).numpy()


def case(name, x, y, args=(), weight=None, class_axis=-1, **kwargs):
    """x: float values, rounded to bfloat16 here; y: int64 labels; kwargs for F.cross_entropy."""
    xb = x.bfloat16()
    arrays = {"x.npy": bits(xb), "y.npy": y.numpy()}
    argv = ["--loss", "cross-entropy", "--bfloat16", "--input", "x.npy", "--target", "y.npy"]
    argv += list(args)
    if class_axis != -1:
        argv += ["--class-axis", str(class_axis)]
    wb = None
    if weight is not None:
        wb = weight.bfloat16()
        arrays["w.npy"] = bits(wb)
        argv += ["--weight", "w.npy"]

    def run(logits, w):
        logits = logits.clone().requires_grad_()
        # PyTorch's layout has the classes on axis 1; xent's default is the last axis.
        moved = logits.movedim(class_axis, 1) if class_axis != 1 else logits
        value = F.cross_entropy(moved, y, weight=w, **kwargs)
        value.sum().backward()
        return value.detach(), logits.grad

    loss32, grad32 = run(xb.float(), None if wb is None else wb.float())
    loss16, grad16 = run(xb, wb)
    assert loss16.dtype == torch.bfloat16 and grad16.dtype == torch.bfloat16
    arrays["expected-loss.npy"] = loss32.numpy()
    arrays["expected-grad.npy"] = grad32.numpy()
    arrays["torch-bf16-loss.npy"] = loss16.float().numpy()
    arrays["torch-bf16-grad.npy"] = bits(grad16)
    write_case_folder(os.path.join(OUT, name), argv, arrays)
    # How far PyTorch's bfloat16 path is from fp32 on the same values (the loose tolerances).
    loss_error = ((loss16.float() - loss32).abs() / loss32.abs().clamp(min=1)).max().item()
    scale = grad32.abs().max().item()
    grad_error = (grad16.float() - grad32).abs().max().item() / scale
    print(f"{name}: torch bf16 vs fp32: loss {loss_error:.2e} relative,"
          f" gradient {grad_error:.2e} of the largest |gradient|")


def labels(shape, classes, ignored=0.0):
    y = torch.randint(0, classes, shape, generator=generator)
    y[torch.rand(shape, generator=generator) < ignored] = -100
    return y


case("labels-mean", 3 * torch.randn(6, 50, generator=generator), labels((6,), 50))
case("weight-ignore-smoothing-sum", 2 * torch.randn(8, 37, generator=generator),
     labels((8,), 37, ignored=0.25), ["--reduction", "sum", "--label-smoothing", "0.1"],
     weight=torch.rand(37, generator=generator) + 0.5, reduction="sum", label_smoothing=0.1)
case("axis1-none", torch.randn(3, 5, 4, generator=generator), labels((3, 4), 5),
     ["--reduction", "none"], class_axis=1, reduction="none")
case("long-rows-mean", 4 * torch.randn(4, 3000, generator=generator), labels((4,), 3000),
     ["--label-smoothing", "0.05", "--ignore-index", "7"], label_smoothing=0.05, ignore_index=7)

write_provenance(OUT, "make_bfloat16_evaluate_fixtures.py",
                 {"torch": torch.__version__, "numpy": np.__version__}, seed=SEED, notes=[
                     "device: cpu",
                     "Each folder: args.txt (xent evaluate arguments), bfloat16 inputs as uint16",
                     "bits, the float32 reference and PyTorch's own bfloat16 results."])
