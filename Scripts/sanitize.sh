#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer: `address` (AddressSanitizer and LeakSanitizer) or
# `thread` (ThreadSanitizer). Builds go to .build-<sanitizer> so the normal build is untouched.
# Leaks inside the toolchain's own libraries are suppressed (Scripts/lsan-suppressions.txt).
#
# Usage: Scripts/sanitize.sh address|thread [-c release] [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer=${1:?usage: Scripts/sanitize.sh address|thread [swift test arguments]}
shift
case "$sanitizer" in
  address | thread) ;;
  *) echo "unknown sanitizer '$sanitizer'; expected address or thread" >&2; exit 2 ;;
esac
export LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan-suppressions.txt:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1"
swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" "$@"
