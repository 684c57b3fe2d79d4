#!/usr/bin/env bash
# The MPI parts (package trait MPI): installs Open MPI from Debian's packages when it is missing
# (apt-get, with sudo unless root), builds them warning-free, and runs under mpirun on 1 to 4
# processes the checks of the vocabulary-parallel losses against the single process
# (CrossEntropyMPIChecks; the linear head streamed and in one pass among them) and `xent evaluate
# --vocab-parallel` against PyTorch's golden files.
# Usage: Scripts/check_mpi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun >/dev/null || ! pkg-config --exists ompi; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openmpi-bin libopenmpi-dev
fi
scratch=.build-mpi
mkdir -p "$scratch"
swift build --traits MPI --scratch-path "$scratch" --product xent 2>&1 | tee "$scratch/ci-build.log"
swift build --traits MPI --scratch-path "$scratch" --product CrossEntropyMPIChecks 2>&1 \
  | tee -a "$scratch/ci-build.log"
Scripts/check_warnings.sh "$scratch/ci-build.log"
run_as_root=""
if [[ $(id -u) -eq 0 ]]; then run_as_root="--allow-run-as-root"; fi
mpi() { mpirun --oversubscribe $run_as_root -np "$@"; }
bin="$(pwd)/$scratch/debug"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fixtures=Tests/xentTests/Fixtures
for ranks in 1 2 3 4; do
  mpi "$ranks" "$bin/CrossEntropyMPIChecks"
  # Cross-entropy and the linear head (options, sample weights, upstream gradients), against
  # PyTorch.
  for fixture in evaluate/ce-labels-f32 evaluate/ce-sample-weight-class-weight-ignore-mean-f64 \
    evaluate/ce-sample-weight-upstream-none-f32 evaluate/ce-normalizer-soft-cap-upstream-mean-f32 \
    evaluate-linear/every-option-f64 evaluate-linear/mean-f32 \
    evaluate/linear-sample-weight-class-weight-ignore-mean-f64 \
    evaluate/linear-sample-weight-upstream-smoothing-none-f32 \
    evaluate/linear-normalizer-upstream-mean-f32; do
    dir="$fixtures/$fixture"
    extra=()
    if [[ -f "$dir/expected-classifier-grad.npy" ]]; then
      extra+=(--classifier-gradient "$out/dw.npy")
    fi
    if [[ -f "$dir/expected-bias-grad.npy" ]]; then extra+=(--bias-gradient "$out/db.npy"); fi
    mapfile -t arguments <"$dir/args.txt"
    (cd "$dir" && mpi "$ranks" "$bin/xent" evaluate --vocab-parallel "${arguments[@]}" \
      --output "$out/loss.npy" --gradient "$out/grad.npy" "${extra[@]}" >/dev/null)
    tolerance=1e-5
    if [[ $fixture == *f64 ]]; then tolerance=1e-10; fi
    "$bin/CrossEntropyMPIChecks" compare "$out/loss.npy" "$dir/expected-loss.npy" $tolerance
    "$bin/CrossEntropyMPIChecks" compare "$out/grad.npy" "$dir/expected-grad.npy" $tolerance
    if [[ -f "$dir/expected-classifier-grad.npy" ]]; then
      "$bin/CrossEntropyMPIChecks" compare "$out/dw.npy" "$dir/expected-classifier-grad.npy" $tolerance
    fi
    if [[ -f "$dir/expected-bias-grad.npy" ]]; then
      "$bin/CrossEntropyMPIChecks" compare "$out/db.npy" "$dir/expected-bias-grad.npy" $tolerance
    fi
  done
  echo "check_mpi: xent evaluate --vocab-parallel on $ranks ranks matches the golden files"
done
