#!/usr/bin/env bash
# The main job on an embedded default: sets up, builds the Release
# configuration and solves the bundled Hotel Reservation example across the
# 4-region network, printing predicted latency, egress cost and the routing
# table. Extra arguments go to slate-solve (see slate-solve --help).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
build=${SLATE_BUILD_DIR:-build-release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target slate-solve >/dev/null
exec "$build/controller/slate-solve" "$@"
