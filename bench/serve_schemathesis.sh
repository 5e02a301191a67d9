#!/usr/bin/env bash
# schemathesis (from PyPI, in /tmp/fovea-peers/serve) against a loopback `fovea serve` and its own
# /openapi.json: every check, bounded in time (MAX_TIME seconds, default 300). By hand, never in CI.
# REALISTIC=1 (default) fixes the model and version path parameters to the served ones
# (bench/schemathesis.toml); REALISTIC=0 lets schemathesis make up names (mostly 404s).
#   bench/serve_schemathesis.sh [MODEL.safetensors]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
OUT=${OUT:-/tmp/fovea-serve-bench}
VENV=${VENV:-/tmp/fovea-peers/serve}
PORT=${PORT:-18082}
mkdir -p "$OUT"
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q schemathesis; }
(cd "$here/.." && swift build -c release --product fovea 2>&1 | tail -1)
fovea="$here/../.build/release/fovea"
models="$OUT/schemathesis-models"
rm -rf "$models"; mkdir -p "$models/seed/1"
if [ -n "${1:-}" ]; then cp "$1" "$models/seed/1/model.safetensors"; else "$fovea" convert seed-cnn "$models/seed/1/model.safetensors" > /dev/null; fi
"$fovea" serve --models "$models" --port "$PORT" --no-access-log 2> "$OUT/schemathesis-server.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/v2/health/ready" > /dev/null; do sleep 0.1; done
set +e
config=()
exclude=()
if [ "${REALISTIC:-1}" = 1 ]; then
  config=(--config-file "$here/schemathesis.toml")
  # With real names, schemathesis also sends requests the document allows but the model cannot
  # take (a tensor of another shape, a PNG with no digit in it): their 400s are right, and no
  # OpenAPI schema can say which shapes a given model takes.
  exclude=(--exclude-checks positive_data_acceptance)
fi
"$VENV/bin/schemathesis" "${config[@]}" run "http://127.0.0.1:$PORT/openapi.json" --checks all "${exclude[@]}" --max-time "${MAX_TIME:-300}" \
  --workers 2 --report junit --report-dir "$OUT/schemathesis-report" "${@:2}"
status=$?
set -e
echo "schemathesis exit status: $status (report in $OUT/schemathesis-report)"
exit $status
