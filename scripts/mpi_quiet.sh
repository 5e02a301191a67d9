#!/usr/bin/env bash
# Runs one command in a quiet window (the project's protocol for timings): waits until /work/QUIET is
# gone, creates it, SIGSTOPs the compilers, runs the command for at most WINDOW seconds (default 540),
# and always SIGCONTs the compilers and removes /work/QUIET afterwards (also on error or interrupt).
#   bash scripts/mpi_quiet.sh bash scripts/netns_mpi.sh
set -uo pipefail
window=${WINDOW:-540}
compilers=(swift-frontend swift-build swift-test swiftc clang ld.gold clang-17 ld)
quiet=0
resume() {
  if [ "$quiet" = 1 ]; then
    for c in "${compilers[@]}"; do pkill -CONT -x "$c"; done
    rm -f /work/QUIET
    echo "# quiet window ended $(date -u +%H:%M:%S); compilers resumed"
  fi
}
trap resume EXIT
trap 'exit 130' INT TERM
while [ -e /work/QUIET ]; do sleep 10; done
echo "mpi_quiet until $(date -u -d "+$window seconds" +%H:%M)" >/work/QUIET
quiet=1
for c in "${compilers[@]}"; do pkill -STOP -x "$c"; done
sleep 2
echo "# quiet window from $(date -u +%H:%M:%S) (compilers stopped); load: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout --signal=TERM --kill-after=10 "$window" "$@"
