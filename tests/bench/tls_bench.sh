#!/usr/bin/env bash
# TLS against plaintext, in one run (issue 16, acceptance 6): the local
# three-node cluster as deploy/local configures it, once with every listener
# in plaintext and once with TLS on every listener (the gRPC client listener
# with client certificates required, the CONTROLLER listener between the
# nodes with theirs, the KAFKA listener with SSL), the modes alternating
# run by run so that a drift of the machine weighs on both:
#
#   - strata producer-perf-test over gRPC: RECORDS records of 1 KiB, acks=all,
#     into a 3-partition RF 3 topic (replication crosses the CONTROLLER
#     listener: TLS there too);
#   - strata consumer-perf-test over gRPC reading them (twice);
#   - kcat -P over the KAFKA listener: RECORDS/4 lines of 1 KiB, acks=all,
#     and kcat -C reading them back, timed.
#
#   tests/bench/tls_bench.sh [BUILD_DIR] [RUNS] [RECORDS]   (build, 3, 400000)
#
# Prints every run's figures, then per figure the median of each mode and
# TLS / plaintext. No authorizer, no SASL: what TLS costs, nothing else.
# Uses the deploy/local ports (9092-9094, 19092-19094, 29092-29094): run it
# with no local cluster up. Stops only the nodes it started (cluster.sh, by
# PID). A benchmark: it prints figures and asserts none, but a run whose
# tools fail ends it with their error.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
runs=${2:-3}
records=${3:-400000}
kcat_records=$((records / 4))
out=$(mktemp -d /tmp/strata-tls-bench.XXXXXX)
echo "results in $out"
cli="$build/tools/strata"

# Certificates, and the TLS mode's properties: deploy/local's plus TLS.
"$top/deploy/secure/make-certs.sh" "$out/certs" >/dev/null
mkdir -p "$out/tls-config"
for n in 1 2 3; do
  cp "$top/deploy/local/node$n.properties" "$out/tls-config/node$n.properties"
  cat >>"$out/tls-config/node$n.properties" <<EOF

# tls_bench.sh: TLS on every listener.
listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:SSL,KAFKA:SSL
ssl.keystore.type=PEM
ssl.keystore.location=$out/certs/node$n.pem
ssl.truststore.type=PEM
ssl.truststore.location=$out/certs/ca.pem
ssl.principal.mapping.rules=RULE:^CN=([^,]+)(,.*)?\$/\$1/,DEFAULT
listener.name.plaintext.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
listener.name.kafka.ssl.client.auth=none
strata.controller.allowed.principals=User:node1;User:node2;User:node3
EOF
done
cat >"$out/tls-client.properties" <<EOF
security.protocol=SSL
ssl.truststore.location=$out/certs/ca.pem
ssl.keystore.location=$out/certs/admin.pem
EOF
: >"$out/plain-client.properties"

# kcat's input: 1 KiB lines (1023 characters and the newline).
/usr/bin/python3 - "$out/lines.txt" "$kcat_records" <<'PY'
import random, string, sys
rnd = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write("".join(rnd.choices(string.ascii_letters, k=1023)) + "\n")
PY

cluster() {  # mode action data
  local config=deploy/local command_config=""
  if [ "$1" = tls ]; then
    config="$out/tls-config"
    command_config="$out/tls-client.properties"
  fi
  BUILD_DIR=$build STRATA_CONFIG=$config STRATA_DATA=$3 STRATA_COMMAND_CONFIG=$command_config \
    "$top/deploy/local/cluster.sh" "$2" >/dev/null
}

now() { date +%s.%N; }

one_run() {  # mode run
  local mode=$1 run=$2 data="$out/data-$1-$2" props="$out/$1-client.properties"
  local kcat_security=()
  [ "$mode" = tls ] && kcat_security=(-X security.protocol=ssl -X "ssl.ca.location=$out/certs/ca.pem")
  trap 'cluster "$mode" stop "$data" || true' RETURN
  cluster "$mode" start "$data"
  "$cli" topics --bootstrap-server localhost:9092 --command-config "$props" --create --topic perf \
    --partitions 3 --replication-factor 3 >/dev/null
  "$cli" topics --bootstrap-server localhost:9092 --command-config "$props" --create --topic kcat \
    --partitions 3 --replication-factor 3 >/dev/null
  "$cli" producer-perf-test --topic perf --num-records "$records" --record-size 1024 \
    --throughput -1 --producer.config "$props" \
    --producer-props bootstrap.servers=localhost:9092 acks=all batch.size=262144 linger.ms=5 \
    >"$out/produce-$mode-$run.txt" 2>&1
  tail -1 "$out/produce-$mode-$run.txt" | sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' |
    awk -v m="$mode" '{print m, "grpc_produce_MB_s", $1}' >>"$out/figures.txt"
  for pass in 1 2; do
    "$cli" consumer-perf-test --bootstrap-server localhost:9092 --consumer.config "$props" \
      --topic perf --messages "$records" >"$out/consume-$mode-$run-$pass.txt" 2>&1
    # The CSV line after the header; MB.sec is column 4.
    tail -1 "$out/consume-$mode-$run-$pass.txt" |
      awk -F', *' -v m="$mode" '{print m, "grpc_consume_MB_s", $4}' >>"$out/figures.txt"
  done
  local t0 t1
  t0=$(now)
  kcat -P -b localhost:29092 "${kcat_security[@]}" -t kcat -X acks=all -X linger.ms=5 \
    -X batch.size=262144 -X queue.buffering.max.kbytes=65536 -l "$out/lines.txt"
  t1=$(now)
  echo "$mode kafka_produce_MB_s $(echo "$kcat_records * 1024 / 1048576 / ($t1 - $t0)" | bc -l)" \
    >>"$out/figures.txt"
  t0=$(now)
  local got
  got=$(kcat -C -b localhost:29092 "${kcat_security[@]}" -t kcat -o beginning -e -q -f '%s\n' |
    wc -l)
  t1=$(now)
  if [ "$got" != "$kcat_records" ]; then
    echo "tls_bench: kcat read $got records of $kcat_records ($mode, run $run)" >&2
    exit 1
  fi
  echo "$mode kafka_consume_MB_s $(echo "$kcat_records * 1024 / 1048576 / ($t1 - $t0)" | bc -l)" \
    >>"$out/figures.txt"
  cluster "$mode" stop "$data"
  trap - RETURN
  rm -rf "$data"
}

for run in $(seq 1 "$runs"); do
  if [ $((run % 2)) = 1 ]; then order="plain tls"; else order="tls plain"; fi
  for mode in $order; do one_run "$mode" "$run"; done
  echo "run $run of $runs done"
done

/usr/bin/python3 - "$out/figures.txt" <<'PY'
import collections, statistics, sys
figs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    mode, name, value = line.split()
    figs[name][mode].append(float(value))
print(f"{'figure (MB/s, 2^20 B)':24} {'plaintext':>10} {'TLS':>10} {'TLS/plain':>10}")
for name, by in figs.items():
    p, t = statistics.median(by["plain"]), statistics.median(by["tls"])
    print(f"{name:24} {p:10.1f} {t:10.1f} {t / p:10.2f}")
    print(f"{'':24} runs plaintext: {' '.join(f'{x:.1f}' for x in by['plain'])}; "
          f"TLS: {' '.join(f'{x:.1f}' for x in by['tls'])}")
PY
