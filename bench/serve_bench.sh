#!/usr/bin/env bash
# Load tests of `fovea serve` and the Python peer, on loopback, each bounded in time (run by hand,
# never in CI). Needs wrk (apt-get install wrk) and, for the peer, a virtual environment outside
# the repository (made here on first use: /tmp/fovea-peers/serve, from PyPI).
#
#   bench/serve_bench.sh [MODEL.safetensors]      # default: the seed CNN trained for one epoch
#
# Phases (DURATION seconds each, default 60; COMPARE seconds for the comparisons, default 30):
#   1. JSON, binary and image routes, 64 connections, one request in five malformed: requests/s,
#      p50/p99, 5xx, socket errors, every valid answer identical to the same request asked alone,
#      server RSS sampled every second (growth after the warm-up).
#   2. Dynamic batching on vs off (--max-batch-size 1), JSON route, valid requests only: the seed
#      CNN, then the deep CNN (untrained weights: only its cost matters here), with the mean batch
#      size read from /metrics.
#   3. The peer (uvicorn + FastAPI + onnxruntime, 2 workers) and Fovea alternately, JSON route,
#      valid requests only, ROUNDS rounds (default 3): requests/s and p99 ratios.
#   4. A new version dropped in while serving, a broken one, SIGTERM during load with 32 large
#      requests in flight (each must still be answered 200).
# Results: $OUT (default /tmp/fovea-serve-bench)/results.jsonl and the printed summary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$here/.."
export PATH="/opt/swift/usr/bin:$PATH"
OUT=${OUT:-/tmp/fovea-serve-bench}
DURATION=${DURATION:-60}
COMPARE=${COMPARE:-30}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18080}
PEER_PORT=${PEER_PORT:-18081}
VENV=${VENV:-/tmp/fovea-peers/serve}
PHASES=${PHASES:-1234}   # which phases to run
mkdir -p "$OUT"
results="$OUT/results.jsonl"
: > "$results"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }

(cd "$repo" && swift build -c release --product fovea 2>&1 | tail -1)
fovea="$repo/.build/release/fovea"

model=${1:-$OUT/seed-cnn.safetensors}
if [ ! -f "$model" ]; then
  echo "training the seed CNN for one epoch -> $model"
  (cd "$OUT" && "$fovea" train --epochs 1 --output "$model" | tail -2)
fi
models="$OUT/models"
rm -rf "$models"; mkdir -p "$models/seed/1"
cp "$model" "$models/seed/1/model.safetensors"

server_pid=""
start_server() {  # extra arguments go to fovea serve
  "$fovea" serve --models "$models" --port "$PORT" --log-level "${LOG_LEVEL:-info}" "$@" 2>>"$OUT/server.log" >>"$OUT/server.out" &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server did not become ready"; exit 1
}
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap 'kill -TERM $server_pid 2>/dev/null || true; [ -n "${peer_pid:-}" ] && kill -TERM $peer_pid 2>/dev/null || true' EXIT

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# run_load NAME URL REQUESTS_LUA SECONDS [PID to sample]
run_load() {
  local name=$1 url=$2 lua=$3 seconds=$4 pid=${5:-}
  local samples="$OUT/$name.rss"
  : > "$samples"
  if [ -n "$pid" ]; then
    ( for _ in $(seq 1 "$seconds"); do echo "$(date +%s.%N) $(rss_kib "$pid")" >> "$samples"; sleep 1; done ) &
    local sampler=$!
  fi
  REQUESTS_LUA="$lua" wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s --latency -s "$here/serve_load.lua" "$url" > "$OUT/$name.wrk" 2>&1
  [ -n "$pid" ] && wait "$sampler" 2>/dev/null || true
  local result
  result=$(grep '^RESULT ' "$OUT/$name.wrk" | sed 's/^RESULT //')
  [ -n "$result" ] || { echo "wrk gave no result for $name:"; cat "$OUT/$name.wrk"; exit 1; }
  python3 - "$name" "$samples" "$result" >> "$results" <<'PY'
import json, sys
name, samples, result = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rss = [int(line.split()[1]) for line in open(samples) if line.split()[1] != "0"]
result["name"] = name
if rss:
    warm = rss[min(10, len(rss) - 1)]  # after the first 10 s
    result["rss_mib_after_warmup"] = round(warm / 1024, 1)
    result["rss_mib_max"] = round(max(rss[min(10, len(rss) - 1):]) / 1024, 1)
    result["rss_mib_end"] = round(rss[-1] / 1024, 1)
    result["rss_growth_pct"] = round(100 * (max(rss[min(10, len(rss) - 1):]) - warm) / warm, 2)
print(json.dumps(result))
PY
  tail -1 "$results"
}

base="http://127.0.0.1:$PORT"
# mean_batch NAME: appends the mean batch size since the server started, from /metrics.
mean_batch() {
  curl -s "$base/metrics" | python3 -c "
import re, sys, json
text = sys.stdin.read()
s = sum(float(v) for v in re.findall(r'^fovea_batch_size_sum\{[^}]*\} (\S+)', text, re.M))
c = sum(float(v) for v in re.findall(r'^fovea_batch_size_count\{[^}]*\} (\S+)', text, re.M))
print(json.dumps({'name': '$1', 'mean_batch_size': round(s / c, 2) if c else None, 'batches': int(c)}))" >> "$results"
  tail -1 "$results"
}
if [[ $PHASES == *1* ]]; then
echo "== 1. routes under load (${DURATION}s each, $CONNECTIONS connections, one request in five malformed)"
start_server
for route in json binary image; do
  python3 "$here/serve_requests.py" "$route" "$base" seed "$OUT/$route.lua"
  REQUESTS_LUA="$OUT/$route.lua" wrk -t2 -c"$CONNECTIONS" -d5s -s "$here/serve_load.lua" "$base" > /dev/null 2>&1  # warm-up
  run_load "$route" "$base" "$OUT/$route.lua" "$DURATION" "$server_pid"
done
stop_server
fi

start_server
SERVE_MALFORMED=0 python3 "$here/serve_requests.py" json "$base" seed "$OUT/json-valid.lua"
stop_server

if [[ $PHASES == *2* ]]; then
echo "== 2. dynamic batching on vs off (${COMPARE}s each, valid JSON requests)"
for mode in on off; do
  if [ $mode = on ]; then start_server --no-access-log; else start_server --no-access-log --max-batch-size 1; fi
  REQUESTS_LUA="$OUT/json-valid.lua" wrk -t2 -c"$CONNECTIONS" -d5s -s "$here/serve_load.lua" "$base" > /dev/null 2>&1
  run_load "batching-$mode" "$base" "$OUT/json-valid.lua" "$COMPARE" "$server_pid"
  mean_batch "batching-$mode-batches"
  stop_server
done
saved_models=$models
models="$OUT/deep-models"; rm -rf "$models"; mkdir -p "$models/seed/1"
"$fovea" convert deep-cnn "$models/seed/1/model.safetensors" > /dev/null
for mode in on off; do
  if [ $mode = on ]; then start_server --no-access-log; else start_server --no-access-log --max-batch-size 1; fi
  [ $mode = on ] && SERVE_MALFORMED=0 python3 "$here/serve_requests.py" json "$base" seed "$OUT/deep-valid.lua"
  REQUESTS_LUA="$OUT/deep-valid.lua" wrk -t2 -c"$CONNECTIONS" -d5s -s "$here/serve_load.lua" "$base" > /dev/null 2>&1
  run_load "deep-batching-$mode" "$base" "$OUT/deep-valid.lua" "$COMPARE" "$server_pid"
  mean_batch "deep-batching-$mode-batches"
  stop_server
done
models=$saved_models
fi

if [[ $PHASES == *3* ]]; then
echo "== 3. the Python peer (uvicorn + FastAPI + onnxruntime, 2 workers) and Fovea, alternately"
if [ ! -x "$VENV/bin/uvicorn" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q fastapi uvicorn onnxruntime onnx numpy safetensors
fi
"$VENV/bin/python" "$here/serve_peer.py" export "$model" "$OUT/seed.onnx"
peer="http://127.0.0.1:$PEER_PORT"
for round in $(seq 1 "$ROUNDS"); do
  PEER_ONNX="$OUT/seed.onnx" "$VENV/bin/uvicorn" --app-dir "$here" serve_peer:app --host 127.0.0.1 --port "$PEER_PORT" --workers 2 \
    --log-level warning --no-access-log > "$OUT/peer.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "$peer/docs" && break; sleep 0.1; done
  SERVE_MALFORMED=0 "$VENV/bin/python" "$here/serve_requests.py" json "$peer" seed "$OUT/peer.lua"
  REQUESTS_LUA="$OUT/peer.lua" wrk -t2 -c"$CONNECTIONS" -d5s -s "$here/serve_load.lua" "$peer" > /dev/null 2>&1
  run_load "peer-round$round" "$peer" "$OUT/peer.lua" "$COMPARE" "$peer_pid"
  kill -TERM "$peer_pid"; wait "$peer_pid" 2>/dev/null || true; peer_pid=""
  start_server
  REQUESTS_LUA="$OUT/json-valid.lua" wrk -t2 -c"$CONNECTIONS" -d5s -s "$here/serve_load.lua" "$base" > /dev/null 2>&1
  run_load "fovea-round$round" "$base" "$OUT/json-valid.lua" "$COMPARE" "$server_pid"
  stop_server
done
fi

if [[ $PHASES == *4* ]]; then
echo "== 4. versions and shutdown"
start_server --poll-interval 0.5 --queue-size 4096
t0=$(date +%s.%N)
mkdir -p "$models/seed/2.tmp" && cp "$model" "$models/seed/2.tmp/model.safetensors" && mv "$models/seed/2.tmp" "$models/seed/2"
until curl -sf "$base/v2/models/seed/versions/2/ready" >/dev/null; do sleep 0.05; done
t1=$(date +%s.%N)
new_version_s=$(python3 -c "print(round($t1 - $t0, 2))")
mkdir -p "$models/seed/3" && head -c 5000 "$model" > "$models/seed/3/model.safetensors"
sleep 2
broken_status=$(curl -s "$base/v1/models/seed/versions/3")
default_version=$(curl -s -X POST "$base/v2/models/seed/infer" --data-binary @<(python3 -c "
import json; print(json.dumps({'inputs':[{'name':'input_layer','shape':[1,28,28,1],'datatype':'FP32','data':[0]*784}]}))") | python3 -c "import json,sys; print(json.load(sys.stdin)['model_version'])")
# SIGTERM under load: wrk's connections on the seed CNN, and 32 requests of 64 samples each on
# the deep CNN, connected and queued (about a second of work) when the signal comes.
cp "$OUT/deep-models/seed/1/model.safetensors" "$models/deep.safetensors" 2>/dev/null || "$fovea" convert deep-cnn "$models/deep.safetensors" > /dev/null
until curl -sf "$base/v2/models/deep/ready" >/dev/null; do sleep 0.05; done
python3 -c "
import json
row = [i % 256 / 255 for i in range(784)]
print(json.dumps({'inputs': [{'name': 'input_layer', 'shape': [64, 28, 28, 1], 'datatype': 'FP32', 'data': row * 64}]}))" > "$OUT/big.json"
REQUESTS_LUA="$OUT/json-valid.lua" wrk -t2 -c"$CONNECTIONS" -d8s --timeout 10s -s "$here/serve_load.lua" "$base" > "$OUT/sigterm.wrk" 2>&1 &
wrk_pid=$!
sleep 2
rm -f "$OUT"/inflight.*
for i in $(seq 1 32); do
  curl -s -o /dev/null -w "%{http_code}" -X POST --data-binary @"$OUT/big.json" "$base/v2/models/deep/infer" > "$OUT/inflight.$i" &
done
sleep 0.5
kill -TERM "$server_pid"
set +e; wait "$server_pid"; exit_code=$?; set -e
wait "$wrk_pid" || true
sleep 1
answered=$(cat "$OUT"/inflight.* | grep -o 200 | wc -l)
python3 - "$new_version_s" "$broken_status" "$default_version" "$exit_code" "$answered" >> "$results" <<'PY'
import json, sys
print(json.dumps({"name": "versions-and-shutdown", "new_version_ready_s": float(sys.argv[1]), "broken_version_status": json.loads(sys.argv[2]),
                  "default_version_while_3_broken": sys.argv[3], "sigterm_exit_code": int(sys.argv[4]),
                  "inflight_answered_200_of_32": int(sys.argv[5])}))
PY
tail -1 "$results"
server_pid=""
fi

python3 "$here/serve_summary.py" "$results"
