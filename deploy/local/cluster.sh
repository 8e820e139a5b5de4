#!/usr/bin/env bash
# Starts, stops and checks the local three-node cluster.
#
#   deploy/local/cluster.sh start    # build must exist; starts nodes 1-3 in the background
#   deploy/local/cluster.sh stop     # SIGTERM by PID file, then SIGKILL after 20 s
#   deploy/local/cluster.sh status
#
# Logs and PID files live in $STRATA_DATA (default: ./data at the repo top);
# node N's log is $STRATA_DATA/nodeN.log. Only processes this script started
# (by PID file) are ever signalled.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$top/build}
DATA=${STRATA_DATA:-$top/data}
SERVER=$BUILD_DIR/broker/strata-server
CLI=$BUILD_DIR/tools/strata
NODES=(1 2 3)

running() { [ -f "$DATA/node$1.pid" ] && kill -0 "$(cat "$DATA/node$1.pid")" 2>/dev/null; }

start() {
  [ -x "$SERVER" ] || { echo "cluster.sh: $SERVER is missing; build first" >&2; exit 1; }
  mkdir -p "$DATA"
  cd "$top"
  for n in "${NODES[@]}"; do
    if running "$n"; then echo "node $n already running (pid $(cat "$DATA/node$n.pid"))"; continue; fi
    # The server itself goes to the background (so $! is its PID), with no
    # tie to this script's stdin/stdout: callers may pipe this script.
    nohup "$SERVER" "deploy/local/node$n.properties" \
        --override "log.dirs=$DATA/node$n/logs" --override "metadata.log.dir=$DATA/node$n/metadata" \
        </dev/null >>"$DATA/node$n.log" 2>&1 &
    echo $! >"$DATA/node$n.pid"
    echo "node $n started (pid $(cat "$DATA/node$n.pid"), log $DATA/node$n.log)"
  done
  wait_ready
}

wait_ready() {
  # Ready when the quorum has a leader and all three brokers are registered.
  for _ in $(seq 1 150); do
    for n in "${NODES[@]}"; do running "$n" || { echo "node $n exited; see $DATA/node$n.log" >&2; exit 1; }; done
    if [ -x "$CLI" ]; then
      leader=$("$CLI" metadata-quorum --bootstrap-server localhost:9092 describe --status 2>/dev/null \
               | awk '/^LeaderId:/ {print $2}')
      brokers=$("$CLI" brokers --bootstrap-server localhost:9092 --list 2>/dev/null | wc -l)
      if [ -n "$leader" ] && [ "$leader" != "-1" ] && [ "$brokers" -ge 3 ]; then
        echo "cluster ready: quorum leader $leader, brokers: $("$CLI" brokers --bootstrap-server localhost:9092 --list | tr '\n' ' ')"
        echo "try: $CLI topics --bootstrap-server localhost:9092 --list"
        return 0
      fi
    fi
    sleep 0.2
  done
  echo "cluster.sh: the cluster did not become ready in 30 s; logs are in $DATA" >&2
  exit 1
}

stop() {
  for n in "${NODES[@]}"; do
    if running "$n"; then kill -TERM "$(cat "$DATA/node$n.pid")"; fi
  done
  for n in "${NODES[@]}"; do
    for _ in $(seq 1 200); do running "$n" || break; sleep 0.1; done
    if running "$n"; then
      echo "node $n did not stop in 20 s; killing it" >&2
      kill -KILL "$(cat "$DATA/node$n.pid")"
    fi
    rm -f "$DATA/node$n.pid"
  done
  echo "cluster stopped"
}

status() {
  for n in "${NODES[@]}"; do
    if running "$n"; then echo "node $n running (pid $(cat "$DATA/node$n.pid"))"; else echo "node $n stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
