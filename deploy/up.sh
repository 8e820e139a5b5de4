#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts a
# local three-node cluster (deploy/local/node{1,2,3}.properties).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./deploy/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target strata-server strata
BUILD_DIR="$top/$BUILD_DIR" ./deploy/local/cluster.sh start
