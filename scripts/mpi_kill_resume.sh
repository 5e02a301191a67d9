#!/usr/bin/env bash
# Faults in data-parallel training (docs/DISTRIBUTED.md): starts `fovea train` on 2 ranks with a
# checkpoint every 20 batches, SIGKILLs rank 1 mid-epoch, and checks that the job ends with an error
# within 60 s, that the checkpoint left behind is whole (it loads and resumes), and that --resume on
# 2 ranks finishes the run as an uninterrupted one does (same epoch logs and test result). Needs a fovea built with the MPI trait:
#   swift build -c release --traits MPI --scratch-path .build-mpi --product fovea
#   bash scripts/mpi_kill_resume.sh [.build-mpi/release/fovea]
set -uo pipefail
cd "$(dirname "$0")/.."
fovea=${1:-.build-mpi/release/fovea}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=(train --model seed-cnn --limit 12800 --epochs 2 --batch-size 64 --threads 1 --verbose 2)
args=("${base[@]}" --checkpoint "$work/ckpt.safetensors" --checkpoint-every 20)

mpirun --oversubscribe -np 2 "$fovea" "${args[@]}" >"$work/run.log" 2>&1 &
job=$!
# Wait until a checkpoint exists, then a little more (mid-epoch), then kill rank 1.
for _ in $(seq 1 600); do [ -e "$work/ckpt.safetensors" ] && break; sleep 0.1; done
[ -e "$work/ckpt.safetensors" ] || { echo "no checkpoint appeared"; cat "$work/run.log"; exit 1; }
sleep 0.5
# This job's ranks are mpirun's children (other fovea runs on the machine are none of our business).
ranks=$(pgrep -P "$job" -f "$fovea" | tr '\n' ' ')
victim=$(echo $ranks | cut -d' ' -f2)
[ -n "$victim" ] || { echo "FAIL: did not find 2 ranks under mpirun (pid $job): '$ranks'"; exit 1; }
echo "ranks: $ranks; killing pid $victim with SIGKILL"
killed=$(date +%s.%N)
kill -KILL "$victim"
wait "$job"; status=$?
ended=$(date +%s.%N)
elapsed=$(echo "$ended - $killed" | bc)
echo "mpirun exited with status $status, $elapsed s after the kill; its last lines:"
tail -n 8 "$work/run.log" | sed 's/^/  | /'
left=0; for pid in $ranks; do [ -e /proc/$pid ] && [ "$(cut -d" " -f3 /proc/$pid/stat 2>/dev/null)" != Z ] && { left=$((left + 1)); ps -o pid,stat,etime,cmd -p "$pid" | tail -n +2 | sed "s/^/still running: /"; }; done
ok=1
[ "$status" -ne 0 ] || { echo "FAIL: the job did not fail"; ok=0; }
(( $(echo "$elapsed < 60" | bc) )) || { echo "FAIL: the job took more than 60 s to end"; ok=0; }
[ "$left" -eq 0 ] || { echo "FAIL: $left rank processes still running"; ok=0; }
ls "$work" | grep -v -E '^(ckpt.safetensors|run.log)$' | sed 's/^/leftover file: /'

echo "resuming from the checkpoint on 2 ranks:"
mpirun --oversubscribe -np 2 "$fovea" train --resume "$work/ckpt.safetensors" --limit 12800 --epochs 2 --batch-size 64 \
  --threads 1 --verbose 2 --checkpoint-every 20 2>&1 | tee "$work/resume.log" | sed 's/^/  | /'
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FAIL: --resume did not finish"; ok=0; }
grep -q "Resuming at epoch" "$work/resume.log" || { echo "FAIL: did not resume"; ok=0; }
grep -qE "Resuming at epoch [0-9]+, step [1-9][0-9]*/" "$work/resume.log" || echo "note: the checkpoint was at an epoch's end, not mid-epoch"
grep -q "Test loss" "$work/resume.log" || { echo "FAIL: no test result"; ok=0; }

echo "the same run uninterrupted on 2 ranks, for comparison:"
mpirun --oversubscribe -np 2 "$fovea" "${base[@]}" --output "$work/whole.safetensors" >"$work/whole.log" 2>&1
summary() { sed -E 's/.*\r//; s/ - [0-9]+m?s - [0-9.]+m?s\/step//; s/ \(fit took.*//' "$1" | grep -E '^(Epoch|[0-9]+/[0-9]+|Test loss)'; }
if diff <(summary "$work/resume.log" | tail -n 2) <(summary "$work/whole.log" | tail -n 2) >"$work/diff"; then
  echo "  the resumed run's last epoch and test result equal the uninterrupted run's:"; summary "$work/whole.log" | tail -n 2 | sed 's/^/  | /'
else
  echo "FAIL: the resumed run ended differently from the uninterrupted run:"; sed 's/^/  | /' "$work/diff"; ok=0
fi
[ "$ok" -eq 1 ] && echo "PASS: the killed job ended in $elapsed s with an error; the checkpoint resumed and finished as the uninterrupted run" && exit 0
exit 1
