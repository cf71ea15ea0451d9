#!/usr/bin/env bash
# The local stack of real servers, run as plain processes bound to 127.0.0.1:
#   RabbitMQ (Debian package), FerretDB v1 on SQLite, MinIO single node (both built by build-tools.sh).
# Usage: stack.sh up|down|status|start NAME|stop NAME
# Starting twice is harmless; every start waits until the server answers or fails saying why.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${ONESTOP_DATA:-$ROOT/.local}"
BIN="${ONESTOP_CACHE:-$HOME/.cache/onestop}/bin"
RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
# A second node on the same machine (a test's private stack) needs its own node name and
# distribution port; the defaults are the shared stack's.
RABBITMQ_NODE="${RABBITMQ_NODENAME:-onestop@localhost}"
RABBITMQ_DIST="${RABBITMQ_DIST_PORT:-$((RABBITMQ_PORT + 20000))}"
FERRETDB_PORT="${FERRETDB_PORT:-27017}"
MINIO_PORT="${MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${MINIO_CONSOLE_PORT:-9001}"
MINIO_ROOT_USER="${MINIO_ROOT_USER:-onestop}"
MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-onestop-local-secret}"
# The test suite's own vhosts, so tests never compete with `make run`: the shared e2e platform's,
# and one each for the platforms that run beside it (their workers must not consume its events).
# ONESTOP_TEST_VHOST (tests/stack.py) names another set, for a second checkout testing at the same time.
TEST_VHOST="${ONESTOP_TEST_VHOST:-onestop-test}"
TEST_VHOSTS="onestop-test onestop-test-documents onestop-test-forms onestop-test-relay"
[ "$TEST_VHOST" = onestop-test ] || TEST_VHOSTS="$TEST_VHOSTS $TEST_VHOST $TEST_VHOST-documents $TEST_VHOST-forms $TEST_VHOST-relay"
RABBIT_SBIN=/usr/lib/rabbitmq/bin

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" && return 0; sleep 0.2; done
  echo "ERROR: $name did not answer within ${secs}s; see its log in $DATA/logs/$name.log" >&2
  tail -n 20 "$DATA/logs/$name.log" >&2 2>/dev/null || true
  return 1
}

rabbit_env() {
  mkdir -p "$DATA/rabbitmq" "$DATA/logs"
  export HOME="$DATA/rabbitmq"   # keeps the Erlang cookie in the data folder
  export RABBITMQ_NODENAME="$RABBITMQ_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RABBITMQ_PORT" RABBITMQ_DIST_PORT="$RABBITMQ_DIST"
  export RABBITMQ_MNESIA_BASE="$DATA/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$DATA/rabbitmq/log"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DATA/rabbitmq/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$DATA/rabbitmq/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$DATA/rabbitmq/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$DATA/rabbitmq/advanced.config"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  [ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  : > "$RABBITMQ_CONF_ENV_FILE"
  [ -f "$RABBITMQ_CONFIG_FILE.conf" ] || printf 'loopback_users = none\nlog.console = false\n' > "$RABBITMQ_CONFIG_FILE.conf"
}

start_rabbitmq() {
  [ -x "$RABBIT_SBIN/rabbitmq-server" ] || { echo "ERROR: RabbitMQ is not installed: run 'make deps' (apt-get install rabbitmq-server)" >&2; return 1; }
  if port_open "$RABBITMQ_PORT"; then
    echo "rabbitmq  already up on 127.0.0.1:$RABBITMQ_PORT"
  else
    ( rabbit_env; nohup "$RABBIT_SBIN/rabbitmq-server" > "$DATA/logs/rabbitmq.log" 2>&1 & )
    wait_for rabbitmq 90 port_open "$RABBITMQ_PORT"
  fi
  # Always (idempotent): the tests' vhost. Fails clearly when port 5672 is another broker, e.g.
  # the system service Debian's package may have started.
  ( rabbit_env
    "$RABBIT_SBIN/rabbitmqctl" -q await_startup --timeout 60 >/dev/null \
      || { echo "ERROR: the broker on 127.0.0.1:$RABBITMQ_PORT is not this project's node $RABBITMQ_NODENAME; stop it (e.g. 'service rabbitmq-server stop') and retry" >&2; exit 1; }
    for vhost in $TEST_VHOSTS; do
      "$RABBIT_SBIN/rabbitmqctl" -q add_vhost "$vhost" >/dev/null 2>&1 || true
      "$RABBIT_SBIN/rabbitmqctl" -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
    done )
  echo "rabbitmq  up on amqp://127.0.0.1:$RABBITMQ_PORT (vhosts / and $TEST_VHOSTS)"
}

stop_rabbitmq() {
  port_open "$RABBITMQ_PORT" || { echo "rabbitmq  not running"; return 0; }
  ( rabbit_env; "$RABBIT_SBIN/rabbitmqctl" -q stop >/dev/null 2>&1 || true )
  for _ in $(seq 1 150); do port_open "$RABBITMQ_PORT" || break; sleep 0.2; done
  if port_open "$RABBITMQ_PORT"; then
    echo "ERROR: a broker still listens on 127.0.0.1:$RABBITMQ_PORT (not this project's node?)" >&2; return 1
  fi
  echo "rabbitmq  stopped"
}

start_ferretdb() {
  if port_open "$FERRETDB_PORT"; then echo "ferretdb  already up on 127.0.0.1:$FERRETDB_PORT"; return; fi
  [ -x "$BIN/ferretdb" ] || { echo "ERROR: $BIN/ferretdb is missing: run 'make tools'" >&2; return 1; }
  mkdir -p "$DATA/ferretdb" "$DATA/logs"
  nohup "$BIN/ferretdb" --handler=sqlite --sqlite-url="file:$DATA/ferretdb/" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" --debug-addr=- --telemetry=disable --log-level=warn \
    --state-dir="$DATA/ferretdb" \
    > "$DATA/logs/ferretdb.log" 2>&1 &
  echo $! > "$DATA/ferretdb.pid"
  wait_for ferretdb 30 port_open "$FERRETDB_PORT"
  echo "ferretdb  up on mongodb://127.0.0.1:$FERRETDB_PORT"
}

minio_live() { curl -fsS -o /dev/null "http://127.0.0.1:$MINIO_PORT/minio/health/live" 2>/dev/null; }

start_minio() {
  if minio_live 2>/dev/null; then echo "minio     already up on http://127.0.0.1:$MINIO_PORT"; return; fi
  [ -x "$BIN/minio" ] || { echo "ERROR: $BIN/minio is missing: run 'make tools'" >&2; return 1; }
  mkdir -p "$DATA/minio" "$DATA/logs"
  MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
  MINIO_BROWSER=off MINIO_UPDATE=off \
    nohup "$BIN/minio" server "$DATA/minio" --address "127.0.0.1:$MINIO_PORT" \
    --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --quiet > "$DATA/logs/minio.log" 2>&1 &
  echo $! > "$DATA/minio.pid"
  wait_for minio 60 minio_live
  echo "minio     up on http://127.0.0.1:$MINIO_PORT (user $MINIO_ROOT_USER)"
}

ours() {  # ours PIDFILE NAME: the pid in PIDFILE is alive and is NAME (not a reused pid)
  [ -f "$1" ] && grep -qa "$2" "/proc/$(cat "$1")/cmdline" 2>/dev/null
}

stop_pidfile() {  # stop_pidfile NAME
  local pidfile="$DATA/$1.pid"
  if ours "$pidfile" "$1" && kill "$(cat "$pidfile")" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.2; done
    echo "$1 stopped"
  else
    echo "$1 not running (no live pid in $pidfile)"
  fi
  rm -f "$pidfile"
}

status() {
  port_open "$RABBITMQ_PORT" && echo "rabbitmq  up   amqp://127.0.0.1:$RABBITMQ_PORT" || echo "rabbitmq  down"
  port_open "$FERRETDB_PORT" && echo "ferretdb  up   mongodb://127.0.0.1:$FERRETDB_PORT" || echo "ferretdb  down"
  minio_live 2>/dev/null && echo "minio     up   http://127.0.0.1:$MINIO_PORT" || echo "minio     down"
}

case "${1:-}" in
  up) start_rabbitmq; start_ferretdb; start_minio ;;
  down) stop_rabbitmq; stop_pidfile ferretdb; stop_pidfile minio ;;
  status) status ;;
  start) "start_$2" ;;
  stop) if [ "$2" = rabbitmq ]; then stop_rabbitmq; else stop_pidfile "$2"; fi ;;
  *) echo "usage: $0 up|down|status|start NAME|stop NAME" >&2; exit 2 ;;
esac
