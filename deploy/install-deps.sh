#!/usr/bin/env bash
# Installs the Debian 12 packages Strata needs to build, test and run.
# Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  protobuf-compiler libprotobuf-dev libprotoc-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  librocksdb-dev libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  # tcmalloc_minimal, the executables' allocator (CMakeLists.txt).
  libgoogle-perftools-dev
  clang libclang-rt-14-dev
  # tests/interop: Kafka clients (kafkajs comes from npm, tests/interop/js),
  # librdkafka for tests/bench/kafka_bench, and python3-h2 to speak raw
  # HTTP/2 to the gRPC listener (tests/interop/scenario_limits.py).
  kcat python3-confluent-kafka python3-kafka python3-h2 nodejs librdkafka-dev
  # Metrics; promtool checks /metrics and headless Chromium loads the
  # console in the tests.
  prometheus-cpp-dev prometheus chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# npm by command, not package: Debian's npm conflicts with NodeSource's
# nodejs, which brings its own npm (and dpkg-query does not count a
# provided package).
if ! command -v npm >/dev/null; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
