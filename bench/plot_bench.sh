#!/usr/bin/env bash
# Time `fovea plot` on long CSV logs (issue 19: ~0.2 ms per row before; a million-row log took minutes).
# Usage: bench/plot_bench.sh [rows...]   (default: 10000 100000 1000000). Needs a release build of fovea.
set -euo pipefail
cd "$(dirname "$0")/.."
fovea=".build/release/fovea"
[ -x "$fovea" ] || { echo "build it first: swift build -c release --product fovea"; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
for rows in "${@:-10000 100000 1000000}"; do
  for n in $rows; do
    python3 -c "
import math
with open('$dir/log.csv', 'w') as f:
    f.write('epoch,accuracy,loss,val_accuracy,val_loss\n')
    for e in range($n):
        f.write(f'{e},{1 - 0.5 / (e + 1):.6f},{1 / (e + 1) + 0.01 * math.sin(e):.6f},{1 - 0.6 / (e + 1):.6f},{1.1 / (e + 1):.6f}\n')
"
    for out in svg png; do
      start=$(date +%s.%N)
      "$fovea" plot "$dir/log.csv" --out "$dir/c.$out" > /dev/null
      end=$(date +%s.%N)
      python3 -c "t = $end - $start; print(f'$n rows -> .$out: {t:.2f} s ({t / $n * 1e6:.2f} us per row), file {__import__(\"os\").path.getsize(\"$dir/c.$out\")} bytes')"
    done
  done
done
