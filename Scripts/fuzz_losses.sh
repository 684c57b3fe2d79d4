#!/usr/bin/env bash
# Runs the differential fuzzer of the loss API (Tests/CrossEntropyTests/Fuzz) for SECONDS
# (default 600) from SEED (default 1): random shapes, options, element types and adversarial
# values against the Double reference kernels. `swift test` runs the same test for 5 seconds.
#
#   Scripts/fuzz_losses.sh [SECONDS] [SEED]
#
# A failure prints its case (with its seed); replay one with
#   XENT_FUZZ_SEED=<seed> XENT_FUZZ_CASES=1 XENT_FUZZ_VERBOSE=1 swift test --filter DifferentialFuzzTests
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
seed="${2:-1}"
swift build --build-tests
XENT_FUZZ_SECONDS="$seconds" XENT_FUZZ_SEED="$seed" \
  swift test --skip-build --filter DifferentialFuzzTests 2>&1 | grep -E "differential fuzzer|seed [0-9]+ |Test run"
