#!/usr/bin/env bash
# Fuzzes the .npy reader (Sources/NumPyIO) with libFuzzer for SECONDS (default 600).
#
#   Scripts/fuzz_npy.sh [SECONDS] [extra libFuzzer flags...]
#
# Needs a Linux Swift toolchain (swiftc -sanitize=fuzzer). Builds .build/fuzz/npy-fuzz with
# AddressSanitizer, seeds the corpus with the test fixtures and the regression corpus, and writes
# any crashing input to .build/fuzz/artifacts/. Copy a fixed crash into
# Tests/NumPyIOTests/Fixtures/npy-corpus/ so that NumPyCorpusTests keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
out=.build/fuzz
mkdir -p "$out/corpus" "$out/artifacts"
sources=()
for file in Sources/NumPyIO/*.swift; do
  # The file I/O needs Foundation and is not part of the parser under test.
  [[ "$(basename "$file")" == "NumPyFile.swift" ]] || sources+=("$file")
done
echo "== building $out/npy-fuzz"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name NPYFuzz \
  Scripts/fuzz/NPYFuzz.swift "${sources[@]}" -o "$out/npy-fuzz"
cp Tests/NumPyIOTests/Fixtures/npy/*.npy Tests/NumPyIOTests/Fixtures/npy-corpus/*.npy "$out/corpus/" \
  2>/dev/null || true
echo "== fuzzing for ${seconds}s"
exec "$out/npy-fuzz" "$out/corpus" -dict=Scripts/fuzz/npy.dict -max_len=4096 \
  -rss_limit_mb=1024 -malloc_limit_mb=256 -max_total_time="$seconds" \
  -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
