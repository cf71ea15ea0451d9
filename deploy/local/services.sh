#!/usr/bin/env bash
# Runs every service that exists as local processes, those the one list of services declares: an
# `api` and a `worker` each, and a `relay` (the outbox relay, onestop_chassis.relay) where there is one.
# Usage: services.sh up|down|status [service ...] (default: every service). Logs:
# .local/logs/<service>-<process>.log (JSON lines).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${ONESTOP_DATA:-$ROOT/.local}"
VENV_BIN="$ROOT/.venv/bin"
# Every service reads the same working calendar (closures, make-up days); set your own to override.
export WORKING_CALENDAR_FILE="${WORKING_CALENDAR_FILE:-$ROOT/deploy/local/working-calendar.yaml}"
# The services and their ports, from the one list (libs/chassis/src/onestop_chassis/services.py).
SERVICES_PY="$ROOT/libs/chassis/src/onestop_chassis/services.py"
read -r -a SERVICES <<< "$(python3 "$SERVICES_PY" names)"
ONLY=""
if [ $# -gt 1 ]; then  # only the services named (tests/e2e/test_new_service.py starts one this way)
  for s in "${@:2}"; do
    [[ " ${SERVICES[*]} " == *" $s "* ]] || { echo "ERROR: no service $s (services: ${SERVICES[*]})" >&2; exit 2; }
  done
  SERVICES=("${@:2}"); ONLY=1
fi
declare -A GRPC=()
while read -r name grpc _; do GRPC[$name]=$grpc; done < <(python3 "$SERVICES_PY" table)
mkdir -p "$DATA/run" "$DATA/logs"

# Delivery's carrier is the CARRIER SANDBOX (onestop-carrier-sandbox, not a carrier), a process of its
# own. Its API token and webhook secret are generated once into $DATA/secrets/ (git-ignored) and the
# same files are read by the sandbox and by delivery (CARRIER_*_FILE); never committed.
CARRIER_SANDBOX_PORT="${CARRIER_SANDBOX_PORT:-8955}"
CARRIER_SANDBOX_SECONDS_PER_STAGE="${CARRIER_SANDBOX_SECONDS_PER_STAGE:-30}"
export CARRIER_BASE_URL="${CARRIER_BASE_URL:-http://127.0.0.1:$CARRIER_SANDBOX_PORT}"
# where the sandbox POSTs tracking events: delivery's webhook endpoint
CARRIER_WEBHOOK_URL="${CARRIER_WEBHOOK_URL:-http://127.0.0.1:8055/carrier/webhook}"
export CARRIER_API_TOKEN_FILE="${CARRIER_API_TOKEN_FILE:-$DATA/secrets/carrier-api-token}"
export CARRIER_WEBHOOK_SECRET_FILE="${CARRIER_WEBHOOK_SECRET_FILE:-$DATA/secrets/carrier-webhook-secret}"

# The pid in the file is alive and is one of ours (a pid reused after a reboot is not).
alive() { [ -f "$1" ] && grep -qa "onestop-" "/proc/$(cat "$1")/cmdline" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {  # start SERVICE PROCESS
  local pidfile="$DATA/run/$1-$2.pid"
  if alive "$pidfile"; then return; fi
  nohup "$VENV_BIN/onestop-$1-$2" >> "$DATA/logs/$1-$2.log" 2>&1 &
  echo $! > "$pidfile"
}

start_carrier_sandbox() {
  local pidfile="$DATA/run/carrier-sandbox.pid"
  mkdir -p "$DATA/secrets" && chmod 700 "$DATA/secrets"
  for f in "$CARRIER_API_TOKEN_FILE" "$CARRIER_WEBHOOK_SECRET_FILE"; do
    [ -s "$f" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$f")
  done
  if alive "$pidfile"; then return; fi
  nohup "$VENV_BIN/onestop-carrier-sandbox" --port "$CARRIER_SANDBOX_PORT" --webhook-url "$CARRIER_WEBHOOK_URL" \
    --secret-file "$CARRIER_WEBHOOK_SECRET_FILE" --token-file "$CARRIER_API_TOKEN_FILE" \
    --seconds-per-stage "$CARRIER_SANDBOX_SECONDS_PER_STAGE" >> "$DATA/logs/carrier-sandbox.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 50); do port_open "$CARRIER_SANDBOX_PORT" && return; sleep 0.2; done
  echo "ERROR: the carrier sandbox did not open port $CARRIER_SANDBOX_PORT; see $DATA/logs/carrier-sandbox.log" >&2
  tail -5 "$DATA/logs/carrier-sandbox.log" >&2; exit 1
}

# The REST gateway (onestop-gateway, JSON over HTTP for partners without gRPC) in front of every service,
# with the whole platform only (not with `up <service>`). It serves its OpenAPI document too.
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
start_gateway() {
  local pidfile="$DATA/run/gateway.pid"
  if alive "$pidfile"; then return; fi
  GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_OPENAPI_FILE="$ROOT/docs/openapi/onestop.swagger.json" \
    nohup "$VENV_BIN/onestop-gateway" >> "$DATA/logs/gateway.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 50); do port_open "$GATEWAY_PORT" && return; sleep 0.2; done
  echo "ERROR: the REST gateway did not open port $GATEWAY_PORT; see $DATA/logs/gateway.log" >&2
  tail -5 "$DATA/logs/gateway.log" >&2; exit 1
}

up() {
  [[ " ${SERVICES[*]} " != *" delivery "* ]] || start_carrier_sandbox
  # every process of each service, the api last (its port tells that the service is up)
  for s in "${SERVICES[@]}"; do
    for p in $(python3 "$SERVICES_PY" processes "$s"); do [ "$p" = api ] || start "$s" "$p"; done
    start "$s" api
  done
  for s in "${SERVICES[@]}"; do
    for _ in $(seq 1 100); do port_open "${GRPC[$s]}" && break; sleep 0.2; done
    port_open "${GRPC[$s]}" || { echo "ERROR: $s api did not open port ${GRPC[$s]}; see $DATA/logs/$s-api.log" >&2; tail -5 "$DATA/logs/$s-api.log" >&2; exit 1; }
    for p in $(python3 "$SERVICES_PY" processes "$s"); do
      alive "$DATA/run/$s-$p.pid" || { echo "ERROR: $s $p exited; see $DATA/logs/$s-$p.log" >&2; tail -5 "$DATA/logs/$s-$p.log" >&2; exit 1; }
    done
  done
  [ -n "$ONLY" ] || start_gateway
}

down() {
  for f in "$DATA"/run/*.pid; do
    [ -e "$f" ] || continue
    svc=$(basename "$f" | sed 's/-[a-z]*\.pid$//'); [ "$svc" != carrier ] || svc=delivery  # delivery's sandbox
    [ "$svc" != gateway.pid ] || svc=gateway  # the REST gateway: stopped with the whole platform only
    [ -z "$ONLY" ] || [[ " ${SERVICES[*]} " == *" $svc "* ]] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$f" || break; sleep 0.2; done
    alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  echo "services stopped"
}

status() {
  for s in "${SERVICES[@]}"; do
    for p in $(python3 "$SERVICES_PY" processes "$s"); do
      alive "$DATA/run/$s-$p.pid" && echo "$s-$p running (pid $(cat "$DATA/run/$s-$p.pid"))" || echo "$s-$p stopped"
    done
  done
  if [[ " ${SERVICES[*]} " == *" delivery "* ]]; then
    alive "$DATA/run/carrier-sandbox.pid" && echo "carrier-sandbox running (pid $(cat "$DATA/run/carrier-sandbox.pid"))" \
      || echo "carrier-sandbox stopped"
  fi
  [ -n "$ONLY" ] || { alive "$DATA/run/gateway.pid" && echo "gateway running (pid $(cat "$DATA/run/gateway.pid"))" \
    || echo "gateway stopped"; }
}

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status [service ...]" >&2; exit 2 ;;
esac
