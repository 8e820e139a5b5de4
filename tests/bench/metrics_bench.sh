#!/usr/bin/env bash
# What recording metrics costs (issue 17, acceptance 4): the local
# three-node cluster as deploy/local configures it, once with metrics
# recorded (the default) and once with strata.metrics.enabled=false, the
# modes alternating run by run so that a drift of the machine weighs on
# both. In both modes every node's /metrics is scraped every SCRAPE_S
# seconds (default 15, a common Prometheus interval; the scrape itself reads
# the node's state either way), so the difference is what the hot paths'
# recording costs:
#
#   - strata producer-perf-test over gRPC: RECORDS records of 100 B, acks=1,
#     into a 1-partition RF 1 topic (the most requests per byte: where a
#     per-request cost shows first);
#   - the same with 1 KiB records;
#   - strata consumer-perf-test over gRPC reading the 100-byte records;
#   - kcat -P over the KAFKA listener: RECORDS/4 lines of 100 B, acks=1.
#
#   [SCRAPE_S=15] tests/bench/metrics_bench.sh [BUILD_DIR] [RUNS] [RECORDS]   (build, 5, 2000000)
#
# Prints every run's figures, then per figure the median of each mode, the
# runs' spread (max/min - 1 within a mode) and on/off. Uses the deploy/local
# ports: run it with no local cluster up. Stops only the nodes it started
# (cluster.sh, by PID). A benchmark: it prints figures and asserts none.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
runs=${2:-5}
records=${3:-2000000}
scrape_s=${SCRAPE_S:-15}
kcat_records=$((records / 4))
out=$(mktemp -d /tmp/strata-metrics-bench.XXXXXX)
echo "results in $out"
cli="$build/tools/strata"

mkdir -p "$out/off-config"
for n in 1 2 3; do
  cp "$top/deploy/local/node$n.properties" "$out/off-config/node$n.properties"
  printf '\n# metrics_bench.sh: no recording.\nstrata.metrics.enabled=false\n' \
    >>"$out/off-config/node$n.properties"
done

/usr/bin/python3 - "$out/lines.txt" "$kcat_records" <<'PY'
import random, string, sys
rnd = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write("".join(rnd.choices(string.ascii_letters, k=99)) + "\n")
PY

cluster() {  # mode action data
  local config=deploy/local
  [ "$1" = off ] && config="$out/off-config"
  BUILD_DIR=$build STRATA_CONFIG=$config STRATA_DATA=$3 "$top/deploy/local/cluster.sh" "$2" \
    >/dev/null
}

now() { date +%s.%N; }

produce() {  # mode run topic size
  "$cli" producer-perf-test --topic "$3" --num-records "$records" --record-size "$4" \
    --throughput -1 --producer-props bootstrap.servers=localhost:9092 acks=1 \
    >"$out/produce-$3-$1-$2.txt" 2>&1
  tail -1 "$out/produce-$3-$1-$2.txt" | sed -E 's/^[0-9]+ records sent, ([0-9.]+) records\/sec.*/\1/' |
    awk -v m="$1" -v t="$3" '{print m, "produce_" t "_records_s", $1}' >>"$out/figures.txt"
}

one_run() {  # mode run
  local mode=$1 run=$2 data="$out/data-$1-$2" scraper=""
  trap 'cluster "$mode" stop "$data" || true; [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true' RETURN
  cluster "$mode" start "$data"
  # One-second sleeps, so that nothing it started outlives its kill by more.
  (while true; do
     for p in 9644 9645 9646; do curl -s -o /dev/null "http://localhost:$p/metrics" || true; done
     for _ in $(seq "$scrape_s"); do sleep 1; done
   done) &
  scraper=$!
  for t in small big; do
    "$cli" topics --bootstrap-server localhost:9092 --create --topic "$t" --partitions 1 \
      --replication-factor 1 >/dev/null
  done
  "$cli" topics --bootstrap-server localhost:9092 --create --topic kcat --partitions 1 \
    --replication-factor 1 >/dev/null
  produce "$mode" "$run" small 100
  produce "$mode" "$run" big 1024
  "$cli" consumer-perf-test --bootstrap-server localhost:9092 --topic small \
    --messages "$records" >"$out/consume-$mode-$run.txt" 2>&1
  # The CSV line after the header; nMsg.sec is column 6.
  tail -1 "$out/consume-$mode-$run.txt" |
    awk -F', *' -v m="$mode" '{print m, "consume_small_records_s", $6}' >>"$out/figures.txt"
  local t0 t1
  t0=$(now)
  kcat -P -b localhost:29092 -t kcat -X acks=1 -X linger.ms=5 -l "$out/lines.txt"
  t1=$(now)
  echo "$mode kafka_produce_records_s $(echo "$kcat_records / ($t1 - $t0)" | bc -l)" \
    >>"$out/figures.txt"
  cluster "$mode" stop "$data"
  if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; fi
  scraper=""
  trap - RETURN
  rm -rf "$data"
}

for run in $(seq 1 "$runs"); do
  if [ $((run % 2)) = 1 ]; then order="on off"; else order="off on"; fi
  for mode in $order; do one_run "$mode" "$run"; done
  echo "run $run of $runs done"
done

/usr/bin/python3 - "$out/figures.txt" <<'PY'
import collections, statistics, sys
figs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    mode, name, value = line.split()
    figs[name][mode].append(float(value))
print(f"{'figure (records/s)':26} {'metrics on':>12} {'off':>12} {'on/off':>8} {'spread on':>10} {'spread off':>10}")
for name, by in figs.items():
    on, off = statistics.median(by["on"]), statistics.median(by["off"])
    spread = lambda xs: max(xs) / min(xs) - 1
    print(f"{name:26} {on:12.0f} {off:12.0f} {on / off:8.3f} {spread(by['on']):10.1%} "
          f"{spread(by['off']):10.1%}")
    print(f"{'':26} runs on: {' '.join(f'{x:.0f}' for x in by['on'])}; "
          f"off: {' '.join(f'{x:.0f}' for x in by['off'])}")
PY
