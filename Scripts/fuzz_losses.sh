#!/usr/bin/env bash
# Runs the differential fuzzers of the loss API (Tests/CrossEntropyTests/Fuzz) for SECONDS
# (default 600) from SEED (default 1): random shapes, options, element types and adversarial
# values against the Double reference kernels; softmax cross-entropy for SECONDS, and the losses
# with fused kernels of their own (BCE, both focal losses, distillation, CTC, the linear head)
# for SECONDS / 6 each, in parallel. `swift test` runs the same tests for 5 seconds.
#
#   Scripts/fuzz_losses.sh [SECONDS] [SEED]
#
# A failure prints its case (with its seed); replay one with
#   XENT_FUZZ_SEED=<seed> XENT_FUZZ_CASES=1 XENT_FUZZ_VERBOSE=1 swift test --filter 'DifferentialFuzzTests|FusedLossFuzzTests'
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
seed="${2:-1}"
swift build --build-tests
XENT_FUZZ_SECONDS="$seconds" XENT_FUZZ_SEED="$seed" \
  swift test --skip-build --filter 'DifferentialFuzzTests|FusedLossFuzzTests' 2>&1 |
  grep -E "fuzzer|seed [0-9]+ |Test run"
