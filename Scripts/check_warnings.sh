#!/usr/bin/env bash
# Fails when a build log holds a compiler or package warning about this project's own code
# (Sources/, Tests/, the manifest); warnings from dependencies under .build/ are not ours.
# Usage: Scripts/check_warnings.sh BUILD.log
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ours=$(grep -E "^($root/(Sources|Tests|Package\.swift)[^:]*:[0-9]+:[0-9]+: warning:|warning: 'swift-cross-entropy')" "$1" \
  | sort -u || true)
if [[ -n "$ours" ]]; then
  echo "$ours"
  echo "check_warnings: $(wc -l <<<"$ours") warning(s) in the project's own code"
  exit 1
fi
echo "check_warnings: no warnings in the project's own code"
