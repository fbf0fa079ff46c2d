#!/usr/bin/env bash
# Chaos under load on Docker Compose (make chaos): kill -9, a model call that raises, a wedged model
# call, a full queue during a hot swap, a corrupted version dropped into the model volume.
#
#   scripts/chaos.sh            (or: make chaos; on this machine first: ../shared/docker/engine-up.sh)
#
# Brings up api + Prometheus from docker-compose.yml + docker-compose.volume.yml +
# docker-compose.chaos.yml (fault injection on: app/chaos.py) with a temporary model volume
# (version 3; version 4 waiting under a hidden name), then `python -m bench.chaos` runs each case
# against it under load and reports what the clients saw and how long recovery took
# (bench/results/chaos.json). Always `docker compose down -v` and removes the volume (trap).
# Env: CHAOS_PROJECT (compose project), API_PORT, API_GRPC_PORT, PROMETHEUS_PORT (free if unset),
# CHAOS_ARGS (passed to bench.chaos, e.g. "--cases kill,raise").
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=${CHAOS_PROJECT:-imdb-sentiment-chaos}
export COMPOSE_BAKE=${COMPOSE_BAKE:-false}
export API_IMAGE=${API_IMAGE:-imdb-sentiment:chaos}  # its own tag: other checkouts build theirs
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
export API_PORT=${API_PORT:-$(free_port)}
export API_GRPC_PORT=${API_GRPC_PORT:-$(free_port)}
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-$(free_port)}
PYTHON=${PYTHON:-.venv/bin/python}
log() { printf '[chaos %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
compose() {
  docker compose -p "$PROJECT" -f docker-compose.yml -f docker-compose.volume.yml \
    -f docker-compose.chaos.yml "$@"
}

command -v docker >/dev/null || { log "docker not found (here: ../shared/docker/engine-up.sh)"; exit 1; }
MODEL_VOLUME=$(mktemp -d /tmp/chaos-models.XXXXXX)
export MODEL_VOLUME
chmod 755 "$MODEL_VOLUME"
cleanup() {
  local rc=$?
  trap - EXIT
  [ "$rc" -ne 0 ] && compose logs --no-color --tail 40 api || true
  compose down -v --remove-orphans --timeout 30 >/dev/null 2>&1 || true
  rm -rf "$MODEL_VOLUME"
  log "stack down, volume removed (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
cp -r model_artifacts/imdb_lstm/3 "$MODEL_VOLUME/3"
cp -r model_artifacts/imdb_lstm/4 "$MODEL_VOLUME/.4"
chmod -R a+rX "$MODEL_VOLUME"

log "building and starting api + prometheus (project $PROJECT, api :$API_PORT, prometheus :$PROMETHEUS_PORT)"
compose build api
compose up -d --wait --wait-timeout 300 api prometheus
"$PYTHON" -m bench.chaos --project "$PROJECT" --api "http://127.0.0.1:$API_PORT" \
  --prometheus "http://127.0.0.1:$PROMETHEUS_PORT" --volume "$MODEL_VOLUME" \
  --compose-files docker-compose.yml,docker-compose.volume.yml,docker-compose.chaos.yml ${CHAOS_ARGS:-}
