#!/usr/bin/env bash
# Producer throughput and bytes on disk per compression codec (issue 13,
# acceptance 3): `strata producer-perf-test` with compression.type none,
# gzip, snappy, lz4 and zstd, several runs each, interleaved so that drift
# of the machine hits every codec alike, against one local three-node
# cluster (deploy/local) that this script starts and stops.
#
#   tests/bench/compression_bench.sh [RUNS] [RECORDS]
#
# Values are realistic compressible text: JSON log events (request ids,
# users, paths, user agents, latencies) written to a payload file that
# producer-perf-test picks from at random (--payload-file). Each run goes to
# a fresh topic (3 partitions, RF 3, acks=all, batch.size 65536, linger.ms 5,
# as tests/bench/compare.sh), whose bytes on disk are summed over the .log
# segments of one replica (node 1 holds a replica of every partition) once
# the run is acknowledged; the topic is then deleted.
#
# Prints every run's figures, then per codec the median records/s and MB/s
# (of uncompressed values, as Kafka's tool counts them), the spread of the
# records/s (max - min, as % of the median) and the median bytes on disk,
# with each beside `none`.
#
# The producer and the three brokers run on this one machine and share its
# cores, so the figures compare codecs with each other on this machine; they
# are not a broker's throughput on hardware of its own.
#
# Environment: BUILD_DIR (default ./build) for strata-server and the CLI,
# STRATA_CLI to use another `strata` binary. Uses the deploy/local ports
# (9092-9094, 19092-19094) and refuses to start if anything listens there;
# the cluster's data lives in its own directory under /tmp, removed after a
# successful run and kept (with the node logs) after a failure, and only the
# nodes this script started are stopped (cluster.sh, by PID file).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
records=${2:-300000}
export BUILD_DIR=${BUILD_DIR:-$top/build}
cli=${STRATA_CLI:-$BUILD_DIR/tools/strata}
codecs=(none gzip snappy lz4 zstd)

for port in 9092 9093 9094 19092 19093 19094; do
  if [[ -n $(ss -ltnH "sport = :$port") ]]; then
    echo "compression_bench: port $port is in use; stop whatever listens there first" >&2
    exit 1
  fi
done
# No `cmd | grep -q` under pipefail: grep exits at the first match, and the
# writer's broken pipe would decide the check instead of the match.
help=$("$cli" producer-perf-test --help 2>&1 || true)
grep -q -- --payload-file <<<"$help" || {
  echo "compression_bench: $cli has no --payload-file (register it in tools/main.cc)" >&2
  exit 1
}

out=$(mktemp -d /tmp/strata-compression-bench.XXXXXX)
export STRATA_DATA=$out/data
echo "results in $out"
echo "note: the producer and the three brokers share this machine's $(nproc) cores"
cluster() { "$top/deploy/local/cluster.sh" "$1" >>"$out/cluster.txt" 2>&1; }
# The data directory (segments and node logs) goes only after a run that
# succeeded; after a failure it stays for a post-mortem.
finish() {
  local rc=$?
  cluster stop || true
  if [[ $rc -eq 0 ]]; then
    rm -rf "$STRATA_DATA"
  else
    echo "compression_bench failed; data and node logs kept in $STRATA_DATA," \
      "cluster output in $out/cluster.txt" >&2
  fi
}
trap finish EXIT

# 20,000 distinct JSON log events, about 400 bytes each, from a fixed seed.
/usr/bin/python3 - "$out/payloads.txt" <<'PY'
import json, random, sys
rng = random.Random(13)
agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
          "curl/8.4.0", "python-requests/2.31.0"]
paths = ["/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/users/{id}/cart", "/search", "/products/{id}",
         "/checkout", "/login", "/static/app.js", "/healthz"]
regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1"]
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        path = rng.choice(paths).replace("{id}", str(rng.randrange(1, 100000)))
        status = rng.choices([200, 201, 204, 301, 404, 500], [70, 8, 5, 5, 10, 2])[0]
        event = {
            "ts": f"2024-05-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
                  f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
            "level": "ERROR" if status >= 500 else ("WARN" if status >= 400 else "INFO"),
            "service": "storefront", "region": rng.choice(regions),
            "request_id": "%032x" % rng.getrandbits(128),
            "user_id": f"user-{rng.randrange(1, 50000)}",
            "method": rng.choice(["GET", "GET", "GET", "POST", "PUT"]), "path": path,
            "status": status, "latency_ms": round(rng.lognormvariate(3, 0.8), 2),
            "bytes": rng.randrange(200, 60000), "user_agent": rng.choice(agents),
        }
        f.write(json.dumps(event) + "\n")
PY
echo "payloads: $(wc -l <"$out/payloads.txt") lines, $(wc -c <"$out/payloads.txt") bytes"

cluster start
for run in $(seq 1 "$runs"); do
  for codec in "${codecs[@]}"; do
    topic="bench-$codec-$run"
    "$cli" topics --bootstrap-server localhost:9092 --create --topic "$topic" --partitions 3 \
      --replication-factor 3 >/dev/null
    log="$out/produce-$codec-$run.txt"
    "$cli" producer-perf-test --topic "$topic" --num-records "$records" --throughput -1 \
      --payload-file "$out/payloads.txt" --producer-props bootstrap.servers=localhost:9092 \
      acks=all batch.size=65536 linger.ms=5 compression.type="$codec" >"$log" 2>&1 ||
      { echo "producer-perf-test failed for $codec:" >&2; cat "$log" >&2; exit 1; }
    # The summary is the last "N records sent, X records/sec (Y MB/sec), ..."
    # line (the 5-second reports before it read the same way).
    summary=$(grep 'records sent' "$log" | tail -1 || true)
    rec_s=$(sed -E 's/.* ([0-9.]+) records\/sec.*/\1/' <<<"$summary")
    mb_s=$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$summary")
    number='^[0-9]+([.][0-9]+)?$'
    if [[ ! $rec_s =~ $number || ! $mb_s =~ $number ]]; then
      echo "compression_bench: no summary line in $log for $codec (got '$summary'):" >&2
      cat "$log" >&2
      exit 1
    fi
    bytes=$(find "$STRATA_DATA/node1/logs" -path "*/$topic-*/*.log" -printf '%s\n' |
            awk '{s += $1} END {print s + 0}')
    echo "$codec $rec_s $mb_s $bytes" >>"$out/figures.txt"
    printf 'run %d %-6s %12.0f records/s %8.2f MB/s %12d bytes on disk\n' \
      "$run" "$codec" "$rec_s" "$mb_s" "$bytes"
    "$cli" topics --bootstrap-server localhost:9092 --delete --topic "$topic" >/dev/null
  done
done
cluster stop

/usr/bin/python3 - "$out/figures.txt" "$records" <<'PY'
import collections, statistics, sys
figs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    codec, rec_s, mb_s, size = line.split()
    figs[codec]["rec_s"].append(float(rec_s))
    figs[codec]["mb_s"].append(float(mb_s))
    figs[codec]["bytes"].append(int(size))
med = {c: {k: statistics.median(v) for k, v in f.items()} for c, f in figs.items()}
base = med["none"]
runs = len(figs["none"]["rec_s"])
print(f"\n{sys.argv[2]} records per run, medians of {runs} runs (one replica's bytes on disk;"
      " producer and brokers on the same machine, sharing its cores):")
print(f"{'codec':8} {'records/s':>12} {'vs none':>8} {'spread':>7} {'MB/s':>8} "
      f"{'bytes on disk':>14} {'vs none':>8}")
for c in ["none", "gzip", "snappy", "lz4", "zstd"]:
    m, r = med[c], figs[c]["rec_s"]
    spread = (max(r) - min(r)) / m["rec_s"] * 100
    print(f"{c:8} {m['rec_s']:12.0f} {m['rec_s'] / base['rec_s']:7.2f}x {spread:6.1f}% "
          f"{m['mb_s']:8.2f} {m['bytes']:14.0f} {m['bytes'] / base['bytes']:7.3f}x")
PY
