#!/usr/bin/env bash
# Data-parallel throughput on one machine (docs/DISTRIBUTED.md): images/s of `fovea train` for
#   1x2  one process, 2 threads          (no mpirun)
#   2x1  2 ranks, 1 thread each          (mpirun -np 2)
#   1x1  one process, 1 thread
#   4x1  4 ranks, 1 thread each          (mpirun -np 4 --oversubscribe)
# in alternating rounds (so drift hits every configuration alike), from the "fit took" line, and the
# share of a step spent waiting on communication that rank 0 reports. Waits while /work/QUIET exists.
#   swift build -c release --traits MPI --scratch-path .build-mpi --product fovea
#   bash scripts/mpi_bench.sh [rounds] [images] [model]      (default: 3 rounds, 1024 images, deep-cnn)
set -uo pipefail
cd "$(dirname "$0")/.."
fovea=${FOVEA:-.build-mpi/release/fovea}
rounds=${1:-3} images=${2:-1024} model=${3:-deep-cnn}
configs=${CONFIGS:-"1x2 2x1 1x1 4x1"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
args=(train --model "$model" --limit "$images" --epochs 1 --batch-size 64 --verbose 0 --output "$out/m.safetensors")
run() {
  local c=$1 ranks=${1%x*} threads=${1#*x}
  if [ "$ranks" = 1 ]; then "$fovea" "${args[@]}" --threads "$threads"
  else mpirun --oversubscribe -np "$ranks" "$fovea" "${args[@]}" --threads "$threads"; fi
}
echo "config round images/s wait%"
for r in $(seq 1 "$rounds"); do
  for c in $configs; do
    while [ -e /work/QUIET ]; do sleep 20; done
    log=$(run "$c" 2>&1)
    secs=$(echo "$log" | sed -nE 's/.*fit took ([0-9.]+) s.*/\1/p')
    wait=$(echo "$log" | sed -nE 's/.* ([0-9.]+)% of it waiting.*/\1/p')
    [ -n "$secs" ] || { echo "$c: no result"; echo "$log" | tail -n 5; continue; }
    echo "$c $r $(echo "scale=1; $images / $secs" | bc) ${wait:--}"
  done
done
