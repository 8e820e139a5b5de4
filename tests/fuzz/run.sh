#!/usr/bin/env bash
# Builds the fuzz targets with clang, libFuzzer, ASan and UBSan in their own
# build directory, seeds them with valid batches of every codec, runs each
# for N seconds (default 60), and exits non-zero on any finding.
#
#   tests/fuzz/run.sh [seconds-per-target]
#   FUZZ_BUILD_DIR=/tmp/bf tests/fuzz/run.sh 600
#   FUZZ_TARGETS="kafka_request_fuzzer kafka_stream_fuzzer" FUZZ_PARALLEL=1 tests/fuzz/run.sh 600
#
# The corpus grows in $FUZZ_BUILD_DIR/corpus/<target> across runs; crash,
# leak and timeout inputs land in $FUZZ_BUILD_DIR/artifacts, and each run's
# log in $FUZZ_BUILD_DIR/logs. The build takes the shared build lock
# (/tmp/strata-build.lock), so never run this while holding it.
set -euo pipefail

SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
read -r -a TARGETS <<<"${FUZZ_TARGETS:-validator_fuzzer decode_records_fuzzer kafka_request_fuzzer kafka_stream_fuzzer producer_state_fuzzer}"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (deploy/install-deps.sh)" >&2; exit 2; }
done

# -fsanitize=fuzzer-no-link instruments the libraries under test for
# coverage; only the fuzz targets link libFuzzer's main.
if ! flock -w 1800 /tmp/strata-build.lock bash -c '
    set -e
    mkdir -p "$2"
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSTRATA_FUZZ=ON \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $3" -DCMAKE_C_FLAGS="$3" \
      -DCMAKE_EXE_LINKER_FLAGS="$3" >"$2/configure.log" 2>&1 ||
      { cat "$2/configure.log" >&2; exit 1; }
    cmake --build "$2" -j2 --target validator_fuzzer decode_records_fuzzer fuzz_seeds \
      kafka_request_fuzzer kafka_stream_fuzzer kafka_fuzz_seeds producer_state_fuzzer
  ' _ "$ROOT" "$BUILD" "$SAN"; then
  echo "fuzz: build failed" >&2
  exit 1
fi

mkdir -p "$BUILD/seeds" "$BUILD/seeds-kafka" "$BUILD/seeds-producer-state" "$BUILD/artifacts" \
  "$BUILD/logs"
rm -f "$BUILD"/seeds/* "$BUILD"/seeds-kafka/*
"$BUILD/tests/fuzz/fuzz_seeds" "$BUILD/seeds"
"$BUILD/tests/fuzz/kafka_fuzz_seeds" "$BUILD/seeds-kafka"

# The record-batch targets share one corpus of batches; the Kafka targets
# get request frames (the stream fuzzer reads them as a stream).
seeds_for() {
  case $1 in
    kafka_*) echo "$BUILD/seeds-kafka" ;;
    producer_state_fuzzer) echo "$BUILD/seeds-producer-state" ;;
    *) echo "$BUILD/seeds" ;;
  esac
}

# One target: run it, then report. Sets no globals; prints a summary line
# and returns non-zero on any finding.
fuzz_one() {
  local t=$1 log="$BUILD/logs/$1.log" rc=0
  mkdir -p "$BUILD/corpus/$t"
  local before after last execs
  before=$(ls "$BUILD/artifacts" | grep -c "^$t-" || true)
  # -rss_limit_mb: a decompression bomb that got past the limit shows up
  # as an out-of-memory finding. -timeout: a hang is a finding too.
  if ! "$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
      "$BUILD/corpus/$t" "$(seeds_for "$t")" >"$log" 2>&1; then
    echo "fuzz: $t FOUND A PROBLEM; see $log and $BUILD/artifacts" >&2
    grep -aE "ERROR|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
    rc=1
  fi
  after=$(ls "$BUILD/artifacts" | grep -c "^$t-" || true)
  if [ "$after" -ne "$before" ]; then
    echo "fuzz: $t left new artifacts in $BUILD/artifacts" >&2
    rc=1
  fi
  # The last status line (execs, coverage, corpus), then the totals.
  # (-a: the log holds binary dictionary entries; -o: status lines may
  # follow other output on the same line.)
  last=$(grep -aoE "#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|RELOAD|pulse|INITED).*" "$log" |
    tail -1 | tr -s " " || true)
  execs=$(grep -aE "stat::number_of_executed_units" "$log" | awk '{print $2}' || true)
  echo "fuzz: $t ${SECS}s: ${last:-no status line} | executed ${execs:-?} | new artifacts $((after - before))"
  return $rc
}

# FUZZ_PARALLEL=1 runs the targets side by side (one core each).
status=0
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
  pids=()
  for t in "${TARGETS[@]}"; do fuzz_one "$t" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
else
  for t in "${TARGETS[@]}"; do fuzz_one "$t" || status=1; done
fi
exit $status
