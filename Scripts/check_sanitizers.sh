#!/usr/bin/env bash
# CI's sanitizer step: the suites that exercise threads under ThreadSanitizer and the suites
# that exercise raw memory under AddressSanitizer (with LeakSanitizer), each in its own scratch
# path (Scripts/sanitize.sh). The whole suite under both sanitizers is `Scripts/sanitize.sh
# thread` and `Scripts/sanitize.sh address`, by hand: too slow for CI's budget.
set -euo pipefail
cd "$(dirname "$0")/.."
# The differential fuzzer's share of this step.
export XENT_FUZZ_SECONDS=${XENT_FUZZ_SECONDS:-3}
echo "== ThreadSanitizer: concurrent calls, thread counts, the threaded kernels and the GEMM"
./Scripts/sanitize.sh thread \
  --filter 'ConcurrencyTests|ParallelismTests|KernelTests|GEMMTests|GEMMInPlaceRowsTests|LinearCrossEntropyScheduleTests|ThreadCommunicator'
echo "== AddressSanitizer: caller buffers, in-place forms, the GEMM, the fuzzers, the .npy reader"
./Scripts/sanitize.sh address \
  --filter 'BufferForm|ConcurrencyTests|GEMMTests|GEMMInPlaceRowsTests|DifferentialFuzzTests|FuzzRegressionTests|NumPyIOTests'
