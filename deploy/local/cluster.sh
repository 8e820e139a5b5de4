#!/usr/bin/env bash
# Starts, stops and checks the local three-node cluster, and the optional
# broker-only node 4.
#
#   deploy/local/cluster.sh start            # build must exist; starts nodes 1-3 in the background
#   deploy/local/cluster.sh start-broker 4   # adds broker-only node 4 (process.roles=broker,
#                                            # deploy/local/node4.properties) to the running
#                                            # cluster: it observes the metadata quorum and
#                                            # registers as broker 4; waits until it is listed
#   deploy/local/cluster.sh stop     # SIGTERM by PID file (broker-only nodes first, while the
#                                    # quorum is up to move their leaderships), then SIGKILL
#                                    # after 20 s
#   deploy/local/cluster.sh status   # nodes 1-3 and any broker-only node started
#
# Logs and PID files live in $STRATA_DATA (default: ./data at the repo top);
# node N's log is $STRATA_DATA/nodeN.log. Only processes this script started
# (by PID file) are ever signalled. $STRATA_CONFIG (default deploy/local)
# holds the nodes' properties files, and $STRATA_COMMAND_CONFIG, if set, is
# the --command-config the readiness checks use: deploy/secure/cluster.sh
# runs this script with its own.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$top/build}
DATA=${STRATA_DATA:-$top/data}
SERVER=$BUILD_DIR/broker/strata-server
CLI=$BUILD_DIR/tools/strata
CONFIG=${STRATA_CONFIG:-deploy/local}
CLIENT_ARGS=()
[ -n "${STRATA_COMMAND_CONFIG:-}" ] && CLIENT_ARGS=(--command-config "$STRATA_COMMAND_CONFIG")
NODES=(1 2 3)
# Broker-only nodes this script knows (deploy/local/nodeN.properties with
# process.roles=broker); node N's clients connect to localhost:909(1+N).
BROKER_NODES=(4)

running() { [ -f "$DATA/node$1.pid" ] && kill -0 "$(cat "$DATA/node$1.pid")" 2>/dev/null; }

launch() {
  local n=$1
  # The server itself goes to the background (so $! is its PID), with no
  # tie to this script's stdin/stdout: callers may pipe this script.
  nohup "$SERVER" "$CONFIG/node$n.properties" \
      --override "log.dirs=$DATA/node$n/logs" --override "metadata.log.dir=$DATA/node$n/metadata" \
      </dev/null >>"$DATA/node$n.log" 2>&1 &
  echo $! >"$DATA/node$n.pid"
  echo "node $n started (pid $(cat "$DATA/node$n.pid"), log $DATA/node$n.log)"
}

start() {
  [ -x "$SERVER" ] || { echo "cluster.sh: $SERVER is missing; build first" >&2; exit 1; }
  mkdir -p "$DATA"
  cd "$top"
  for n in "${NODES[@]}"; do
    if running "$n"; then echo "node $n already running (pid $(cat "$DATA/node$n.pid"))"; continue; fi
    launch "$n"
  done
  wait_ready
}

start_broker() {
  local n=${1:-4}
  case " ${BROKER_NODES[*]} " in
    *" $n "*) ;;
    *) echo "cluster.sh: node $n is not a broker-only node (known: ${BROKER_NODES[*]})" >&2; exit 2 ;;
  esac
  [ -x "$SERVER" ] || { echo "cluster.sh: $SERVER is missing; build first" >&2; exit 1; }
  # It joins a running cluster: the voters must be up for it to fetch the
  # metadata log and register.
  for v in "${NODES[@]}"; do
    running "$v" || { echo "cluster.sh: node $v is not running; run '$0 start' first" >&2; exit 1; }
  done
  mkdir -p "$DATA"
  cd "$top"
  if running "$n"; then
    echo "node $n already running (pid $(cat "$DATA/node$n.pid"))"
  else
    launch "$n"
  fi
  # Ready when the cluster lists it as an unfenced broker.
  for _ in $(seq 1 150); do
    running "$n" || { echo "node $n exited; see $DATA/node$n.log" >&2; exit 1; }
    if [ -x "$CLI" ] && "$CLI" brokers --bootstrap-server localhost:9092 "${CLIENT_ARGS[@]}" --list 2>/dev/null | grep -qx "$n"; then
      echo "broker-only node $n ready: brokers: $("$CLI" brokers --bootstrap-server localhost:9092 "${CLIENT_ARGS[@]}" --list | tr '\n' ' ')"
      echo "try: $CLI metadata-quorum --bootstrap-server localhost:9092 describe --status"
      return 0
    fi
    sleep 0.2
  done
  echo "cluster.sh: node $n did not register in 30 s; see $DATA/node$n.log" >&2
  exit 1
}

wait_ready() {
  # Ready when the quorum has a leader and all three brokers are registered.
  for _ in $(seq 1 150); do
    for n in "${NODES[@]}"; do running "$n" || { echo "node $n exited; see $DATA/node$n.log" >&2; exit 1; }; done
    if [ -x "$CLI" ]; then
      leader=$("$CLI" metadata-quorum --bootstrap-server localhost:9092 "${CLIENT_ARGS[@]}" describe --status 2>/dev/null \
               | awk '/^LeaderId:/ {print $2}')
      brokers=$("$CLI" brokers --bootstrap-server localhost:9092 "${CLIENT_ARGS[@]}" --list 2>/dev/null | wc -l)
      if [ -n "$leader" ] && [ "$leader" != "-1" ] && [ "$brokers" -ge 3 ]; then
        echo "cluster ready: quorum leader $leader, brokers: $("$CLI" brokers --bootstrap-server localhost:9092 "${CLIENT_ARGS[@]}" --list | tr '\n' ' ')"
        echo "try: $CLI topics --bootstrap-server localhost:9092 ${CLIENT_ARGS[*]} --list"
        return 0
      fi
    fi
    sleep 0.2
  done
  echo "cluster.sh: the cluster did not become ready in 30 s; logs are in $DATA" >&2
  exit 1
}

# Stops the given nodes together: SIGTERM to each running one (by its PID
# file), then SIGKILL to any still running after 20 s.
stop_nodes() {
  for n in "$@"; do
    if running "$n"; then kill -TERM "$(cat "$DATA/node$n.pid")"; fi
  done
  for n in "$@"; do
    for _ in $(seq 1 200); do running "$n" || break; sleep 0.1; done
    if running "$n"; then
      echo "node $n did not stop in 20 s; killing it" >&2
      kill -KILL "$(cat "$DATA/node$n.pid")"
    fi
    rm -f "$DATA/node$n.pid"
  done
}

stop() {
  # Broker-only nodes first: their controlled shutdown needs the quorum.
  stop_nodes "${BROKER_NODES[@]}"
  stop_nodes "${NODES[@]}"
  echo "cluster stopped"
}

status() {
  for n in "${NODES[@]}"; do
    if running "$n"; then echo "node $n running (pid $(cat "$DATA/node$n.pid"))"; else echo "node $n stopped"; fi
  done
  for n in "${BROKER_NODES[@]}"; do
    if running "$n"; then
      echo "node $n (broker-only) running (pid $(cat "$DATA/node$n.pid"))"
    else
      echo "node $n (broker-only) stopped"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  start-broker) start_broker "${2:-4}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|start-broker [4]|stop|status" >&2; exit 2 ;;
esac
