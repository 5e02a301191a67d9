#!/usr/bin/env bash
# Fovea side by side with Keras 3 (TensorFlow CPU), PyTorch and onnxruntime on this machine, in one run.
#
#   bench/compare.sh                 # 3 alternating rounds, 2 threads
#   ROUNDS=5 THREADS=2 bench/compare.sh
#   RECIPE=1 bench/compare.sh        # also the 5-epoch MNIST recipe: fit time, accuracy, peak memory
#
# Each round runs every framework once, in an order that alternates between rounds, so that a machine
# that drifts (±30% here) drifts for everyone. The summary prints the median of the rounds for each
# figure and the ratio of Fovea to the fastest peer; only these ratios mean anything across machines.
# The Python frameworks are installed on first use into virtual environments outside the repository
# (PEERS_VENV, default /tmp/fovea-peers, shared with ../shared/bench/peers.sh). Never run it in CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
venvs=${PEERS_VENV:-/tmp/fovea-peers}
out=${OUT:-$venvs/compare-$(date +%Y%m%d-%H%M%S).jsonl}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads TF_CPP_MIN_LOG_LEVEL=3

venv() {  # venv NAME IMPORTS PACKAGE... : prints the python of a virtual environment holding the packages
  local v=$venvs/$1 imports=$2; shift 2
  if [ ! -x "$v/bin/python" ] || ! "$v/bin/python" -c "import $imports" 2>/dev/null; then
    echo "installing $* into $v (first run only; minutes)" >&2
    python3 -m venv "$v" >&2 && "$v/bin/pip" install -q "$@" >&2
  fi
  echo "$v/bin/python"
}
mkdir -p "$venvs"
keras_py=$(venv keras "tensorflow, keras" tensorflow-cpu)
torch_py=$(venv torch "torch, onnx, onnxruntime, numpy" torch numpy onnx onnxruntime)

(cd "$repo" && swift build -c release --product fovea >&2)
fovea="$repo/.build/release/fovea"

record() {  # record SOURCE ROUND JSON-LINES... : tags each JSON object and appends it to $out
  local source=$1 round=$2
  python3 -c '
import json, sys
source, rnd = sys.argv[1], int(sys.argv[2])
text = sys.stdin.read()
try:
    objs = [json.loads(text)]
except json.JSONDecodeError:
    objs = [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")]
for o in (x if isinstance(x, list) else [x] for x in objs):
    for item in o:
        item["source"] = source; item["round"] = rnd
        print(json.dumps(item))' "$source" "$round" >> "$out"
}

# measure SOURCE ROUND COMMAND... : runs the command to completion, then records its output. Piping it
# straight into `record` started a Python interpreter beside the measurement, and on 2 cores that
# start-up took a core from whatever was being timed (Fovea's 0.13-second SGEMM read 92-99 GFLOP/s
# piped against 116-147 captured first, in alternation).
measure() {
  local source=$1 round=$2 text
  shift 2
  text=$("$@")
  printf '%s\n' "$text" | record "$source" "$round"
}
# Both SGEMMs: the median of the same number of products (about 0.4 s of them here, so that one burst
# of the host does not decide the figure; with 5 against NumPy's 10 the two were not even alike).
gemm_reps=30
run_fovea() {
  measure fovea "$1" "$fovea" bench --model seed-cnn --threads "$threads" --json
  measure fovea "$1" "$fovea" bench --model deep-cnn --threads "$threads" --repetitions 3 --json
  measure fovea-gemm "$1" "$fovea" bench --gemm 1024 --threads "$threads" --repetitions "$gemm_reps" --json
}
run_peers() {
  measure keras "$1" "$keras_py" "$here/peer_cnn.py" keras "$threads" 2>/dev/null
  measure torch "$1" "$torch_py" "$here/peer_cnn.py" torch "$threads"
  measure onnxruntime "$1" "$torch_py" -W ignore "$here/peer_cnn.py" onnxruntime "$threads"
  measure numpy-gemm "$1" "$torch_py" "$here/numpy_gemm.py" 1024 "$gemm_reps"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $threads threads; $rounds rounds" >&2
measure ceiling 0 "$fovea" devices --measure --threads "$threads" --json
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  if (( r % 2 )); then run_fovea "$r"; run_peers "$r"; else run_peers "$r"; run_fovea "$r"; fi
done

if [ "${RECIPE:-0}" = 1 ]; then
  # The default recipe (seed CNN, 5 epochs, RMSprop, batch 64, real MNIST): fit time, test accuracy, peak RSS.
  mnist="$repo/Sources/Fovea/Resources/mnist"
  tmp=$(mktemp -d)
  /usr/bin/time -f '%M' -o "$tmp/fovea.rss" "$fovea" train --threads "$threads" --verbose 2 --output "$tmp/seed-cnn.safetensors" > "$tmp/fovea.log"
  /usr/bin/time -f '%M' -o "$tmp/keras.rss" "$keras_py" "$here/keras_recipe.py" "$mnist" "$threads" > "$tmp/keras.log" 2>/dev/null
  python3 - "$tmp" <<'PY' >> "$out"
import json, re, sys
d = sys.argv[1]
f = open(f"{d}/fovea.log").read(); k = open(f"{d}/keras.log").read()
fa, ft = re.search(r"test accuracy: ([0-9.]+) \(fit took ([0-9.]+) s\)", f).groups()
ka, kt = re.search(r"test_acc=([0-9.]+) fit_seconds=([0-9.]+)", k).groups()
for src, acc, t, rss in [("fovea", fa, ft, open(f"{d}/fovea.rss").read()), ("keras", ka, kt, open(f"{d}/keras.rss").read())]:
    print(json.dumps({"source": src + "-recipe", "round": 0, "test_accuracy": float(acc), "fit_seconds": float(t),
                      "peak_rss_mb": int(rss.split()[-1]) / 1024}))
PY
  rm -rf "$tmp"
fi
echo "raw results: $out" >&2
python3 "$here/summarize.py" "$out"
