#!/usr/bin/env bash
# Before/after throughput of two builds, interleaved so that drift of the
# machine hits both alike: replication_bench, then producer-perf-test and
# consumer-perf-test against a fresh local three-node cluster of each build.
#
#   tests/bench/compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [RUNS] [RECORDS]
#
# Prints every run's figures, then per figure the median of each build, the
# spread (max - min, as % of the median) and the change. Uses the
# deploy/local ports (9092-9094, 19092-19094): run it on a quiet machine with
# no local cluster up. Stops only the nodes it started (cluster.sh, by PID).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
runs=${3:-5}
records=${4:-1000000}
out=$(mktemp -d /tmp/strata-compare.XXXXXX)
echo "results in $out"

cluster() {  # build action data
  BUILD_DIR=$1 STRATA_DATA=$3 "$top/deploy/local/cluster.sh" "$2" >/dev/null
}

one_run() {  # label build run
  local label=$1 build=$2 run=$3 data="$out/data-$1-$3"
  "$build/tests/bench/replication_bench" >"$out/repl-$label-$run.txt" 2>&1
  awk -v l="$label" '/RF 1, acks=1/ {print l, "repl_rf1_" $1, $5} /RF 3, acks=all/ {print l, "repl_rf3_" $1, $5}' \
    "$out/repl-$label-$run.txt" >>"$out/figures.txt"
  trap 'cluster "$build" stop "$data" || true' RETURN
  cluster "$build" start "$data"
  "$build/tools/strata" topics --bootstrap-server localhost:9092 --create --topic perf \
    --partitions 3 --replication-factor 3 >/dev/null
  "$build/tools/strata" producer-perf-test --topic perf --num-records "$records" --record-size 100 \
    --throughput -1 --producer-props bootstrap.servers=localhost:9092 acks=all batch.size=65536 \
    linger.ms=5 >"$out/produce-$label-$run.txt" 2>&1
  tail -1 "$out/produce-$label-$run.txt" | sed -E 's/.* ([0-9.]+) records\/sec.*/\1/' |
    awk -v l="$label" '{print l, "produce_acks_all_rec_s", $1}' >>"$out/figures.txt"
  # A read of the whole topic takes well under a second: three per run.
  for pass in 1 2 3; do
    "$build/tools/strata" consumer-perf-test --bootstrap-server localhost:9092 --topic perf \
      --messages "$records" >"$out/consume-$label-$run-$pass.txt" 2>&1
    # The CSV line after the header; nMsg.sec is column 6.
    tail -1 "$out/consume-$label-$run-$pass.txt" |
      awk -F', *' -v l="$label" '{print l, "consume_rec_s", $6}' >>"$out/figures.txt"
  done
  cluster "$build" stop "$data"
  trap - RETURN
  rm -rf "$data"
}

for run in $(seq 1 "$runs"); do
  one_run before "$before" "$run"
  one_run after "$after" "$run"
  echo "run $run of $runs done"
done

/usr/bin/python3 - "$out/figures.txt" <<'PY'
import sys, statistics, collections
figs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    label, name, value = line.split()
    figs[name][label].append(float(value))
print(f"{'figure':28} {'before median':>14} {'spread':>8} {'after median':>14} {'spread':>8} {'change':>8}")
for name, by in figs.items():
    b, a = by['before'], by['after']
    mb, ma = statistics.median(b), statistics.median(a)
    sb = (max(b) - min(b)) / mb * 100
    sa = (max(a) - min(a)) / ma * 100
    print(f"{name:28} {mb:14.0f} {sb:7.1f}% {ma:14.0f} {sa:7.1f}% {(ma - mb) / mb * 100:+7.1f}%")
    print(f"{'':28} runs before: {' '.join(f'{x:.0f}' for x in b)}; after: {' '.join(f'{x:.0f}' for x in a)}")
PY
