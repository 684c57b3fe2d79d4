#!/usr/bin/env bash
# Runs the README's language-model demo (`xent demo lm`, default options, release build) and
# checks what it promises: the neural model's test perplexity is below the bigram's, and the
# head's measured peak extra memory stays within its 64 MiB scratch bound plus packing buffers,
# far below the materialised logits. It prints the run's JSON; it asserts no timing.
#
# Usage: Scripts/check_demo_lm.sh [extra xent demo lm options]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product xent 2>&1 | tail -1
json=$(.build/release/xent demo lm --json "$@")
echo "$json" | sed 's/, "sample": .*$/}/'
field() {
  echo "$json" | sed -n "s/.*\"$1\": \([-0-9.e+]*\).*/\1/p"
}
neural=$(field test_perplexity)
bigram=$(field bigram_perplexity)
kneser_ney=$(field kneser_ney_perplexity)
head=$(field head_peak_extra_bytes)
logits=$(field materialized_logits_bytes)
failures=0
if ! awk -v n="$neural" -v b="$bigram" 'BEGIN { exit !(n > 0 && n < b) }'; then
  echo "FAIL: test perplexity $neural is not below the bigram's $bigram"
  failures=$((failures + 1))
fi
if [ -n "$head" ] && ! awk -v h="$head" -v l="$logits" \
  'BEGIN { exit !(h <= 72 * 1048576 && h < l / 4) }'; then
  echo "FAIL: the head's peak extra memory $head bytes is above 72 MiB or near the logits' $logits"
  failures=$((failures + 1))
fi
echo "test perplexity: neural $neural, bigram $bigram, Kneser-Ney trigram $kneser_ney"
exit "$failures"
