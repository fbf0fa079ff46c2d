#!/usr/bin/env bash
# Hot reload in Docker Compose with the models on a mounted volume, checked end to end:
#
#   scripts/compose_reload_check.sh        (or: make compose-reload-check)
#
#  1. a temporary host folder holding only model version 2 is the model volume
#     (docker-compose.volume.yml: bind-mounted read-only at /models, MODEL_POLL_S=1);
#  2. builds the api image, `up -d --wait api`; checks the read-only root fs and read-only mount;
#     GET /models and a prediction: version 2;
#  3. drops version 3 into the volume (copied under a hidden name, then renamed to 3);
#  4. waits until the running container's GET /models shows default_version 3, then checks it is
#     the same container (id, start time, restart count 0) and that predictions come from 3;
#  5. prints the evidence: /models before and after, the switch time, sentiment_model_info and
#     sentiment_model_reloads_total, the api's model log lines;
#  6. always `docker compose down -v` and removes the temporary folder (trap).
#
# Env: API_PORT, API_GRPC_PORT (free ports if unset), RELOAD_PROJECT (compose project), RELOAD_TIMEOUT (s, 300).
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=${RELOAD_PROJECT:-imdb-sentiment-reload}
TIMEOUT=${RELOAD_TIMEOUT:-300}
export COMPOSE_BAKE=${COMPOSE_BAKE:-false}
# Its own image tag: other checkouts on the machine may build imdb-sentiment:cpu meanwhile.
export API_IMAGE=${API_IMAGE:-imdb-sentiment:reload-check}
export MODEL_POLL_S=${MODEL_POLL_S:-1}
export API_PORT=${API_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')}
# The V2 gRPC port is published too (docker-compose.yml): a free one, so a busy 8001 cannot fail it.
export API_GRPC_PORT=${API_GRPC_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')}
API=http://127.0.0.1:$API_PORT
SRC=model_artifacts/imdb_lstm

log() { printf '[compose-reload %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAIL: $*"; exit 1; }
compose() { docker compose -p "$PROJECT" -f docker-compose.yml -f docker-compose.volume.yml "$@"; }
get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"; }
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
predict() {
  python3 - "$API" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/predict", method="POST",
    data=json.dumps({"text": "A wonderful, moving film. I loved every minute."}).encode(),
    headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=30).read().decode())
PY
}

command -v docker >/dev/null || die "docker not found (on this machine: ../shared/docker/engine-up.sh)"
docker compose version >/dev/null 2>&1 || die "docker compose v2 plugin not found"

MODEL_VOLUME=$(mktemp -d /tmp/model-volume.XXXXXX)
export MODEL_VOLUME
cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ]; then
    log "check failed (exit $rc); logs follow"
    compose logs --no-color --tail 60 api || true
  fi
  compose down -v --remove-orphans --timeout 30 >/dev/null 2>&1 || true
  rm -rf "$MODEL_VOLUME"
  exit "$rc"
}
trap cleanup EXIT

# --- 1. the volume: version 2 only ----------------------------------------------------------------
cp -r "$SRC/2" "$MODEL_VOLUME/2"
chmod -R a+rX "$MODEL_VOLUME"  # the api runs as uid 10001
log "model volume $MODEL_VOLUME holds: $(ls "$MODEL_VOLUME")"

# --- 2. build, start, check -----------------------------------------------------------------------
log "docker compose build api (image $API_IMAGE)"
compose build api >/dev/null
log "docker compose up -d --wait api (MODEL_POLL_S=$MODEL_POLL_S, port $API_PORT)"
compose up -d --wait --wait-timeout "$TIMEOUT" api
cid=$(compose ps -q api)
started=$(docker inspect "$cid" --format '{{.State.StartedAt}}')
[ "$(docker inspect "$cid" --format '{{.HostConfig.ReadonlyRootfs}}')" = true ] || die "root fs is not read-only"
mount=$(docker inspect "$cid" --format '{{range .Mounts}}{{if eq .Destination "/models"}}{{.Source}} rw={{.RW}}{{end}}{{end}}')
[ "${mount##* }" = rw=false ] || die "/models is not a read-only mount: $mount"
log "container ${cid:0:12} started $started; read-only root fs; /models <- $mount"
before=$(get "$API/models")
log "GET /models before: $before"
[ "$(field default_version <<<"$before")" = 2 ] || die "default is not version 2"
log "POST /predict: $(predict)"

# --- 3. drop version 3 into the volume -----------------------------------------------------------
cp -r "$SRC/3" "$MODEL_VOLUME/.3.staging"
chmod -R a+rX "$MODEL_VOLUME/.3.staging"
mv "$MODEL_VOLUME/.3.staging" "$MODEL_VOLUME/3"
t0=$(date +%s.%N)
log "version 3 renamed into the volume; waiting for the running container to switch"

# --- 4. wait for the switch, same container ------------------------------------------------------
deadline=$(( $(date +%s) + TIMEOUT ))
until [ "$(get "$API/models" | field default_version)" = 3 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "default did not switch to 3 in ${TIMEOUT}s"
  sleep 0.2
done
switch_s=$(python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$t0")
log "default_version is 3 after ${switch_s}s (poll interval ${MODEL_POLL_S}s + check, load, warm-up)"
sleep 2  # the old version drains and is unloaded
after=$(get "$API/models")
log "GET /models after: $after"
[ "$(compose ps -q api)" = "$cid" ] || die "the api container was replaced"
[ "$(docker inspect "$cid" --format '{{.State.StartedAt}}')" = "$started" ] || die "the api container restarted"
restarts=$(docker inspect "$cid" --format '{{.RestartCount}}')
[ "$restarts" = 0 ] || die "restart count $restarts"
log "same container ${cid:0:12}, started $started, restart count $restarts"
answer=$(predict)
log "POST /predict: $answer"
[ "$(field model_version <<<"$answer")" = 3 ] || die "prediction not from version 3"

# --- 5. evidence -----------------------------------------------------------------------------------
get "$API/metrics" | grep -E '^sentiment_model_(info|reloads_total)' | sed 's/^/[compose-reload] metrics: /'
compose logs --no-color api 2>/dev/null | grep -E 'app.model_(registry|server)|service ready' | sed 's/^/[compose-reload] log: /'
log "OK: the running container switched to version 3 from the mounted volume without a restart"
