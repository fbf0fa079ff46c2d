#!/usr/bin/env bash
# End-to-end smoke test of the Docker Compose stack (api + prometheus), as a user would run it:
#
#   scripts/compose_smoke.sh        (or: make compose-smoke)
#
#  1. validates the Prometheus config and alert rules and runs the alert unit tests
#     (monitoring/prometheus/alerts_test.yml) with promtool from the prometheus image;
#  2. builds the api image and prints its size; `docker compose up -d --wait` and prints the time
#     until the api container is healthy (GET /readyz == 200 inside the container);
#  3. checks the hardening: non-root user, read-only root filesystem;
#  4. POST /predict with a clearly positive and a clearly negative review, checks the labels;
#     then the same reviews over V2 REST and V2 gRPC with Triton's clients (scripts/v2_check.py,
#     from .venv: `make venv`), which must equal /predict's answers;
#  5. asks Prometheus' HTTP API that the `api` target is up and that sentiment_predictions_total
#     moved by the predictions just made, and that the alert rules are loaded;
#  6. stops the api with SIGTERM and checks it exited cleanly (exit code 0);
#  7. always `docker compose down -v` (trap), printing the logs first if anything failed.
#
# Env: API_PORT / API_GRPC_PORT / PROMETHEUS_PORT (default 8000 / 8001 / 9090; a free port is
# picked if the default is busy), SMOKE_PROJECT (compose project name), SMOKE_WAIT_TIMEOUT (seconds, default 600).
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=${SMOKE_PROJECT:-imdb-sentiment-smoke}
WAIT_TIMEOUT=${SMOKE_WAIT_TIMEOUT:-600}
API_IMAGE=imdb-sentiment:cpu
# No buildx on some hosts: let compose use the classic builder without a warning.
export COMPOSE_BAKE=${COMPOSE_BAKE:-false}

log() { printf '[compose-smoke %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
compose() { docker compose -p "$PROJECT" "$@"; }

port_busy() { python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is not "busy"
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(0)  # busy
finally:
    s.close()
sys.exit(1)
PY
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
pick_port() {  # $1 = variable name, $2 = default
  local name=$1 default=$2
  if [ -n "${!name:-}" ]; then return; fi
  if port_busy "$default"; then
    printf -v "$name" '%s' "$(free_port)"
    log "port $default is busy; using ${!name} for $name"
  else
    printf -v "$name" '%s' "$default"
  fi
}

command -v docker >/dev/null || die "docker not found (on this machine: ../shared/docker/engine-up.sh)"
docker compose version >/dev/null 2>&1 || die "docker compose v2 plugin not found"

pick_port API_PORT 8000
pick_port API_GRPC_PORT 8001
pick_port PROMETHEUS_PORT 9090
export API_PORT API_GRPC_PORT PROMETHEUS_PORT
API=http://127.0.0.1:$API_PORT
PROM=http://127.0.0.1:$PROMETHEUS_PORT

cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ]; then
    log "smoke test failed (exit $rc); state and logs follow"
    compose ps -a || true
    compose logs --no-color --tail 80 || true
  fi
  log "docker compose down -v"
  compose down -v --remove-orphans --timeout 30 >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT

# --- 1. config validation -------------------------------------------------------------------------
# Not `compose config --images | grep -m1`: with pipefail, grep quitting at the first line can fail
# the pipeline (compose exits 255 writing to the closed pipe; seen 1 in 20 runs, 2 in 2 in CI).
IMAGES=$(compose config --images) || die "docker compose config failed"
PROM_IMAGE=$(grep -m1 '^prom/prometheus' <<<"$IMAGES") || die "no prom/prometheus image in compose config"
log "promtool check config (image $PROM_IMAGE)"
docker run --rm --entrypoint promtool \
  -v "$PWD/monitoring/prometheus:/etc/prometheus:ro" \
  "$PROM_IMAGE" check config /etc/prometheus/prometheus.yml
log "promtool test rules (alert unit tests)"
docker run --rm --entrypoint promtool -w /etc/prometheus \
  -v "$PWD/monitoring/prometheus:/etc/prometheus:ro" \
  "$PROM_IMAGE" test rules alerts_test.yml

# --- 2. build, start, wait ------------------------------------------------------------------------
t0=$(now)
log "docker compose build api"
compose build api
log "build took $(since "$t0")s"
size=$(docker image inspect "$API_IMAGE" --format '{{.Size}}')
log "image $API_IMAGE size: $((size / 1000000)) MB ($size bytes)"

t0=$(now)
log "docker compose up -d --wait (timeout ${WAIT_TIMEOUT}s); api on :$API_PORT, prometheus on :$PROMETHEUS_PORT"
compose up -d --wait --wait-timeout "$WAIT_TIMEOUT"
log "time to ready (containers created -> api healthy): $(since "$t0")s"
compose ps

# --- 3. hardening -----------------------------------------------------------------------------------
cid=$(compose ps -q api)
[ "$(docker inspect "$cid" --format '{{.HostConfig.ReadonlyRootfs}}')" = true ] || die "api rootfs is not read-only"
uid=$(compose exec -T api id -u)
[ "$uid" != 0 ] || die "api runs as root"
if compose exec -T api sh -c 'touch /srv/should-fail' 2>/dev/null; then die "/srv is writable"; fi
log "api runs as uid $uid on a read-only root filesystem (tmpfs /tmp)"

# --- 4. predictions -----------------------------------------------------------------------------------
python3 - "$API" <<'PY'
import json, sys, urllib.request

api = sys.argv[1]
cases = [
    ("positive", "An absolute masterpiece. Brilliant acting, a wonderful, moving story and a "
                 "beautiful score. One of the best films I have ever seen; I loved every minute."),
    ("negative", "Dreadful. The worst movie I have seen in years: a boring, stupid plot, awful "
                 "acting and terrible dialogue. A complete waste of time and money. Avoid it."),
]
for expected, text in cases:
    req = urllib.request.Request(
        api + "/predict", data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.load(resp)
    print(f"[compose-smoke] POST /predict ({expected} review) -> {resp.status} {json.dumps(body)}")
    if body.get("label") != expected:
        sys.exit(f"[compose-smoke] FAIL: expected label {expected!r}, got {body!r}")
    if not {"label", "probability", "model_version"} <= body.keys():
        sys.exit(f"[compose-smoke] FAIL: response lacks fields: {body!r}")
PY
N_PREDICTIONS=2
if [ -x .venv/bin/python ] && .venv/bin/python -c "import tritonclient.grpc, tritonclient.http" 2>/dev/null; then
  log "V2 REST and gRPC (published on :$API_GRPC_PORT) against /predict"
  .venv/bin/python scripts/v2_check.py --http "127.0.0.1:$API_PORT" --grpc "127.0.0.1:$API_GRPC_PORT" \
    || die "V2 answers differ from /predict's"
  N_PREDICTIONS=11  # 2 + 3 reviews x 3 (/predict, V2 REST, V2 gRPC)
else
  log "V2 check skipped: no .venv with tritonclient (make venv)"
fi

# --- 5. prometheus ------------------------------------------------------------------------------------
python3 - "$PROM" "$N_PREDICTIONS" <<'PY'
import json, sys, time, urllib.parse, urllib.request

prom, expected = sys.argv[1], float(sys.argv[2])

def get(path):
    with urllib.request.urlopen(prom + path, timeout=5) as resp:
        return resp.status, resp.read()

def query(q):
    _, body = get("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    return json.loads(body)["data"]["result"]

def eventually(what, check, timeout=90.0):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            ok, last = check()
            if ok:
                print(f"[compose-smoke] {what}: {last}")
                return
        except Exception as exc:  # Prometheus still starting
            last = repr(exc)
        time.sleep(2)
    sys.exit(f"[compose-smoke] FAIL: {what} not reached in {timeout:.0f}s (last: {last})")

eventually("prometheus ready", lambda: (get("/-/ready")[0] == 200, "200"))

def api_target():
    targets = json.loads(get("/api/v1/targets")[1])["data"]["activeTargets"]
    api = [t for t in targets if t["labels"].get("job") == "api"]
    state = [(t["scrapeUrl"], t["health"], t.get("lastError", "")) for t in api]
    return bool(api) and all(t["health"] == "up" for t in api), state

eventually("api target health", api_target)
eventually("up{job=\"api\"}", lambda: (
    (r := query('up{job="api"}')) != [] and float(r[0]["value"][1]) == 1.0, r and r[0]["value"][1]))

def predictions():
    result = query("sentiment_predictions_total")
    by_label = {r["metric"].get("label"): float(r["value"][1]) for r in result}
    return sum(by_label.values()) >= expected, by_label

eventually("sentiment_predictions_total moved", predictions)

def rules():
    _, body = get("/api/v1/rules")
    groups = json.loads(body)["data"]["groups"]
    names = [r["name"] for g in groups for r in g["rules"]]
    return len(names) > 0, f"{len(names)} alert rules loaded"

eventually("alert rules", rules, timeout=30)
n = len(query('{__name__=~"sentiment_.+", job="api"}'))
print(f"[compose-smoke] prometheus holds {n} sentiment_* series from the api target")
PY

# --- 6. graceful stop -----------------------------------------------------------------------------------
t0=$(now)
compose stop --timeout 30 api >/dev/null 2>&1
code=$(docker inspect "$cid" --format '{{.State.ExitCode}}')
log "api stopped by SIGTERM in $(since "$t0")s, exit code $code"
[ "$code" = 0 ] || die "api did not shut down cleanly (exit code $code)"
compose logs --no-color api 2>/dev/null | grep -E "shutdown complete|Finished server process" | tail -2 || true

log "OK: compose stack served predictions and Prometheus scraped them"
