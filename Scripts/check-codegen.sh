#!/usr/bin/env bash
# Checks the object code of the fused kernels (issue 3):
#  1. the portable release build (no -target-cpu) makes no libm call from the hot-loop files:
#     FusedRows (every loop) none at all, FusedSoftmax only `log` (once per row). In particular
#     no `fmaf`, which is what `addingProduct` becomes without an FMA target.
#  2. a release build with `-Xswiftc -target-cpu -Xswiftc native` uses FMA (vfmadd) and, where
#     the host has AVX-512, zmm registers in FusedRows.
# x86-64 Linux only (elsewhere it says so and succeeds). Usage: Scripts/check-codegen.sh
# [--portable-only]. The native build goes to .build-native so the default .build is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "$(uname -m)" != "x86_64" ]] || ! command -v objdump >/dev/null; then
  echo "check-codegen: skipped (needs x86-64 and objdump)"
  exit 0
fi

failures=0

# The C symbols (not Swift-mangled, not the Swift runtime) that an object file calls.
called_c_symbols() {
  objdump -dr --no-show-raw-insn "$1" \
    | awk '/call/ {getline; if ($2 ~ /R_X86_64_(PLT32|PC32|GOTPCRELX|REX_GOTPCRELX)/) print $3}' \
    | sed 's/-0x4$//; s/@.*//' | grep -v -E '^(\$s|\$S|swift_|_swift|\.L)' | sort -u || true
}

check_calls() {  # object, allowed symbols (regex)
  local object=$1 allowed=$2
  local bad
  bad=$(called_c_symbols "$object" | grep -v -E "^(${allowed})$" || true)
  if [[ -n "$bad" ]]; then
    echo "FAIL: $(basename "$object") calls: $(echo $bad)"
    failures=$((failures + 1))
  else
    echo "ok:   $(basename "$object") calls no scalar libm function in its loops"
  fi
}

echo "== portable release build"
swift build -c release --target CrossEntropy 2>&1 | tail -1
objects=.build/release/CrossEntropy.build
check_calls "$objects/FusedRows.swift.o" 'memset|memcpy|memmove'
check_calls "$objects/FusedSoftmax.swift.o" 'log|memset|memcpy|memmove'
if objdump -dr "$objects/FusedRows.swift.o" "$objects/FusedSoftmax.swift.o" | grep -q -E 'fmaf?\b'; then
  echo "FAIL: a portable kernel object refers to fma/fmaf"
  failures=$((failures + 1))
fi

if [[ "${1:-}" != "--portable-only" ]]; then
  echo "== native release build (-target-cpu native)"
  swift build -c release --target CrossEntropy --scratch-path .build-native \
    -Xswiftc -target-cpu -Xswiftc native 2>&1 | tail -1
  native=.build-native/release/CrossEntropy.build/FusedRows.swift.o
  check_calls "$native" 'memset|memcpy|memmove'
  code=$(objdump -d --no-show-raw-insn "$native")
  if grep -q -w fma /proc/cpuinfo; then
    if grep -q vfmadd <<<"$code"; then echo "ok:   native FusedRows uses vfmadd"; else
      echo "FAIL: native FusedRows has no vfmadd"; failures=$((failures + 1)); fi
  fi
  if grep -q -w avx512f /proc/cpuinfo; then
    if grep -q zmm <<<"$code"; then echo "ok:   native FusedRows uses zmm registers"; else
      echo "FAIL: native FusedRows has no zmm registers"; failures=$((failures + 1)); fi
  fi
fi

if [[ $failures -gt 0 ]]; then
  echo "check-codegen: $failures failure(s)"
  exit 1
fi
echo "check-codegen: passed"
