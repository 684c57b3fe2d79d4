#!/usr/bin/env bash
# Builds (release) and runs the ordo-one/benchmark suites in Benchmarks/ (their own package, so
# the library's dependency graph stays clean), in two passes:
#   1. time and allocations: wall clock, CPU time, throughput, "ps per element" (1000 = 1 ns per
#      logit), mallocs and malloc bytes of the measured call alone;
#   2. peak memory: peakMemoryResident and peakMemoryResidentDelta (peak above the level after
#      setup), one measured call per benchmark. This pass is separate because the resident-memory
#      sampler thread allocates, which would inflate pass 1's malloc counts.
#
# Usage: Scripts/run_benchmarks.sh [--quick] [--no-memory] [extra `benchmark run` arguments]
#   --quick            1 Mi logits per cross-entropy case (default 16 Mi) and at most 10 iterations
#   --no-memory        skip pass 2
#   --filter REGEX     only benchmarks whose whole name matches, e.g. --filter '.*C=32000 .*'
#   --target NAME      CrossEntropyBenchmarks (softmax cross-entropy and BCE-with-logits) or
#                      LossBenchmarks (the other losses next to plain cross-entropy)
#   --format markdown  GitHub tables instead of text (see `swift package benchmark help`)
# Environment: XENT_BENCH_ELEMENTS (logits per cross-entropy case), XENT_BENCH_SECONDS (time per benchmark,
# default 1), XENT_BENCH_ITERATIONS (iteration cap, default 50), XENT_BENCH_WARMUP (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

memory=1
arguments=()
for argument in "$@"; do
  case "$argument" in
    --quick)
      export XENT_BENCH_ELEMENTS="${XENT_BENCH_ELEMENTS:-1048576}"
      export XENT_BENCH_ITERATIONS="${XENT_BENCH_ITERATIONS:-10}"
      ;;
    --no-memory) memory=0 ;;
    *) arguments+=("$argument") ;;
  esac
done

# The benchmark plugin builds the suites in release mode.
echo "== pass 1: time and allocations"
swift package --package-path Benchmarks benchmark run --no-progress ${arguments[@]+"${arguments[@]}"}

if [[ "$memory" == 1 ]]; then
  echo "== pass 2: peak memory (one measured call each)"
  XENT_BENCH_ITERATIONS=1 XENT_BENCH_WARMUP=0 \
    swift package --package-path Benchmarks benchmark run --no-progress \
    --metric peakMemoryResident --metric peakMemoryResidentDelta \
    ${arguments[@]+"${arguments[@]}"}
fi
