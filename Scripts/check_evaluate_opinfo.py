#!/usr/bin/env python3
"""Runs PyTorch's own OpInfo (and ModuleInfo) samples for the losses through `xent evaluate` and
compares loss and gradient with PyTorch, in float32 and float64.

  swift build -c release --product xent
  $TORCH_PYTHON -m pip install expecttest    # optional: a stub stands in for it
  $TORCH_PYTHON Scripts/check_evaluate_opinfo.py --xent .build/release/xent [--verbose]

Operations: nn.functional.cross_entropy, nll_loss, binary_cross_entropy(_with_logits), kl_div,
mse_loss and multi_margin_loss. For each, its sample_inputs and (where the OpInfo has them)
reference_inputs must match PyTorch's loss and d(loss.sum())/d(input) within the tolerances of
xent_evaluate_check.py (2e-5 float32, 1e-10 float64, relative and absolute); each of its error_inputs must be
refused by xent with a non-zero exit (not a crash), one line on standard error and no output
file. An error input whose target is a float array for a class-index loss (PyTorch's
error_inputs_multi_margin_loss builds them so) is run a second time with valid int64 labels,
so that xent is seen to refuse the defect the sample is about, not only the target's dtype.

The same losses' ModuleInfo entries (torch.testing._internal.common_modules: nn.CrossEntropyLoss,
NLLLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss, MSELoss, MultiMarginLoss) add their
module_inputs (0-d KL and MSE cases, 4-D and 6-D class layouts, 0-d BCE weights) and
module_error_inputs, checked the same way with the module as PyTorch's side.

A valid sample that xent cannot express by design would be counted as "unsupported" with the
reason in UNSUPPORTED below (none today); any other refusal or mismatch is a failure.
`--verbose` prints xent's message for every refused error input.

torch.testing._internal imports expecttest, a test-only package; when it is not installed, a
stub module stands in for it (xent_evaluate_check.op_db).
"""
import argparse
import re
import sys
import tempfile
import warnings
from types import SimpleNamespace

import torch

from xent_evaluate_check import (Tally, Xent, mismatch, op_db, refusal_problem,
                                 torch_loss_and_gradient)

OP_DB = op_db()  # first: it lets torch.testing._internal import without expecttest
from torch.testing._internal.common_modules import module_db  # noqa: E402
from torch.testing._internal.opinfo.core import SampleInput  # noqa: E402

warnings.filterwarnings("ignore", message="reduction: 'mean' divides the total loss")

parser = argparse.ArgumentParser()
parser.add_argument("--xent", default=".build/release/xent")
parser.add_argument("--verbose", action="store_true")
args = parser.parse_args()

# OpInfo name -> (xent --loss name, whether the target can only hold class indices).
LOSSES = {
    "nn.functional.cross_entropy": ("cross-entropy", False),  # indices or probabilities
    "nn.functional.nll_loss": ("nll", True),
    "nn.functional.binary_cross_entropy": ("binary-cross-entropy", False),
    "nn.functional.binary_cross_entropy_with_logits": ("binary-cross-entropy-with-logits", False),
    "nn.functional.kl_div": ("kl-div", False),
    "nn.functional.mse_loss": ("mse", False),
    "nn.functional.multi_margin_loss": ("multi-margin", True),
}
# ModuleInfo class name -> the functional it wraps (its entry above).
MODULES = {"CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss",
           "BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
           "KLDivLoss": "kl_div", "MSELoss": "mse_loss", "MultiMarginLoss": "multi_margin_loss"}
FLAGS = {"reduction": "--reduction", "ignore_index": "--ignore-index",
         "label_smoothing": "--label-smoothing", "margin": "--margin", "p": "--p"}
SWITCHES = {"log_target": "--log-target"}
TENSORS = {"weight": "--weight", "pos_weight": "--pos-weight"}
# (OpInfo name, predicate on a SampleInput, reason): valid samples xent refuses by design.
UNSUPPORTED = []


def command_for(loss, sample):
    """xent's flags and files for a sample, or a reason it has no xent form."""
    x = sample.input
    flags, files = [], {}
    if loss in ("cross-entropy", "nll"):
        flags += ["--class-axis", "1" if x.dim() >= 2 else "0"]
    for key, value in sample.kwargs.items():
        if key == "target":
            continue
        if key in TENSORS:
            if value is not None:
                files[TENSORS[key]] = value.detach().numpy()
        elif key in SWITCHES:
            flags += [SWITCHES[key]] if value else []
        elif key in FLAGS:
            flags += [FLAGS[key], str(value)]
        else:
            return None, f"no xent flag for keyword {key}={value!r}"
    return (flags, files), None


def target_of(sample):
    target = sample.args[0] if sample.args else sample.kwargs["target"]
    return target.detach() if isinstance(target, torch.Tensor) else torch.tensor(target)


def check_sample(op, loss, sample, xent, tally, what):
    key = f"{op.name} {what}"
    where = f"{what} {sample.input.dtype} input {list(sample.input.shape)} {sample.kwargs}"
    for name, predicate, reason in UNSUPPORTED:
        if name == op.name and predicate(sample):
            tally.add(key, "unsupported", reason)
            return
    spec, reason = command_for(loss, sample)
    if spec is None:
        tally.add(key, "failed", f"{where}: {reason}")
        return
    expected = torch_loss_and_gradient(op.op, sample.input, *sample.args, **sample.kwargs)
    run = xent.evaluate(loss, sample.input.detach().numpy(), target_of(sample).numpy(), *spec)
    problem = mismatch(run, *expected)
    if problem:
        tally.add(key, "failed", f"{where}: {problem}\n    {run.describe()}")
    else:
        tally.add(key, "passed")


def check_error(op, loss, class_target, error, xent, tally, what):
    key = f"{op.name} {what}"
    sample = error.sample_input
    variants = [("as given", target_of(sample))]
    target = variants[0][1]
    about_dtype = re.search(r"scalar type|dtype|floating point type", error.error_regex)
    if class_target and target.is_floating_point() and not about_dtype:
        classes = max(sample.input.shape[-1], 1) if sample.input.dim() else 1
        variants.append(("with valid int64 labels",
                         torch.randint(0, classes, target.shape, dtype=torch.int64)))
    for label, labels in variants:
        where = f"error input ({label}) expecting {error.error_type.__name__}: {error.error_regex}"
        spec, reason = command_for(loss, sample)
        if spec is None:
            flags, files = [f"--{k}" for k in sample.kwargs], {}  # refused as an unknown flag
        else:
            flags, files = spec
        run = xent.evaluate(loss, sample.input.detach().numpy(), labels.numpy(), flags, files)
        problem = refusal_problem(run)
        if problem:
            tally.add(key, "failed", f"{where}: {problem}\n    {run.describe()}")
        else:
            tally.add(key, "refused", f"{where}\n    xent: {run.stderr.strip()}", args.verbose)


def module_sources():
    """The ModuleInfo entries as (op-like, xent loss, class target, samples(dtype), errors)."""
    for info in module_db:
        functional = MODULES.get(info.module_cls.__name__)
        if functional is None:
            continue
        cls = info.module_cls
        op = SimpleNamespace(name=f"nn.{cls.__name__}",
                             op=lambda x, t, cls=cls, **kwargs: cls(**kwargs)(x, t))

        def as_sample(module_input):
            constructor, forward = module_input.constructor_input, module_input.forward_input
            assert not constructor.args and not forward.kwargs and len(forward.args) == 2
            return SampleInput(forward.args[0], args=(forward.args[1],),
                               kwargs=constructor.kwargs)

        def samples(dtype, info=info):
            for module_input in info.module_inputs_func(info, device="cpu", dtype=dtype,
                                                        requires_grad=False, training=True):
                yield as_sample(module_input)

        def errors(info=info):
            if info.module_error_inputs_func is None:
                return
            for error in info.module_error_inputs_func(info, device="cpu", dtype=torch.float64,
                                                       requires_grad=False, training=True):
                yield SimpleNamespace(sample_input=as_sample(error.module_error_input),
                                      error_type=error.error_type, error_regex=error.error_regex)

        yield op, *LOSSES["nn.functional." + functional], samples, errors


def opinfo_sources():
    """The OpInfo entries as (op, xent loss, class target, samples(dtype), errors)."""
    for op in OP_DB:
        if op.name not in LOSSES:
            continue

        def samples(dtype, op=op):
            yield from ((s, "sample_inputs") for s in op.sample_inputs("cpu", dtype))
            if op.reference_inputs_func is not None:
                yield from ((s, "reference_inputs") for s in op.reference_inputs("cpu", dtype))

        def errors(op=op):
            if op.error_inputs_func is not None:
                yield from op.error_inputs("cpu")

        yield op, *LOSSES[op.name], samples, errors


tally = Tally()
with tempfile.TemporaryDirectory() as folder:
    xent = Xent(args.xent, folder)
    for op, loss, class_target, samples, errors in opinfo_sources():
        for dtype in (torch.float32, torch.float64):
            for sample, what in samples(dtype):
                check_sample(op, loss, sample, xent, tally, what)
        for error in errors():
            check_error(op, loss, class_target, error, xent, tally, "error_inputs")
    for op, loss, class_target, samples, errors in module_sources():
        for dtype in (torch.float32, torch.float64):
            for sample in samples(dtype):
                check_sample(op, loss, sample, xent, tally, "module_inputs")
        for error in errors():
            check_error(op, loss, class_target, error, xent, tally, "module_error_inputs")
tally.report()
print(f"{tally.failures} failures; torch {torch.__version__}, xent {args.xent}")
sys.exit(1 if tally.failures else 0)
