#!/usr/bin/env bash
# Builds (release) and runs the ordo-one/benchmark suites in Benchmarks/: throughput, wall clock,
# CPU time, mallocs, peak memory and time per element ("ps per element": 1000 = 1 ns) of the
# loss family. The suites live in their own package so the library's dependency graph stays clean.
#
# Usage: Scripts/run-benchmarks.sh [--quick] [extra `benchmark` arguments]
#   --quick                    1 Mi logits per core case (instead of 16 Mi), at most 10 iterations
#   --filter REGEX             only the benchmarks whose whole name matches (e.g. '.*C=32000 .*')
#   --target NAME              CrossEntropyBenchmarks (core, issue 3) or FamilyBenchmarks (issue 5)
#   --format markdown          GitHub tables instead of text
# Environment: XENT_BENCH_ELEMENTS (logits per core case, default 16777216), XENT_BENCH_SECONDS
# (time per benchmark, default 1), XENT_BENCH_ITERATIONS (iteration cap, default 50).
# Extra arguments go to `swift package benchmark run`; see `swift package benchmark help`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--quick" ]]; then
  shift
  export XENT_BENCH_ELEMENTS="${XENT_BENCH_ELEMENTS:-1048576}"
  export XENT_BENCH_ITERATIONS="${XENT_BENCH_ITERATIONS:-10}"
fi

# The benchmark plugin always builds in release mode.
# The metrics are set in Benchmarks/Sources/BenchmarkData (a --metric here would replace them).
exec swift package --package-path Benchmarks benchmark run --no-progress "$@"
