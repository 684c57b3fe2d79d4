#!/usr/bin/env bash
# Checks the object code of the fused kernels (the rules in Sources/CrossEntropy/Kernels/README.md),
# and that the release builds emit no warning about the project's own code:
#  1. in the portable release build (no -target-cpu), the fused kernel functions (every symbol
#     of FusedRows and FusedSoftmax, wherever the optimiser placed their specialisations)
#     call no libm function except `log` (once per row): in particular no `fmaf`, which is what
#     `addingProduct` becomes without an FMA target, and no per-lane half-precision conversion.
#  2. a release build with `-Xswiftc -target-cpu -Xswiftc native` uses FMA (vfmadd), where the
#     host has F16C converts Float16 with vcvtph2ps/vcvtps2ph (and, as in 1, calls no per-lane
#     conversion such as __extendhfsf2/__truncsfhf2), and where the host has AVX-512 uses zmm
#     registers in those functions.
#  3. the fused distillation kernel (every FusedDistillation symbol) calls no libm function but
#     `log` and `exp` (scalar Double, per row and per block, never per lane), and in the native
#     build with AVX-512 its exp loops are 16-lane code: each `exponentialSums` specialisation
#     has at most one packed fp32 FMA or multiply on xmm/ymm registers per eight on zmm (Swift
#     6.3's LLVM once split a whole 16-lane chain of this kernel into 4-lane pieces, which gives
#     as many narrow ones as wide; under register pressure it may split the odd single FMA).
#  4. the GEMM's baseline micro-kernels (xent_gemm_kernel_baseline and its in-place-rows
#     variant xent_gemm_kernel_baseline_rows, C target
#     CrossEntropyGEMMKernels) in the portable build holds no AVX instruction: no ymm or zmm
#     register and no VEX/EVEX-encoded (v-prefixed) instruction, nor does the tile dispatch or
#     the Swift side of the GEMM (packing and blocking); the AVX2 kernel in the same object file
#     set does use ymm FMAs (it is compiled with a target attribute). Then the GEMM tests run with
#     XENT_GEMM_KERNEL=baseline, so that the baseline kernel computes every product.
# The scalar fallbacks for non-finite rows (FusedSoftmax.scalar*Row) are exempt: it is not a loop
# over well-formed data. x86-64 with objdump only (elsewhere it says so and succeeds).
# Usage: Scripts/check_codegen.sh [--portable-only]. The native build goes to .build-native.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "$(uname -m)" != "x86_64" ]] || ! command -v objdump >/dev/null; then
  echo "check_codegen: skipped (needs x86-64 and objdump)"
  exit 0
fi

failures=0

# The disassembly of the fused kernel functions in every object file of the library.
kernel_code() {
  objdump -dr --no-show-raw-insn "$1"/*.o | awk '
    /^[0-9a-f]+ <.*>:$/ {
      keep = ($0 ~ /FusedRows|FusedSoftmax|FusedBinaryaB0O5block_/) && ($0 !~ /scalar[A-Za-z]*Row/)
      if (keep) functions++
    }
    keep { print }
    END { if (functions == 0) print "NO-KERNEL-FUNCTIONS-FOUND" }'
}

# The C symbols (not Swift-mangled, not the Swift runtime) that the kernel code calls.
called_c_symbols() {
  awk '/call/ {getline; if ($2 ~ /R_X86_64_(PLT32|PC32|GOTPCRELX|REX_GOTPCRELX)/) print $3}' \
    | sed 's/-0x4$//; s/@.*//' | grep -v -E '^(\$s|\$S|swift_|_swift|\.L)' | sort -u || true
}

check() {  # label, directory
  local code bad
  code=$(kernel_code "$2")
  if grep -q NO-KERNEL-FUNCTIONS-FOUND <<<"$code"; then
    echo "FAIL: $1: no FusedRows/FusedSoftmax functions found"
    failures=$((failures + 1))
    return
  fi
  bad=$(called_c_symbols <<<"$code" | grep -v -E '^(log|memset|memcpy|memmove)$' || true)
  if [[ -n "$bad" ]]; then
    echo "FAIL: $1: the fused kernels call $(echo $bad)"
    failures=$((failures + 1))
  else
    echo "ok:   $1: the fused kernels call no scalar libm function (only log, once per row)"
  fi
  if [[ "$1" == native ]]; then
    if grep -q -w fma /proc/cpuinfo; then
      if grep -q vfmadd <<<"$code"; then echo "ok:   native: vfmadd in the kernels"; else
        echo "FAIL: native: no vfmadd in the kernels"; failures=$((failures + 1)); fi
    fi
    if grep -q -w f16c /proc/cpuinfo; then
      if grep -q vcvtph2ps <<<"$code" && grep -q vcvtps2ph <<<"$code"; then
        echo "ok:   native: Float16 loads and stores are vcvtph2ps/vcvtps2ph (F16C)"; else
        echo "FAIL: native: no vcvtph2ps/vcvtps2ph in the kernels"; failures=$((failures + 1)); fi
    fi
    if grep -q -w avx512f /proc/cpuinfo; then
      if grep -q zmm <<<"$code"; then echo "ok:   native: zmm registers in the kernels"; else
        echo "FAIL: native: no zmm registers in the kernels"; failures=$((failures + 1)); fi
    fi
  elif grep -q -E '\bfmaf?\b' <<<"$code"; then
    echo "FAIL: portable: the kernels refer to fma/fmaf"
    failures=$((failures + 1))
  fi
}

# The disassembly of the distillation kernel's functions (the scalar fallback row exempt).
distillation_code() {
  objdump -dr --no-show-raw-insn "$1"/FusedDistillation.swift.o | awk '
    /^[0-9a-f]+ <.*>:$/ {
      keep = ($0 ~ /FusedDistillation/) && ($0 !~ /scalar[A-Za-z]*Row/)
      if (keep) functions++
    }
    keep { print }
    END { if (functions == 0) print "NO-KERNEL-FUNCTIONS-FOUND" }'
}

check_distillation() {  # label, directory
  local code bad split
  code=$(distillation_code "$2")
  if grep -q NO-KERNEL-FUNCTIONS-FOUND <<<"$code"; then
    echo "FAIL: $1: no FusedDistillation functions found"
    failures=$((failures + 1))
    return
  fi
  bad=$(called_c_symbols <<<"$code" | grep -v -E '^(log|exp|memset|memcpy|memmove)$' || true)
  if [[ -n "$bad" ]]; then
    echo "FAIL: $1: the distillation kernel calls $(echo $bad)"
    failures=$((failures + 1))
  else
    echo "ok:   $1: the distillation kernel calls no libm function but log and exp (per row)"
  fi
  if [[ "$1" == native ]] && grep -q -w avx512f /proc/cpuinfo; then
    split=$(awk '
      /^[0-9a-f]+ <.*>:$/ { name = ($2 ~ /exponentialSums/) ? $2 : "" }
      name != "" && /v(fn?m(add|sub)[0-9]+|mul)ps/ { if (/%zmm/) wide[name]++; else narrow[name]++ }
      END {
        for (n in narrow) if (narrow[n] * 8 > wide[n]) print n, narrow[n] " narrow", wide[n] + 0 " wide"
      }' <<<"$code")
    if [[ -n "$split" ]]; then
      echo "FAIL: native: distillation functions with 4- or 8-lane fp32 arithmetic: $split"
      failures=$((failures + 1))
    elif [[ $(grep -c -E 'vfn?madd[0-9]+ps.*%zmm' <<<"$code") -lt 100 ]]; then
      echo "FAIL: native: the distillation kernel has (almost) no 16-lane FMAs"
      failures=$((failures + 1))
    else
      echo "ok:   native: the distillation kernel's loops are 16-lane (zmm) code"
    fi
  fi
}

# The disassembly of one function of an object file.
function_code() {  # object, symbol
  objdump -d --no-show-raw-insn "$1" | awk -v name="<$2>:" '
    /^[0-9a-f]+ <.*>:$/ { keep = ($2 == name); if (keep) found = 1 }
    keep { print }
    END { if (!found) print "NO-SUCH-FUNCTION" }'
}

# Fails on any AVX instruction (ymm/zmm registers, or a v-prefixed, VEX or EVEX, mnemonic).
check_no_avx() {  # label, code
  local avx
  if grep -q NO-SUCH-FUNCTION <<<"$2"; then
    echo "FAIL: $1: not found"
    failures=$((failures + 1))
    return
  fi
  avx=$(grep -E '%[yz]mm|^ *[0-9a-f]+:[[:space:]]+v[a-z0-9]+' <<<"$2" | head -3 || true)
  if [[ -n "$avx" ]]; then
    echo "FAIL: $1 has AVX instructions: $avx"
    failures=$((failures + 1))
  else
    echo "ok:   $1: no AVX instruction (no ymm/zmm, no VEX)"
  fi
}

check_gemm() {  # directory of the C target's objects, directory of the library's objects
  check_no_avx "portable: xent_gemm_kernel_baseline" \
    "$(function_code "$1"/Baseline.c.o xent_gemm_kernel_baseline)"
  check_no_avx "portable: xent_gemm_kernel_baseline_rows" \
    "$(function_code "$1"/Baseline.c.o xent_gemm_kernel_baseline_rows)"
  check_no_avx "portable: xent_gemm_tile" "$(function_code "$1"/Dispatch.c.o xent_gemm_tile)"
  check_no_avx "portable: the GEMM's Swift code" \
    "$(objdump -d --no-show-raw-insn "$2"/GEMM*.swift.o || echo NO-SUCH-FUNCTION)"
  local avx2
  avx2=$(function_code "$1"/AVX2.c.o xent_gemm_kernel_avx2)
  if grep -q -E 'vfmadd[0-9]+ps.*%ymm' <<<"$avx2"; then
    echo "ok:   portable: xent_gemm_kernel_avx2 uses ymm FMAs"
  else
    echo "FAIL: portable: no ymm FMA in xent_gemm_kernel_avx2"
    failures=$((failures + 1))
  fi
}

echo "== portable release build"
mkdir -p .build
swift build -c release --target CrossEntropy 2>&1 | tee .build/codegen-portable.log | tail -1
Scripts/check_warnings.sh .build/codegen-portable.log || failures=$((failures + 1))
check portable .build/release/CrossEntropy.build
check_distillation portable .build/release/CrossEntropy.build
check_gemm .build/release/CrossEntropyGEMMKernels.build .build/release/CrossEntropy.build
echo "== the GEMM tests on the baseline kernel (XENT_GEMM_KERNEL=baseline, debug build)"
log=.build/codegen-gemm-baseline.log
if XENT_GEMM_KERNEL=baseline swift test --filter GEMM >"$log" 2>&1 \
  && grep -q -E 'Test run with [1-9][0-9]* tests? .*passed' "$log"; then
  echo "ok:   the GEMM tests pass on the baseline kernel"
else
  echo "FAIL: the GEMM tests on the baseline kernel ($log)"
  failures=$((failures + 1))
fi

if [[ "${1:-}" != "--portable-only" ]]; then
  echo "== native release build (-target-cpu native)"
  mkdir -p .build-native
  swift build -c release --target CrossEntropy --scratch-path .build-native \
    -Xswiftc -target-cpu -Xswiftc native 2>&1 | tee .build-native/codegen-native.log | tail -1
  Scripts/check_warnings.sh .build-native/codegen-native.log || failures=$((failures + 1))
  check native .build-native/release/CrossEntropy.build
  check_distillation native .build-native/release/CrossEntropy.build
fi

if [[ $failures -gt 0 ]]; then
  echo "check_codegen: $failures failure(s)"
  exit 1
fi
echo "check_codegen: passed"
