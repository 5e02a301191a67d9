#!/usr/bin/env bash
# Data-parallel throughput on one machine (docs/DISTRIBUTED.md): images/s of one epoch of training for
#   1x2  one process, 2 threads
#   2x1  2 ranks, 1 thread each          (mpirun -np 2)
#   1x1  one process, 1 thread
#   4x1  4 ranks, 1 thread each          (mpirun -np 4 --oversubscribe)
# in alternating rounds (so drift hits every configuration alike), and the share of a step spent
# waiting on communication that rank 0 reports.
#   TOOL=check (default): FoveaMPICheck --train MODEL IMAGES THREADS 1 0 (the fit alone, no test pass;
#     one process is `mpirun -np 1`, which trains alone). TOOL=fovea: `fovea train … --verbose 0`
#     (images/s from its "fit took" line; it also evaluates the 10,000 test images, which for the
#     deep CNN takes longer than the fit).
#   QUIET=1: measure in a quiet window of our own (the protocol of the project's working rules): wait
#     until /work/QUIET is gone, create it, SIGSTOP the compilers, and always SIGCONT them and remove
#     /work/QUIET on exit; the window ends after WINDOW seconds (default 540) even if rounds remain.
#     Without QUIET=1 it only waits while someone else's /work/QUIET exists (and says the machine may be loaded).
#   swift build -c release --traits MPI --scratch-path .build-mpi --product fovea
#   swift build -c release --traits MPI --scratch-path .build-mpi --product FoveaMPICheck
#   bash scripts/mpi_bench.sh [rounds] [images] [model]      (default: 3 rounds, 1024 images, deep-cnn)
#   CONFIGS="2x1 1x2" QUIET=1 bash scripts/mpi_bench.sh 2     (the ≥ 85 % question only)
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} images=${2:-1024} model=${3:-deep-cnn}
configs=${CONFIGS:-"1x2 2x1 1x1 4x1"}
tool=${TOOL:-check}
fovea=${FOVEA:-.build-mpi/release/fovea}
check=${FOVEA_MPI_CHECK:-.build-mpi/release/FoveaMPICheck}
window=${WINDOW:-540}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
compilers=(swift-frontend swift-build swift-test swiftc clang ld.gold clang-17 ld)
quiet=0
cleanup() {
  if [ -n "${sampler:-}" ]; then
    kill "$sampler" 2>/dev/null
    echo "# other processes seen running in the window (2-s samples): $(sort "$out/others" 2>/dev/null | uniq -c | sort -rn | head -5 | tr -s ' \n' ' ')"
  fi
  if [ "$quiet" = 1 ]; then
    for c in "${compilers[@]}"; do pkill -CONT -x "$c"; done
    rm -f /work/QUIET
    echo "# quiet window ended $(date -u +%H:%M:%S); compilers resumed"
  fi
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run() {
  local ranks=${1%x*} threads=${1#*x}
  if [ "$tool" = fovea ]; then
    local args=(train --model "$model" --limit "$images" --epochs 1 --batch-size 64 --verbose 0 --threads "$threads"
                --output "$out/m.safetensors")
    if [ "$ranks" = 1 ]; then "$fovea" "${args[@]}"; else mpirun --oversubscribe -np "$ranks" "$fovea" "${args[@]}"; fi
  else
    mpirun --oversubscribe -np "$ranks" "$check" --train "$model" "$images" "$threads" 1 0
  fi
}

while [ -e /work/QUIET ]; do sleep 10; done
if [ "${QUIET:-0}" = 1 ]; then
  echo "mpi_bench until $(date -u -d "+$window seconds" +%H:%M)" >/work/QUIET
  quiet=1
  for c in "${compilers[@]}"; do pkill -STOP -x "$c"; done
  sleep 2
  echo "# quiet window from $(date -u +%H:%M:%S) (compilers stopped); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  # Every 2 s, note running processes other than ours (fovea, FoveaMPICheck, mpirun) and ps itself:
  # anything that still competes for the cores in the window (e.g. someone's test binaries).
  ( while :; do ps -eo stat=,comm= | awk '$1 ~ /^R/ && $2 !~ /^(fovea|FoveaMPICheck|mpirun|ps|awk)$/ {print $2}' >>"$out/others"; sleep 2; done ) &
  sampler=$!
else
  echo "# not a quiet window: other work may be running (load: $(cut -d' ' -f1-3 /proc/loadavg))"
fi
began=$(date +%s)
echo "config round images/s wait%"
for r in $(seq 1 "$rounds"); do
  for c in $configs; do
    if [ "$quiet" = 1 ] && [ $(( $(date +%s) - began )) -gt "$window" ]; then echo "# window of $window s used up"; exit 0; fi
    log=$(run "$c" 2>&1)
    if [ "$tool" = fovea ]; then
      secs=$(echo "$log" | sed -nE 's/.*fit took ([0-9.]+) s.*/\1/p')
      rate=${secs:+$(echo "scale=1; $images / $secs" | bc)}
    else
      rate=$(echo "$log" | sed -nE 's/.*: ([0-9.]+) images\/s.*/\1/p')
    fi
    wait=$(echo "$log" | sed -nE 's/.* ([0-9.]+)% of (it waiting|step time).*/\1/p')
    [ -n "$rate" ] || { echo "$c: no result"; echo "$log" | tail -n 5; continue; }
    [ "${c%x*}" = 1 ] && wait=-
    echo "$c $r $rate ${wait:--}"
  done
done
