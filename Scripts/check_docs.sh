#!/usr/bin/env bash
# Builds the DocC catalog of the CrossEntropy module and fails on any warning; with --preview,
# serves it at http://localhost:8080/documentation/crossentropy instead (until Ctrl-C).
# Usage: Scripts/check_docs.sh [--preview]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swift build --target CrossEntropy --scratch-path .build-docs \
  -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$out/symbols" >/dev/null
options=(--additional-symbol-graph-dir "$out/symbols"
  --fallback-display-name CrossEntropy --fallback-bundle-identifier org.swift-cross-entropy)
if [[ "${1:-}" == "--preview" ]]; then
  docc preview Sources/CrossEntropy/Documentation.docc "${options[@]}" --output-path "$out/doc"
  exit 0
fi
log=$(docc convert Sources/CrossEntropy/Documentation.docc "${options[@]}" \
  --output-path "$out/doc" 2>&1)
if grep -q "warning:" <<<"$log"; then
  echo "$log"
  echo "DocC reported warnings" >&2
  exit 1
fi
echo "DocC catalog builds without warnings"
