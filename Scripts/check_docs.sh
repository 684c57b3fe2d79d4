#!/usr/bin/env bash
# Builds the DocC catalog of the CrossEntropy module and fails on any warning.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swift build --target CrossEntropy --scratch-path .build-docs \
  -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$out/symbols" >/dev/null
log=$(docc convert Sources/CrossEntropy/Documentation.docc \
  --additional-symbol-graph-dir "$out/symbols" \
  --fallback-display-name CrossEntropy --fallback-bundle-identifier org.swift-cross-entropy \
  --output-path "$out/doc" 2>&1)
if grep -q "warning:" <<<"$log"; then
  echo "$log"
  echo "DocC reported warnings" >&2
  exit 1
fi
echo "DocC catalog builds without warnings"
