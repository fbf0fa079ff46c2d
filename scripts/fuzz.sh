#!/usr/bin/env bash
# schemathesis with every check against a real server started here (and stopped group-wide):
# all POST routes, positive and negative data. `make fuzz`; FUZZ_EXAMPLES=N for more cases.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)
setsid "$BIN/python" -m app.serve --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
PGID=$!
trap 'kill -KILL -- -"$PGID" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 600); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$PGID" 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.2
done
"$BIN/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
    --checks all --mode all --include-method POST \
    --max-examples "${FUZZ_EXAMPLES:-200}" --seed "${FUZZ_SEED:-9}" \
    --generation-codec utf-8 --request-timeout 30 --workers 1 "$@"
if grep -E "Traceback|ERROR|status=5" "$LOG"; then
    echo "server logged errors during the fuzz run" >&2
    exit 1
fi
